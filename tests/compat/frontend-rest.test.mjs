// (a) Every REST call of the meAI web frontend (src/api/*.ts), made the way it makes them:
// `fetch(API_BASE_URL + path, {credentials: 'include', ...})` from its own origin, list paths
// without a trailing slash except `/toolkits/`, JSON bodies with `Content-Type:
// application/json`, and `if (!res.ok) throw await res.json()` on errors (so errors are JSON).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CONVERSATION,
  SUPPORTED_TOOLKITS,
  USER,
  createConversation,
  expectConnection,
  expectMessage,
  expectShape,
  frontendFetch,
  json,
  requireFeature,
  signIn,
  uniqueTitle,
} from "./lib/server.mjs";
import { connect, converse, frontendSocket, next } from "./lib/socket.mjs";

/** One exchange over Socket.IO, so the conversation has messages to read and delete. */
async function exchange(conversationId, content) {
  const socket = await frontendSocket();
  try {
    await connect(socket);
    socket.emit("join_conversation", { conversation_id: conversationId });
    await next(socket, "joined");
    await converse(socket, { content, conversation_id: conversationId });
  } finally {
    socket.disconnect();
  }
}

/** An error as the frontend reads it: `throw await res.json()` -> `{detail}`. */
async function expectDetail(res, status, what) {
  const body = await json(res, status, what);
  expectShape(body, { detail: "string" }, `${what} error body`);
  return body;
}

test("auth: getMe() returns the signed-in user", async () => {
  const res = await frontendFetch("/auth/me");
  const user = await json(res, 200, "GET /auth/me");
  expectShape(user, USER, "user");
  assert.equal(user.auth_method, "local");
});

test("auth: getMe() without a session is 401 with {detail}", async () => {
  const res = await frontendFetch("/auth/me", {}, "");
  await expectDetail(res, 401, "GET /auth/me signed out");
});

test("auth: logout() revokes the session and clears the cookie", async () => {
  const cookie = await signIn({ fresh: true });
  const res = await frontendFetch("/auth/logout", { method: "POST" }, cookie);
  const body = await json(res, 200, "POST /auth/logout");
  expectShape(body, { message: "string" }, "logout");
  const cleared = res.headers.getSetCookie().find((c) => c.startsWith(cookie.split("=")[0] + "="));
  assert.ok(cleared, "logout sets the cookie again, to clear it");
  assert.match(cleared, /Max-Age=0|Expires=Thu, 01 Jan 1970/i, `the cookie is expired: ${cleared}`);
  await expectDetail(await frontendFetch("/auth/me", {}, cookie), 401, "GET /auth/me after logout");
});

test("conversations: listConversations(), createConversation(title), deleteConversation(id)", async () => {
  const title = uniqueTitle("Trip to Lisbon");
  const created = await createConversation(title);
  expectShape(created, CONVERSATION, "created conversation");
  assert.equal(created.title, title);

  const me = await json(await frontendFetch("/auth/me"), 200, "GET /auth/me");
  assert.equal(created.user_id, me.user_id);

  const list = await json(await frontendFetch("/conversations"), 200, "GET /conversations");
  expectShape(list, { conversations: "array" }, "conversation list");
  list.conversations.forEach((c, i) => expectShape(c, CONVERSATION, `conversations[${i}]`));
  const found = list.conversations.find((c) => c.conversation_id === created.conversation_id);
  assert.deepEqual(found, created, "the list holds the new conversation as created");

  const del = await frontendFetch(`/conversations/${created.conversation_id}`, { method: "DELETE" });
  expectShape(await json(del, 200, "DELETE /conversations/{id}"), { message: "string" }, "delete");
  const after = await json(await frontendFetch("/conversations"), 200, "GET /conversations");
  assert.ok(!after.conversations.some((c) => c.conversation_id === created.conversation_id), "deleted");

  const again = await frontendFetch(`/conversations/${created.conversation_id}`, { method: "DELETE" });
  await expectDetail(again, 404, "DELETE of a deleted conversation");
});

test("conversations: createConversation(undefined) sends {} and gets an untitled conversation", async () => {
  const created = await createConversation(undefined);
  expectShape(created, CONVERSATION, "untitled conversation");
  assert.equal(created.title, null);
});

test("errors are JSON {detail} even outside the API's routes, so `throw await res.json()` works", async () => {
  await expectDetail(await frontendFetch("/no/such/route"), 404, "GET an unknown path");
  // A method no route of the path has (DELETE /auth/me is the account deletion since issue 15).
  await expectDetail(await frontendFetch("/auth/me", { method: "PUT" }), 405, "PUT /auth/me");
  const malformed = await frontendFetch("/conversations", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{not json",
  });
  await expectDetail(malformed, 400, "POST /conversations with malformed JSON");
});

test("conversations: the original paths with a trailing slash work too", async () => {
  const res = await frontendFetch("/conversations/", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ title: uniqueTitle("Slash") }),
  });
  const created = await json(res, 200, "POST /conversations/");
  const list = await json(await frontendFetch("/conversations/"), 200, "GET /conversations/");
  assert.ok(list.conversations.some((c) => c.conversation_id === created.conversation_id));
});

test("conversations: rename with PATCH {title}; an empty title is 400 with {detail}", async () => {
  const created = await createConversation(uniqueTitle("Draft"));
  const path = `/conversations/${created.conversation_id}`;
  const patch = (title) =>
    frontendFetch(path, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ title }) });
  const renamed = await json(await patch("Renamed"), 200, "PATCH /conversations/{id}");
  expectShape(renamed, CONVERSATION, "renamed conversation");
  assert.equal(renamed.title, "Renamed");
  assert.equal(renamed.conversation_id, created.conversation_id);
  await expectDetail(await patch(""), 400, "PATCH with an empty title");
});

test("messages: getMessages(id) after an exchange, deleteMessage(id, messageId)", async () => {
  const created = await createConversation(uniqueTitle("Messages"));
  const id = created.conversation_id;
  const empty = await json(await frontendFetch(`/conversations/${id}/messages`), 200, "GET messages");
  assert.deepEqual(empty, { messages: [] });

  await exchange(id, "hello from the compatibility suite");
  const { messages } = await json(await frontendFetch(`/conversations/${id}/messages`), 200, "GET messages");
  messages.forEach((m, i) => expectMessage(m, `messages[${i}]`));
  assert.deepEqual(
    messages.map((m) => m.type),
    ["Human", "AI"],
    "the question and the answer, oldest first",
  );
  assert.equal(messages[0].content, "hello from the compatibility suite");
  assert.ok(messages[1].content.length > 0, "the answer has content");
  assert.ok(messages.every((m) => m.conversation_id === id && m.user_id === created.user_id));

  const del = await frontendFetch(`/conversations/${id}/messages/${messages[1].message_id}`, { method: "DELETE" });
  assert.equal(del.status, 200, "DELETE /conversations/{id}/messages/{message_id}");
  const after = await json(await frontendFetch(`/conversations/${id}/messages`), 200, "GET messages");
  assert.deepEqual(after.messages, [messages[0]]);
});

test("messages: another user's or a missing conversation is 404 with {detail}", async () => {
  await expectDetail(await frontendFetch("/conversations/987654321/messages"), 404, "GET messages of a missing one");
  await expectDetail(
    await frontendFetch("/conversations/987654321/messages/1", { method: "DELETE" }),
    404,
    "DELETE a message of a missing conversation",
  );
});

test("toolkits: getToolkits(), connect, sync until active, connections, enable, disable", async () => {
  await requireFeature("Toolkits (GET /toolkits/)", "/toolkits");

  const list = await json(await frontendFetch("/toolkits/"), 200, "GET /toolkits/");
  expectShape(list, { toolkits: "array", user_id: "integer" }, "toolkits");
  for (const slug of SUPPORTED_TOOLKITS) assert.ok(list.toolkits.includes(slug), `toolkits include ${slug}`);

  const slug = "GMAIL";
  const connect = await json(
    await frontendFetch(`/toolkits/connect/${slug}`, { method: "POST" }),
    200,
    `POST /toolkits/connect/${slug}`,
  );
  expectShape(connect, { connection_request_id: "string", redirect_url: "string", status: "string" }, "connect");
  assert.doesNotThrow(() => new URL(connect.redirect_url), "redirect_url is a URL the frontend can open");

  // The frontend polls sync until the person has finished connecting at redirect_url (the test
  // server's fake Composio marks new accounts active on its own).
  let sync;
  for (let i = 0; i < 50; i++) {
    const res = await frontendFetch(`/toolkits/connections/sync/${connect.connection_request_id}`, { method: "POST" });
    sync = await json(res, 200, "POST /toolkits/connections/sync/{id}");
    expectShape(
      sync,
      { success: "boolean", message: "string", connection_status: "string", last_synced_at: "datetime?" },
      "sync",
    );
    if (sync.connection_status === "active") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(sync.connection_status, "active", "the connection becomes active");

  const connections = await json(await frontendFetch("/toolkits/connections"), 200, "GET /toolkits/connections");
  expectShape(connections, { connections: "array", total_count: "integer" }, "connections");
  connections.connections.forEach((c, i) => expectConnection(c, `connections[${i}]`));
  assert.equal(connections.total_count, connections.connections.length);
  assert.ok(connections.connections.some((c) => c.toolkit_slug === slug && c.connection_status === "active"));

  const one = await json(await frontendFetch(`/toolkits/connections/${slug}`), 200, `GET /toolkits/connections/${slug}`);
  expectConnection(one, "connection");
  assert.equal(one.toolkit_slug, slug);

  const enabled = await json(await frontendFetch(`/toolkits/enable/${slug}`, { method: "POST" }), 200, "POST enable");
  expectShape(enabled, { message: "string" }, "enable");
  const disabled = await json(
    await frontendFetch(`/toolkits/disable/${slug}`, { method: "DELETE" }),
    200,
    "DELETE disable",
  );
  expectShape(disabled, { message: "string" }, "disable");
});

test("toolkits: an unsupported toolkit is refused with {detail}", async () => {
  await requireFeature("Toolkits (GET /toolkits/)", "/toolkits");
  const res = await frontendFetch("/toolkits/connect/NOT_A_TOOLKIT", { method: "POST" });
  assert.ok([400, 404].includes(res.status), `POST /toolkits/connect/NOT_A_TOOLKIT: ${res.status}`);
  await expectDetail(res, res.status, "connect an unsupported toolkit");
});
