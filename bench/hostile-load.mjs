// Load driver of the hostile-clients benchmark (bench/hostile.sh): one scenario per run, every
// connection on loopback, every loop bounded in count and time. Reads the server's memory from
// /proc/<pid>/status at the points that matter and prints one JSON object.
//
//   node bench/hostile-load.mjs flood <base-url> <server-pid> <events> <turns>
//       One signed-in socket sends <events> small events (resume / join_conversation / stop in
//       turn) as fast as its socket takes them, while a second socket runs <turns> chat turns;
//       the same turns run before the flood for the idle baseline.
//   node bench/hostile-load.mjs idle <base-url> <server-pid> <sockets> <settle-seconds>
//       Opens <sockets> signed-in idle websockets, times GET /health while they are open, closes
//       them, then samples the server's RSS for <settle-seconds>.
//   node bench/hostile-load.mjs lists <base-url> <server-pid> <concurrency> <rounds>
//       <concurrency> concurrent GET /conversations/ (no limit, as the frontend asks), <rounds>
//       times.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../tests/node/package.json"));
const { io } = require("socket.io-client");

const [scenario, base, pidArg, ...rest] = process.argv.slice(2);
const pid = Number(pidArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The server's memory, in MiB: resident now and the high-water mark.
function memory() {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+)`, "m"))[1]);
  return { rss: +(kb("VmRSS") / 1024).toFixed(1), hwm: +(kb("VmHWM") / 1024).toFixed(1) };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return +sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2);
}

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: percentile(s, 100) };
}

async function signIn() {
  const res = await fetch(`${base}/auth/google`, { redirect: "manual" });
  return res.headers.get("set-cookie").split(";")[0];
}

async function newConversation(cookie) {
  const res = await fetch(`${base}/conversations/`, {
    method: "POST", headers: { cookie, "content-type": "application/json" }, body: "{}",
  });
  return (await res.json()).conversation_id;
}

function connect(cookie) {
  return new Promise((resolve, reject) => {
    const s = io(`${base}/conversations/stream`, {
      transports: ["websocket"], extraHeaders: { cookie }, reconnection: false, forceNew: true,
      timeout: 60000,
    });
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}

// One chat turn: emit -> last_chunk, in ms (null when it took longer than 30 s).
function turn(socket, conversation_id) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const timer = setTimeout(() => { socket.off("last_chunk", done); resolve(null); }, 30000);
    function done() { clearTimeout(timer); resolve(performance.now() - t0); }
    socket.once("last_chunk", done);
    socket.emit("message", { content: "How is the weather?", conversation_id });
  });
}

async function turns(socket, conversation_id, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const ms = await turn(socket, conversation_id);
    if (ms !== null) out.push(ms);
  }
  return out;
}

async function flood([eventsArg, turnsArg]) {
  const [EVENTS, TURNS] = [Number(eventsArg), Number(turnsArg)];
  const cookie = await signIn();
  const [mine, theirs] = [await newConversation(cookie), await newConversation(cookie)];
  const victim = await connect(cookie);
  await turns(victim, theirs, 3); // warm-up
  const idle = await turns(victim, theirs, TURNS);
  const flooder = await connect(cookie);
  let errors = 0;
  let replies = 0;
  let disconnected = null;
  flooder.on("error", () => (errors += 1));
  flooder.onAny(() => (replies += 1));
  flooder.on("disconnect", (reason) => (disconnected ??= reason));
  const before = memory();
  const t0 = performance.now();
  // FLOOD_EVENTS=name,name picks other events (e.g. one kind alone, or one without a handler).
  const names = (process.env.FLOOD_EVENTS || "resume,join_conversation,stop").split(",");
  let sent = 0;
  const sending = (async () => {
    while (sent < EVENTS && disconnected === null) {
      // A batch, then let the socket write it out (a client that reads and writes normally).
      for (let i = 0; i < Math.min(200, Number(process.env.FLOOD_PACED || 200)) && sent < EVENTS; i++, sent++) {
        flooder.emit(names[sent % names.length], { conversation_id: mine, after_seq: 0 });
      }
      await new Promise((r) => setImmediate(r));
      while (flooder.io.engine && flooder.io.engine.writeBuffer.length > 1000) await sleep(1);
      // FLOOD_PACED=N: at most N events ahead of the server's answers (every event here gets
      // one), so what is measured is the cost per event handled, without a backlog.
      const window = Number(process.env.FLOOD_PACED || Infinity);
      while (replies < sent - window && disconnected === null) await sleep(1);
    }
  })();
  const during = await turns(victim, theirs, TURNS);
  await sending;
  const floodMs = performance.now() - t0;
  const cutOff = disconnected;
  await sleep(2000); // let the server finish what it received
  const after = memory();
  flooder.close();
  victim.close();
  await sleep(3000);
  const settled = memory();
  return {
    scenario: "flood", paced: process.env.FLOOD_PACED ?? null, events_sent: sent, replies, flood_s: +(floodMs / 1000).toFixed(1), error_events: errors,
    flooder_disconnected: cutOff, events: names, turn_idle_ms: summary(idle), turn_during_flood_ms: summary(during),
    rss_before_mib: before.rss, rss_after_mib: after.rss, rss_settled_mib: settled.rss, peak_rss_mib: settled.hwm,
  };
}

// GET /health latencies with a few requests in flight, in ms.
async function healthLatencies(n, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(`${base}/health`);
  const one = () => new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get({ host: url.hostname, port: url.port, path: url.pathname, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(performance.now() - t0));
    }).on("error", reject);
  });
  const out = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next += 1;
      out.push(await one());
    }
  }));
  agent.destroy();
  return out;
}

async function idle([socketsArg, settleArg]) {
  const [SOCKETS, SETTLE] = [Number(socketsArg), Number(settleArg)];
  const cookie = await signIn();
  await healthLatencies(500, 4); // warm-up
  await sleep(1000);
  const before = memory();
  const baseline = await healthLatencies(2000, 4);
  const sockets = [];
  const t0 = performance.now();
  let failed = 0;
  for (let i = 0; i < SOCKETS; i += 100) {
    const batch = Array.from({ length: Math.min(100, SOCKETS - i) }, () => connect(cookie).catch(() => null));
    for (const s of await Promise.all(batch)) s ? sockets.push(s) : (failed += 1);
  }
  const openS = (performance.now() - t0) / 1000;
  await sleep(5000);
  const open = memory();
  const whileOpen = await healthLatencies(2000, 4);
  const stillConnected = sockets.filter((s) => s.connected).length;
  for (const s of sockets) s.close();
  const closedAt = performance.now();
  const settle = [];
  for (let t = 5; t <= SETTLE; t += 5) {
    await sleep(closedAt + t * 1000 - performance.now());
    settle.push({ s: t, rss_mib: memory().rss });
  }
  return {
    scenario: "idle", sockets: sockets.length, failed, connect_s: +openS.toFixed(1), connected_after_5s: stillConnected,
    rss_before_mib: before.rss, rss_open_mib: open.rss, rss_per_socket_kib: +(((open.rss - before.rss) * 1024) / Math.max(1, sockets.length)).toFixed(1),
    health_idle_ms: summary(baseline), health_open_ms: summary(whileOpen), rss_after_close: settle, peak_rss_mib: memory().hwm,
  };
}

async function lists([concurrencyArg, roundsArg]) {
  const [CONCURRENCY, ROUNDS] = [Number(concurrencyArg), Number(roundsArg)];
  const cookie = await signIn();
  const before = memory();
  const times = [];
  let bytes = 0;
  let items = 0;
  let status = new Set();
  const failures = [];
  for (let r = 0; r < ROUNDS; r++) {
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      const t0 = performance.now();
      const res = await fetch(`${base}/conversations/`, { headers: { cookie } });
      const body = await res.text();
      times.push(performance.now() - t0);
      status.add(res.status);
      if (res.status !== 200) {
        failures.push(body.slice(0, 200));
        return;
      }
      bytes = body.length;
      items = JSON.parse(body).conversations.length;
    }));
  }
  const after = memory();
  return {
    scenario: "lists", concurrency: CONCURRENCY, rounds: ROUNDS, statuses: [...status], failures: failures.length,
    first_failure: failures[0] ?? null, response_bytes: bytes,
    conversations_per_response: items, latency_ms: summary(times), rss_before_mib: before.rss,
    rss_after_mib: after.rss, peak_rss_mib: after.hwm,
  };
}

const scenarios = { flood, idle, lists };
const result = await scenarios[scenario](rest);
console.log(JSON.stringify(result));
process.exit(0);
