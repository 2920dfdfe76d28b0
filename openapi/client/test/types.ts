// Compile-time checks of the client (`tsc --noEmit` runs them): the named types resolve to real
// shapes (never to `never`) and calls are typed end to end. Nothing here runs.
import { createMeaiClient } from "../src/index";
import type * as T from "../src/index";

type IsNever<X> = [X] extends [never] ? true : false;
type NotNever<X extends false> = X;
export type Resolved = [
  NotNever<IsNever<T.User>>,
  NotNever<IsNever<T.Conversation>>,
  NotNever<IsNever<T.ConversationList>>,
  NotNever<IsNever<T.Message>>,
  NotNever<IsNever<T.MessageType>>,
  NotNever<IsNever<T.ToolkitList>>,
  NotNever<IsNever<T.ToolkitConnection>>,
  NotNever<IsNever<T.ConnectionStatus>>,
  NotNever<IsNever<T.ConnectResult>>,
  NotNever<IsNever<T.SyncResult>>,
  NotNever<IsNever<T.SearchResults>>,
  NotNever<IsNever<T.StreamEvent>>,
  NotNever<IsNever<T.ApiErrorBody>>,
];

// The wire's nulls are in the types.
export const untitled: T.Conversation["title"] = null;
export const kinds: T.MessageType[] = ["Human", "AI", "System", "Tool"];
export const statuses: T.ConnectionStatus[] = ["pending", "active", "failed", "disconnected"];
// @ts-expect-error not a message type
export const robot: T.MessageType = "Robot";

export async function usage(): Promise<void> {
  const api = createMeaiClient("http://127.0.0.1:8080");
  const list = await api.GET("/conversations", { params: { query: { limit: 10 } } });
  const ids: number[] = (list.data?.conversations ?? []).map((c) => c.conversation_id);
  const detail: string | undefined = list.error?.detail;
  await api.PATCH("/conversations/{conversation_id}", {
    params: { path: { conversation_id: ids[0] } },
    body: { title: "Trip to Lisbon" },
  });
  // @ts-expect-error the path parameter is required
  await api.DELETE("/conversations/{conversation_id}", {});
  // @ts-expect-error not an operation of the API
  await api.GET("/conversations/{conversation_id}");
  void detail;
}
