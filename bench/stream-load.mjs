// Load driver of the streaming benchmark: SOCKETS Socket.IO clients (websocket only, session
// cookie, like the frontend), each in its own conversation, each sending TURNS messages one
// after the other. Measures message emit -> first `assistant` (minus the fake LLM's fixed
// time-to-first-token = backend-added latency) and emit -> `last_chunk`, and checks that the
// answers were persisted. Prints one JSON object.
//
//   node bench/stream-load.mjs <base-url[,base-url...]> <sockets> <turns> <ttft_ms> <chunks> [fake-llm-url] [warmup-turns]
//
// With the fake's URL, `added_model_ms` subtracts what the fake measured for each question
// (arrival to first token: its TTFT plus its own lateness) instead of the fixed TTFT. With
// warm-up turns, each socket first sends that many turns that are not measured (a
// conversation's first turn also titles it; the server's connections and caches fill), then
// waits 1.5 s for their background upkeep before the measured turns start together.
// `first_wave_*` is the measured turns each socket sent first (all sockets at once);
// `steady_*` the second half of the waves (as many streams at once, their starts spread).
// `cpu_ms_per_turn` is the CPU time the server (SERVER_PID, CLK_TCK in the environment), the
// fake and this driver each spent per measured turn; `first_wave_cpu_ms_per_turn` the same
// from the start until the first wave's last first token (`first_wave_wall_ms` later).
//
// With several base URLs (instances sharing a database and Redis) socket i connects to
// instance i mod n, as a load balancer would spread them; a socket whose instance goes away
// (a restart) reconnects to the next instance that answers and goes on with its turns.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";
import fs from "node:fs";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../tests/node/package.json"));
const { io } = require("socket.io-client");

const [basesArg, socketsArg, turnsArg, ttftArg, chunksArg, llmArg, warmupArg] = process.argv.slice(2);
const WARMUP = Number(warmupArg || 0);
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

// CPU time (ms) so far of the three processes sharing the machine: the server (its
// /proc/<pid>/stat, all threads, given as SERVER_PID with CLK_TCK), the fake model (asked) and
// this driver. A process that cannot be read is null.
async function cpu() {
  let server = null;
  if (process.env.SERVER_PID) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = fs.readFileSync(`/proc/${process.env.SERVER_PID}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      server = ((Number(fields[11]) + Number(fields[12])) * 1000) / Number(process.env.CLK_TCK || 100);
    } catch {}
  }
  let fake = null;
  if (llmArg) {
    try { fake = (await (await fetch(`${llmArg}/cpu`)).json()).ms; } catch {}
  }
  const { user, system } = process.cpuUsage();
  return { server, fake, client: (user + system) / 1000, at: performance.now() };
}

function turn(socket, conversation_id, n, onFirst = () => {}) {
  // Unique per turn, so the fake's measurement of this question can be found.
  const content = `message ${n} in ${conversation_id}`;
  return new Promise((resolve) => {
    const t0 = performance.now();
    let first = null;
    let chunks = 0;
    let errors = 0;
    let refused = 0;
    const onAssistant = () => {
      chunks += 1;
      if (first === null) { first = performance.now() - t0; onFirst(); }
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
      resolve({ content, first, total: performance.now() - t0, chunks, errors, stopped, disconnected, refused });
    };
    const onLast = (data) => end(Boolean(data && data.stopped), false);
    // The instance went away without an end (killed, or closed before the end got out).
    const onDisconnect = () => end(false, true);
    socket.on("assistant", onAssistant);
    socket.on("error", onError);
    socket.once("last_chunk", onLast);
    socket.once("disconnect", onDisconnect);
    socket.emit("message", { content, conversation_id });
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
let warmupTurns = 0;
if (WARMUP > 0) {
  await Promise.all(clients.map(async (client) => {
    for (let n = 0; n < WARMUP; n++) {
      await turn(client.socket, client.conversation, `warm-up ${n}`);
      warmupTurns += 1;
    }
  }));
  await new Promise((r) => setTimeout(r, 1500));
}
const cpuStart = await cpu();
const started = performance.now();
// Sampled when the first wave's last first token arrives: what the machine spent on one burst
// of SOCKETS turns up to their first tokens (no answer streams yet while the fake's TTFT
// exceeds the burst).
let firstWaveLeft = SOCKETS;
let cpuFirstWave = null;
const firstWaveDone = () => {
  firstWaveLeft -= 1;
  if (firstWaveLeft === 0) cpuFirstWave = cpu();
};
await Promise.all(clients.map(async (client) => {
  for (let n = 0; n < TURNS; n++) {
    const r = await turn(client.socket, client.conversation, n, n === 0 ? firstWaveDone : undefined);
    r.wave = n;
    results.push(r);
    if (r.disconnected || !client.socket.connected) await rejoin(cookie, client);
  }
}));
const elapsed = (performance.now() - started) / 1000;
const cpuEnd = await cpu();
const cpuWave = cpuFirstWave === null ? null : await cpuFirstWave;
// ms of CPU between two samples, per process (null where one was not read), over `per` turns.
const spent = (a, b, per) => Object.fromEntries(["server", "fake", "client"].map((k) => [
  k, a[k] === null || b[k] === null ? null : Math.round(((b[k] - a[k]) / per) * 100) / 100,
]));
clients.forEach(({ socket }) => socket.close());

// Background upkeep (titles, summaries) runs after each turn; give it a moment, then count.
await new Promise((r) => setTimeout(r, 1500));
let human = 0, ai = 0, complete = 0, stoppedAi = 0;
for (const { conversation } of clients) {
  const c = await storedCounts(cookie, conversation);
  human += c.human; ai += c.ai; complete += c.complete; stoppedAi += c.stopped;
}

const added = results.filter((r) => r.first !== null).map((r) => r.first - TTFT).sort((a, b) => a - b);
// The fake's own time for each question, when it can be asked; a turn it has no entry for is
// left out and counted (`added_model_missing`).
let addedModel = [];
let firstWave = [];
let steady = [];
let waves = [];
let addedModelMissing = null;
if (llmArg) {
  const measured = await (await fetch(`${llmArg}/stats`)).json();
  const answered = results.filter((r) => r.first !== null && r.content in measured);
  const less = (rs) => rs.map((r) => r.first - measured[r.content]).sort((a, b) => a - b);
  addedModel = less(answered);
  firstWave = less(answered.filter((r) => r.wave === 0));
  // Each wave: the turns the sockets sent n-th (all at once in the first wave; later ones
  // spread as answers end at different times).
  waves = Array.from({ length: TURNS }, (_, n) => less(answered.filter((r) => r.wave === n)));
  // The second half of the waves: as many streams at once, their starts spread by then.
  steady = less(answered.filter((r) => r.wave >= Math.floor(TURNS / 2)));
  addedModelMissing = results.filter((r) => r.first !== null).length - answered.length;
}
const totals = results.map((r) => r.total).sort((a, b) => a - b);
const round = (x) => (x === null ? null : Math.round(x * 100) / 100);
console.log(JSON.stringify({
  sockets: SOCKETS, turns_per_socket: TURNS, turns: results.length, elapsed_s: round(elapsed),
  turns_per_s: round(results.length / elapsed),
  chunks_per_s: round(results.reduce((a, r) => a + r.chunks, 0) / elapsed),
  added_ms: { p50: round(pct(added, 50)), p99: round(pct(added, 99)), max: round(added[added.length - 1]) },
  added_model_ms: llmArg
    ? { p50: round(pct(addedModel, 50)), p99: round(pct(addedModel, 99)), max: round(addedModel[addedModel.length - 1] ?? null) }
    : null,
  added_model_missing: addedModelMissing,
  first_wave_added_model_ms: llmArg ? { p50: round(pct(firstWave, 50)), p99: round(pct(firstWave, 99)) } : null,
  steady_added_model_ms: llmArg && TURNS > 1 ? { p50: round(pct(steady, 50)), p99: round(pct(steady, 99)), max: round(steady[steady.length - 1] ?? null) } : null,
  waves_added_model_ms: waves.map((xs) => ({ p50: round(pct(xs, 50)), max: round(xs[xs.length - 1] ?? null) })),
  warmup_turns: warmupTurns,
  cpu_ms_per_turn: spent(cpuStart, cpuEnd, Math.max(results.length, 1)),
  first_wave_cpu_ms_per_turn: cpuWave === null ? null : spent(cpuStart, cpuWave, SOCKETS),
  first_wave_wall_ms: cpuWave === null ? null : round(cpuWave.at - cpuStart.at),
  turn_ms: { p50: round(pct(totals, 50)), p99: round(pct(totals, 99)) },
  error_events: results.reduce((a, r) => a + r.errors, 0),
  incomplete_streams: results.filter((r) => r.chunks !== CHUNKS).length,
  sent: results.length + warmupTurns, persisted_human: human, persisted_ai: ai, persisted_complete_ai: complete,
  instances: bases.length, stopped_turns: results.filter((r) => r.stopped).length,
  refused_turns: results.filter((r) => r.refused).length,
  disconnected_turns: results.filter((r) => r.disconnected).length, reconnects, persisted_stopped_ai: stoppedAi,
}));
process.exit(0);
