// (d) Consent as the existing frontend lives it, knowing nothing of approvals: a tool call that
// needs the person's decision arrives as the assistant's text (asking for a plain "yes"), the
// turn ends with `last_chunk` as always, and the person's next message decides: "yes" runs the
// call and streams the answer; anything else declines it and is answered as a normal message.
// The same socket and calls as src/api/socket.ts (see socketio.test.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { TOOL_TRIGGERS, connectToolkit, createConversation, frontendFetch, json, uniqueTitle } from "./lib/server.mjs";
import { connect, converse, frontendSocket, next } from "./lib/socket.mjs";

/** A new conversation joined like `connectStream(conversationId)`. */
async function joinedConversation() {
  const id = (await createConversation(uniqueTitle("Consent"))).conversation_id;
  const socket = await frontendSocket();
  await connect(socket);
  const joined = next(socket, "joined");
  socket.emit("join_conversation", { conversation_id: id });
  await joined;
  return { id, socket };
}

/** What the frontend's store keeps of an answer: the text, the tool lines, and that it ended. */
function answerOf(events, what) {
  const names = events.map((e) => e.event);
  assert.equal(names.at(-1), "last_chunk", `${what} ends with last_chunk: ${names}`);
  assert.equal(names.filter((n) => n === "last_chunk").length, 1, `${what}: exactly one last_chunk`);
  return {
    text: events.filter((e) => e.event === "assistant").map((e) => e.data.content).join(""),
    tools: events.filter((e) => e.event === "tool").map((e) => e.data.content),
    approvals: events.filter((e) => e.event === "tool_approval").map((e) => e.data),
  };
}

async function storedMessages(id) {
  return (await json(await frontendFetch(`/conversations/${id}/messages`), 200, "GET messages")).messages;
}

async function calendarActions() {
  const res = await frontendFetch("/actions?toolkit=GOOGLECALENDAR");
  return (await json(res, 200, "GET /actions")).actions;
}

test("a call that needs approval is asked for in text; the frontend's plain `yes` runs it", async () => {
  await connectToolkit("GOOGLECALENDAR");
  const { id, socket } = await joinedConversation();
  try {
    const asked = answerOf(
      await converse(socket, { content: `Book the dentist on Friday ${TOOL_TRIGGERS.calendarThenYes}` }),
      "the request",
    );
    assert.match(asked.text, /\*\*yes\*\*/, `the request says how to answer: ${asked.text}`);
    assert.match(asked.text, /GOOGLECALENDAR_CREATE_EVENT/);
    assert.deepEqual(asked.tools, [], "nothing ran yet");
    assert.equal(asked.approvals.length, 1, "and the structured event, for clients that know it");
    assert.equal(asked.approvals[0].conversation_id, id);

    const done = answerOf(await converse(socket, { content: "yes" }), "the answer after yes");
    assert.equal(done.tools[0], "Using GOOGLECALENDAR_CREATE_EVENT");
    assert.ok(done.text.length > 0, "the answer streams");

    const messages = await storedMessages(id);
    assert.deepEqual(messages.map((m) => m.type), ["Human", "AI", "Human", "Tool", "AI"]);
    assert.equal(messages[1].content, asked.text, "the request is kept as the assistant's message");
    assert.equal(messages[2].content, "yes");
    const action = (await calendarActions()).find((a) => a.conversation_id === id);
    assert.equal(action.decision, "approved");
    assert.equal(action.outcome, "succeeded");
  } finally {
    socket.disconnect();
  }
});

test("any other message declines the pending call and is answered as a normal message", async () => {
  await connectToolkit("GOOGLECALENDAR");
  const { id, socket } = await joinedConversation();
  try {
    const asked = answerOf(
      await converse(socket, { content: `Book the dentist ${TOOL_TRIGGERS.calendarThenOther}` }),
      "the request",
    );
    assert.equal(asked.approvals.length, 1);
    const reply = answerOf(await converse(socket, { content: "Never mind, what time is it?" }), "the next answer");
    assert.ok(reply.text.includes("Never mind, what time is it?"), `answered as usual: ${reply.text}`);
    assert.ok(!reply.tools.some((t) => t.startsWith("Using")), "nothing ran");

    const messages = await storedMessages(id);
    assert.deepEqual(messages.map((m) => m.type), ["Human", "AI", "Tool", "Human", "AI"]);
    assert.match(messages[2].content, /not run: the user declined it/);
    const action = (await calendarActions()).find((a) => a.conversation_id === id);
    assert.equal(action.decision, "denied");
    assert.equal(action.outcome, "not_run");
    const pending = await json(await frontendFetch(`/conversations/${id}/approvals`), 200, "GET approvals");
    assert.deepEqual(pending.approvals, []);
  } finally {
    socket.disconnect();
  }
});
