// Drives meAI's Socket.IO contract across several instances with the real socket.io-client:
// client.mjs's plan format, where a connection may go to any instance.
//
//   node multi.mjs '<instances as JSON: {"a": "http://127.0.0.1:1234", ...}>' '<plan as JSON>'
//
// Prints one JSON line per received event: {"conn", "at", "event", "data", "t"} (`at` names
// the instance of the connection, t in ms since start), then {"event":"done"}. Plan steps:
//   {"connect": {"at"?: "<instance name>" (default "default"), "cookie"?, "token"?, "transports"?: ["websocket"] | ["polling"]}}
//   {"emit": "<event>", "data": {...}}
//   {"wait": "<event>", "count"?: n, "timeout_ms"?: ms}   until n such events in total (default 1)
//   {"sleep": ms}
//   {"disconnect": true}
//   {"http": {"method"?: "GET", "path": "/auth/logout", "cookie"?, "at"?}}  prints {"event":"http","data":{"status"}}
// A wait that times out prints {"event":"timeout"} and exits 1.
import { io } from "socket.io-client";

const [instancesJson, planJson] = process.argv.slice(2);
const instances = JSON.parse(instancesJson);
const plan = JSON.parse(planJson);
const started = Date.now();
const counts = new Map();
let waiters = [];
let socket = null;
let conn = 0;
let at = null;

function print(obj) {
  process.stdout.write(JSON.stringify({ conn, at, t: Date.now() - started, ...obj }) + "\n");
}

function record(event, data) {
  print({ event, data });
  counts.set(event, (counts.get(event) || 0) + 1);
  waiters = waiters.filter((w) => !w());
}

function connect(opts) {
  if (socket) socket.close();
  const name = opts.at ?? "default";
  const base = instances[name];
  if (!base) {
    print({ event: "bad_plan", data: { unknown_instance: name } });
    process.exit(2);
  }
  conn += 1;
  at = name;
  const extraHeaders = opts.cookie ? { cookie: opts.cookie } : {};
  socket = io(`${base}/conversations/stream`, {
    path: "/socket.io",
    transports: opts.transports || ["websocket"],
    withCredentials: true,
    extraHeaders,
    auth: opts.token ? { token: opts.token } : {},
    reconnection: false,
    forceNew: true,
  });
  socket.on("connect", () => record("connect", { transport: socket.io.engine.transport.name }));
  socket.on("connect_error", (e) => record("connect_error", { message: e.message }));
  socket.on("disconnect", (reason) => record("disconnect", { reason }));
  socket.onAny((event, data) => record(event, data));
}

function wait(event, count, timeoutMs) {
  return new Promise((resolve) => {
    const done = () => (counts.get(event) || 0) >= count;
    if (done()) return resolve(true);
    const timer = setTimeout(() => resolve(false), timeoutMs);
    waiters.push(() => {
      if (!done()) return false;
      clearTimeout(timer);
      resolve(true);
      return true;
    });
  });
}

for (const step of plan) {
  if (step.connect) connect(step.connect);
  else if (step.emit) socket.emit(step.emit, step.data);
  else if (step.wait) {
    const ok = await wait(step.wait, step.count || 1, step.timeout_ms || 15000);
    if (!ok) {
      print({ event: "timeout", data: { waiting_for: step.wait, count: step.count || 1 } });
      process.exit(1);
    }
  } else if (step.sleep) await new Promise((r) => setTimeout(r, step.sleep));
  else if (step.http) {
    const { method = "GET", path: route, cookie, at: where = "default" } = step.http;
    const res = await fetch(`${instances[where]}${route}`, { method, headers: cookie ? { cookie } : {} });
    await res.text();
    record("http", { status: res.status, path: route });
  } else if (step.disconnect) {
    socket.close();
    socket = null;
  }
}
if (socket) socket.close();
print({ event: "done" });
process.exit(0);
