// A minimal fake OpenAI Chat Completions server for the streaming benchmark: every request is
// answered with the same stream after a fixed time-to-first-token, one chunk every PACE ms.
//
//   node bench/stream-fake-llm.mjs <port> <ttft_ms> <pace_ms> <chunks>
//
// Prints "listening <port>" once ready. Titles/summaries (background requests) get the same answer.
// `GET /stats` gives, per question (the last user message of the first request that carried it),
// the milliseconds this server took from the request's arrival to the first token's write: the
// model's part of the time to first token, which the driver subtracts (the fixed TTFT plus this
// process's own timer and event-loop lateness, which is not the backend's).
import http from "node:http";

const [port, ttft, pace, chunks] = process.argv.slice(2).map(Number);
let requests = 0;
// Bounded: the benchmark's scenarios send at most a few thousand questions.
const MAX_KEPT = 100000;
const firstToken = new Map();

function lastUserText(body) {
  try {
    const messages = JSON.parse(body).messages || [];
    const last = messages.filter((m) => m.role === "user").pop();
    return typeof last?.content === "string" ? last.content : null;
  } catch {
    return null;
  }
}

function frame(delta, finish = null) {
  const body = { id: "bench", object: "chat.completion.chunk", created: 0, model: "bench",
    choices: [{ index: 0, delta, finish_reason: finish }] };
  return `data: ${JSON.stringify(body)}\n\n`;
}

// Memory embeds each message (recall before the answer, indexing after): answer at once with a
// small fixed vector, as a nearby embedding service would.
function embeddings(req, res) {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const input = JSON.parse(body).input;
    const texts = Array.isArray(input) ? input : [input];
    const data = texts.map((t, index) => ({
      object: "embedding", index,
      embedding: Array.from({ length: 64 }, (_, i) => Math.sin(i + t.length)),
    }));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data, model: "bench", usage: { prompt_tokens: 1, total_tokens: 1 } }));
  });
}

const server = http.createServer((req, res) => {
  const arrived = performance.now();
  if (req.method === "GET" && req.url === "/cpu") {
    // This process's CPU time so far (user + system), so the driver can tell what the fake
    // itself took of the machine.
    const { user, system } = process.cpuUsage();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ms: (user + system) / 1000 }));
    return;
  }
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(Object.fromEntries(firstToken)));
    return;
  }
  if (req.method === "POST" && req.url.endsWith("/embeddings")) return embeddings(req, res);
  if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
    res.writeHead(404).end();
    return;
  }
  requests += 1;
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const question = lastUserText(body);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    // Headers at once, as providers answer: the time to the first token is the TTFT below.
    res.flushHeaders();
    let sent = 0;
    let timer = null;
    const next = () => {
      if (res.destroyed) return;
      if (sent === 0) {
        res.write(frame({ role: "assistant", content: "" }));
        if (question !== null && !firstToken.has(question) && firstToken.size < MAX_KEPT) {
          firstToken.set(question, performance.now() - arrived);
        }
      }
      if (sent < chunks) {
        res.write(frame({ content: `tok${sent} ` }));
        sent += 1;
        timer = setTimeout(next, pace);
      } else {
        res.write(frame({}, "stop"));
        res.write(`data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":${chunks},"total_tokens":${10 + chunks}}}\n\n`);
        res.end("data: [DONE]\n\n");
      }
    };
    timer = setTimeout(next, ttft);
    res.on("close", () => clearTimeout(timer));
  });
});
server.keepAliveTimeout = 60000;
server.listen(port, "127.0.0.1", () => console.log(`listening ${port}`));
process.on("SIGTERM", () => {
  console.error(`fake llm: ${requests} requests`);
  process.exit(0);
});
