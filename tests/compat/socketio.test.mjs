// (c) The Socket.IO flow exactly as the meAI web frontend runs it (src/api/socket.ts and
// src/stores/useMessagesStore.ts): the socket is created with
// `io(BASE + '/conversations/stream', {path: '/socket.io', withCredentials: true,
// transports: ['websocket'], autoConnect: false, forceNew: true})`, authenticated by the session
// cookie; `join_conversation {conversation_id}` -> `joined`; `message` -> `assistant`* (and
// `tool`*) -> `last_chunk`; failures arrive as `error {error}`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createConversation, expectShape, frontendFetch, json, uniqueTitle } from "./lib/server.mjs";
import { connect, converse, frontendSocket, next } from "./lib/socket.mjs";

async function newConversation() {
  return (await createConversation(uniqueTitle("Socket"))).conversation_id;
}

/** `connectStream(conversationId)`: connect, then `join_conversation`, answered by `joined`. */
async function joined(conversationId) {
  const socket = await frontendSocket();
  await connect(socket);
  const joinedEvent = next(socket, "joined");
  socket.emit("join_conversation", { conversation_id: conversationId });
  const data = await joinedEvent;
  expectShape(data, { message: "string" }, "joined");
  return socket;
}

/** The store's `handleAssistant`/`handleLastChunk`: chunks appended until `last_chunk`. */
function checkAnswer(events) {
  const names = events.map((e) => e.event);
  assert.equal(names.at(-1), "last_chunk", `the answer ends with last_chunk: ${names}`);
  assert.equal(names.filter((n) => n === "last_chunk").length, 1, "exactly one last_chunk");
  assert.deepEqual(events.at(-1).data.last_chunk, true, "last_chunk {last_chunk: true}");
  const chunks = events.filter((e) => e.event === "assistant");
  assert.ok(chunks.length > 0, `assistant chunks arrive: ${names}`);
  for (const { data } of chunks) {
    expectShape(data, { role: "string", content: "string" }, "assistant");
    assert.equal(data.role, "assistant");
  }
  for (const { data } of events.filter((e) => e.event === "tool")) {
    expectShape(data, { role: "string", content: "string" }, "tool");
    assert.equal(data.role, "tool");
  }
  const unexpected = names.filter((n) => !["assistant", "tool", "last_chunk"].includes(n));
  assert.deepEqual(unexpected, [], "only assistant, tool and last_chunk during an answer");
  return chunks.map((e) => e.data.content).join("");
}

async function storedMessages(conversationId) {
  const res = await frontendFetch(`/conversations/${conversationId}/messages`);
  return (await json(res, 200, "GET messages")).messages;
}

test("sendMessage(content) after joinConversation(id): assistant chunks, then last_chunk", async () => {
  // The frontend's ConversationSocket.sendMessage emits `message` with `{content}` only: the
  // conversation is the one the socket joined.
  const id = await newConversation();
  const socket = await joined(id);
  try {
    const answer = checkAnswer(await converse(socket, { content: "What is on my calendar today?" }));
    assert.ok(answer.length > 0, "a non-empty answer");
    const messages = await storedMessages(id);
    assert.deepEqual(messages.map((m) => [m.type, m.content]), [
      ["Human", "What is on my calendar today?"],
      ["AI", answer],
    ]);
  } finally {
    socket.disconnect();
  }
});

test("message {content, conversation_id}: the documented form works the same", async () => {
  const id = await newConversation();
  const socket = await joined(id);
  try {
    const answer = checkAnswer(await converse(socket, { content: "Plan my week", conversation_id: id }));
    const messages = await storedMessages(id);
    assert.deepEqual(messages.map((m) => m.type), ["Human", "AI"]);
    assert.equal(messages[1].content, answer);
  } finally {
    socket.disconnect();
  }
});

test("a second message in the same conversation is answered too", async () => {
  const id = await newConversation();
  const socket = await joined(id);
  try {
    checkAnswer(await converse(socket, { content: "first", conversation_id: id }));
    checkAnswer(await converse(socket, { content: "second", conversation_id: id }));
    const messages = await storedMessages(id);
    assert.deepEqual(messages.map((m) => m.type), ["Human", "AI", "Human", "AI"]);
  } finally {
    socket.disconnect();
  }
});

test("joining a conversation that does not exist (or is someone else's) answers `error {error}`", async () => {
  const socket = await frontendSocket();
  try {
    await connect(socket);
    const error = next(socket, "error");
    socket.emit("join_conversation", { conversation_id: 987654321 });
    expectShape(await error, { error: "string" }, "error");
  } finally {
    socket.disconnect();
  }
});

test("a message to a conversation that does not exist answers `error {error}`", async () => {
  const socket = await frontendSocket();
  try {
    await connect(socket);
    const error = next(socket, "error");
    socket.emit("message", { content: "hello?", conversation_id: 987654321 });
    expectShape(await error, { error: "string" }, "error");
  } finally {
    socket.disconnect();
  }
});

test("without the session cookie the connection is refused (connect_error)", async () => {
  const socket = await frontendSocket({ cookie: "" });
  try {
    const refused = new Promise((resolve, reject) => {
      socket.on("connect_error", resolve);
      socket.on("connect", () => reject(new Error("connected without a session")));
    });
    socket.connect();
    const err = await refused;
    assert.ok(err.message, "connect_error carries a reason");
  } finally {
    socket.disconnect();
  }
});
