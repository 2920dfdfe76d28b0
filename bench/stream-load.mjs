// Load driver of the streaming benchmark: SOCKETS Socket.IO clients (websocket only, session
// cookie, like the frontend), each in its own conversation, each sending TURNS messages one
// after the other. Measures message emit -> first `assistant` (minus the fake LLM's fixed
// time-to-first-token = backend-added latency) and emit -> `last_chunk`, and checks that the
// answers were persisted. Prints one JSON object.
//
//   node bench/stream-load.mjs <base-url> <sockets> <turns> <ttft_ms> <chunks>
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../tests/node/package.json"));
const { io } = require("socket.io-client");

const [base, socketsArg, turnsArg, ttftArg, chunksArg] = process.argv.slice(2);
const [SOCKETS, TURNS, TTFT, CHUNKS] = [socketsArg, turnsArg, ttftArg, chunksArg].map(Number);

async function signIn() {
  const res = await fetch(`${base}/auth/google`, { redirect: "manual" });
  const setCookie = res.headers.get("set-cookie");
  return setCookie.split(";")[0];
}

async function newConversation(cookie) {
  const res = await fetch(`${base}/conversations/`, {
    method: "POST", headers: { cookie, "content-type": "application/json" }, body: "{}",
  });
  return (await res.json()).conversation_id;
}

async function storedCounts(cookie, id) {
  const res = await fetch(`${base}/conversations/${id}/messages`, { headers: { cookie } });
  const { messages } = await res.json();
  const count = (type) => messages.filter((m) => m.type === type).length;
  return { human: count("Human"), ai: count("AI"), complete: messages.filter((m) => m.type === "AI" && m.content.includes(`tok${CHUNKS - 1}`)).length };
}

function connect(cookie) {
  return new Promise((resolve, reject) => {
    const s = io(`${base}/conversations/stream`, {
      transports: ["websocket"], extraHeaders: { cookie }, reconnection: false, forceNew: true,
    });
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}

function turn(socket, conversation_id, n) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let first = null;
    let chunks = 0;
    let errors = 0;
    const onAssistant = () => {
      chunks += 1;
      if (first === null) first = performance.now() - t0;
    };
    const onError = () => { errors += 1; };
    const onLast = () => {
      socket.off("assistant", onAssistant);
      socket.off("error", onError);
      resolve({ first, total: performance.now() - t0, chunks, errors });
    };
    socket.on("assistant", onAssistant);
    socket.on("error", onError);
    socket.once("last_chunk", onLast);
    socket.emit("message", { content: `message ${n}`, conversation_id });
  });
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const cookie = await signIn();
const clients = [];
for (let i = 0; i < SOCKETS; i++) {
  const conversation = await newConversation(cookie);
  const socket = await connect(cookie);
  await new Promise((r) => { socket.once("joined", r); socket.emit("join_conversation", { conversation_id: conversation }); });
  clients.push({ socket, conversation });
}

const results = [];
const started = performance.now();
await Promise.all(clients.map(async ({ socket, conversation }) => {
  for (let n = 0; n < TURNS; n++) results.push(await turn(socket, conversation, n));
}));
const elapsed = (performance.now() - started) / 1000;
clients.forEach(({ socket }) => socket.close());

// Background upkeep (titles, summaries) runs after each turn; give it a moment, then count.
await new Promise((r) => setTimeout(r, 1500));
let human = 0, ai = 0, complete = 0;
for (const { conversation } of clients) {
  const c = await storedCounts(cookie, conversation);
  human += c.human; ai += c.ai; complete += c.complete;
}

const added = results.filter((r) => r.first !== null).map((r) => r.first - TTFT).sort((a, b) => a - b);
const totals = results.map((r) => r.total).sort((a, b) => a - b);
const round = (x) => (x === null ? null : Math.round(x * 100) / 100);
console.log(JSON.stringify({
  sockets: SOCKETS, turns_per_socket: TURNS, turns: results.length, elapsed_s: round(elapsed),
  turns_per_s: round(results.length / elapsed),
  chunks_per_s: round(results.reduce((a, r) => a + r.chunks, 0) / elapsed),
  added_ms: { p50: round(pct(added, 50)), p99: round(pct(added, 99)), max: round(added[added.length - 1]) },
  turn_ms: { p50: round(pct(totals, 50)), p99: round(pct(totals, 99)) },
  error_events: results.reduce((a, r) => a + r.errors, 0),
  incomplete_streams: results.filter((r) => r.chunks !== CHUNKS).length,
  sent: results.length, persisted_human: human, persisted_ai: ai, persisted_complete_ai: complete,
}));
process.exit(0);
