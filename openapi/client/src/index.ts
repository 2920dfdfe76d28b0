/**
 * Typed client for the meAI REST API.
 *
 * The types in `./schema.d.ts` are generated from `openapi/openapi.json` (`npm run generate`);
 * requests go through openapi-fetch, so paths, parameters, bodies and responses are checked by
 * the compiler. Browsers authenticate with the session cookie (`credentials: "include"`, the
 * default here); other clients pass `Authorization: Bearer <token>` in `headers`.
 *
 * ```ts
 * import { createMeaiClient } from "@meai/client";
 * const api = createMeaiClient("http://127.0.0.1:8080");
 * const { data, error } = await api.GET("/conversations");
 * if (data) for (const c of data.conversations) console.log(c.conversation_id, c.title);
 * else console.error(error.detail);
 * ```
 */
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

export type { components, operations, paths };
export type { Client, ClientOptions };

/** The JSON body of a response object of the generated `operations`. */
type BodyOf<R> = R extends { content: infer C } ? C[keyof C] : never;
type Responses<Op extends keyof operations> = operations[Op]["responses"];
/** The body of an operation's 200 response, by `operationId`. */
export type OkBody<Op extends keyof operations> = BodyOf<200 extends keyof Responses<Op> ? Responses<Op>[200] : never>;

// Named after operations, not after the server's schema names, so they stay put when those change.
export type User = OkBody<"getMe">;
export type Conversation = OkBody<"createConversation">;
export type ConversationList = OkBody<"listConversations">;
export type MessageList = OkBody<"getMessages">;
export type Message = MessageList["messages"][number];
export type MessageType = Message["type"];
export type ToolkitList = OkBody<"getToolkits">;
export type ToolkitConnection = OkBody<"getConnectionStatus">;
export type ConnectionStatus = ToolkitConnection["connection_status"];
export type ConnectResult = OkBody<"connectToolkit">;
export type SyncResult = OkBody<"syncConnection">;
export type SearchResults = OkBody<"searchMessages">;
/** One Server-Sent Event of `POST /conversations/{conversation_id}/messages` (its `data`). */
export type StreamEvent = OkBody<"sendMessage">;
/** Every error body: `{"detail": "..."}`. */
export type ApiErrorBody = BodyOf<operations["getMe"]["responses"][401]>;

export type MeaiClient = Client<paths>;

/** A client for the server at `baseUrl` (e.g. `http://127.0.0.1:8080`), sending cookies. */
export function createMeaiClient(baseUrl: string, options: ClientOptions = {}): MeaiClient {
  return createClient<paths>({ credentials: "include", ...options, baseUrl });
}

export default createMeaiClient;
