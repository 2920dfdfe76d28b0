// Load driver of the streaming benchmark: SOCKETS Socket.IO clients (websocket only, session
// cookie, like the frontend), each in its own conversation, each sending TURNS messages one
// after the other. Measures message emit -> first `assistant` (minus the fake LLM's fixed
// time-to-first-token = backend-added latency) and emit -> `last_chunk`, and checks that the
// answers were persisted. Prints one JSON object.
//
//   node bench/stream-load.mjs <base-url[,base-url...]> <sockets> <turns> <ttft_ms> <chunks>
//
// With several base URLs (instances sharing a database and Redis) socket i connects to
// instance i mod n, as a load balancer would spread them; a socket whose instance goes away
// (a restart) reconnects to the next instance that answers and goes on with its turns.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../tests/node/package.json"));
const { io } = require("socket.io-client");

const [basesArg, socketsArg, turnsArg, ttftArg, chunksArg] = process.argv.slice(2);
const [SOCKETS, TURNS, TTFT, CHUNKS] = [socketsArg, turnsArg, ttftArg, chunksArg].map(Number);
const bases = basesArg.split(",");
const base = bases[0];

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

// REST through the first instance that answers (one may be restarting).
async function fetchAny(path, init) {
  let last;
  for (const at of [...bases, ...bases]) {
    try {
      return await fetch(`${at}${path}`, init);
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

async function storedCounts(cookie, id) {
  // The largest page: a socket's turns fit (the default page is the latest 200 messages).
  const res = await fetchAny(`/conversations/${id}/messages?limit=1000`, { headers: { cookie } });
  const { messages } = await res.json();
  const count = (type) => messages.filter((m) => m.type === type).length;
  return {
    human: count("Human"), ai: count("AI"),
    complete: messages.filter((m) => m.type === "AI" && m.content.includes(`tok${CHUNKS - 1}`)).length,
    stopped: messages.filter((m) => m.type === "AI" && m.content.endsWith("[stopped]")).length,
  };
}

function connect(cookie, at = base) {
  return new Promise((resolve, reject) => {
    const s = io(`${at}/conversations/stream`, {
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
    let refused = 0;
    const onAssistant = () => {
      chunks += 1;
      if (first === null) first = performance.now() - t0;
    };
    // An error without `seq` is a refusal (no run started, no `last_chunk` will come).
    const onError = (data) => {
      errors += 1;
      if (!data || data.seq === undefined) { refused += 1; end(false, false); }
    };
    const end = (stopped, disconnected) => {
      socket.off("assistant", onAssistant);
      socket.off("error", onError);
      socket.off("last_chunk", onLast);
      socket.off("disconnect", onDisconnect);
      resolve({ first, total: performance.now() - t0, chunks, errors, stopped, disconnected, refused });
    };
    const onLast = (data) => end(Boolean(data && data.stopped), false);
    // The instance went away without an end (killed, or closed before the end got out).
    const onDisconnect = () => end(false, true);
    socket.on("assistant", onAssistant);
    socket.on("error", onError);
    socket.once("last_chunk", onLast);
    socket.once("disconnect", onDisconnect);
    socket.emit("message", { content: `message ${n}`, conversation_id });
  });
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function joinAt(cookie, at, conversation) {
  const socket = await connect(cookie, at);
  await new Promise((r) => { socket.once("joined", r); socket.emit("join_conversation", { conversation_id: conversation }); });
  return socket;
}

// After a disconnect: the next instance that accepts, as a load balancer would retry.
async function rejoin(cookie, client) {
  for (let attempt = 0; attempt < 200; attempt++) {
    client.at = (client.at + 1) % bases.length;
    try {
      client.socket = await joinAt(cookie, bases[client.at], client.conversation);
      reconnects += 1;
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("no instance accepts connections");
}

const cookie = await signIn();
const clients = [];
let reconnects = 0;
for (let i = 0; i < SOCKETS; i++) {
  const conversation = await newConversation(cookie);
  const at = i % bases.length;
  clients.push({ socket: await joinAt(cookie, bases[at], conversation), conversation, at });
}

const results = [];
const started = performance.now();
await Promise.all(clients.map(async (client) => {
  for (let n = 0; n < TURNS; n++) {
    const r = await turn(client.socket, client.conversation, n);
    results.push(r);
    if (r.disconnected || !client.socket.connected) await rejoin(cookie, client);
  }
}));
const elapsed = (performance.now() - started) / 1000;
clients.forEach(({ socket }) => socket.close());

// Background upkeep (titles, summaries) runs after each turn; give it a moment, then count.
await new Promise((r) => setTimeout(r, 1500));
let human = 0, ai = 0, complete = 0, stoppedAi = 0;
for (const { conversation } of clients) {
  const c = await storedCounts(cookie, conversation);
  human += c.human; ai += c.ai; complete += c.complete; stoppedAi += c.stopped;
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
  instances: bases.length, stopped_turns: results.filter((r) => r.stopped).length,
  refused_turns: results.filter((r) => r.refused).length,
  disconnected_turns: results.filter((r) => r.disconnected).length, reconnects, persisted_stopped_ai: stoppedAi,
}));
process.exit(0);
