// Drives meAI's Socket.IO contract with the real socket.io-client against one server: the
// single-instance form of multi.mjs (same plan format; connections need no "at").
//
//   node client.mjs <base-url> '<plan as JSON>'
//
// Prints one JSON line per received event: {"conn", "event", "data", "t"} (t in ms since start),
// then {"event":"done"}. See multi.mjs for the plan steps.
const [base, planJson] = process.argv.slice(2);
process.argv.splice(2, 2, JSON.stringify({ default: base }), planJson);
await import("./multi.mjs");
