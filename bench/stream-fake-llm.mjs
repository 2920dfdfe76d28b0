// A minimal fake OpenAI Chat Completions server for the streaming benchmark: every request is
// answered with the same stream after a fixed time-to-first-token, one chunk every PACE ms.
//
//   node bench/stream-fake-llm.mjs <port> <ttft_ms> <pace_ms> <chunks>
//
// Prints "listening <port>" once ready. Titles/summaries (background requests) get the same answer.
import http from "node:http";

const [port, ttft, pace, chunks] = process.argv.slice(2).map(Number);
let requests = 0;

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
  if (req.method === "POST" && req.url.endsWith("/embeddings")) return embeddings(req, res);
  if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
    res.writeHead(404).end();
    return;
  }
  requests += 1;
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    // Headers at once, as providers answer: the time to the first token is the TTFT below.
    res.flushHeaders();
    let sent = 0;
    let timer = null;
    const next = () => {
      if (res.destroyed) return;
      if (sent === 0) res.write(frame({ role: "assistant", content: "" }));
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
