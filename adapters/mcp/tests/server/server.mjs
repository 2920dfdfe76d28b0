// A real MCP server for the meai-mcp integration tests: the official TypeScript SDK's
// low-level `Server` over its Streamable HTTP transport, with stateful sessions.
//
//   node server.mjs [--port N] [--token T] [--page-size N]
//
// Prints `listening http://127.0.0.1:PORT/mcp` once it accepts connections. Besides /mcp:
//   GET  /stats          what the server saw (JSON-RPC methods, writes, cancellations, headers)
//   POST /drop-sessions  forgets every session, so the next request on one gets a 404
// Both are test hooks, outside MCP, and need no token.

import http from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  isInitializeRequest,
} from "@modelcontextprotocol/sdk/types.js";

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(option("port", "0"));
const token = option("token", undefined);
const pageSize = Number(option("page-size", "2"));

// A 1x1 PNG (70 bytes).
const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

const stats = {
  methods: {},
  initialize: 0,
  writes: [],
  cancelled: 0,
  protocolVersions: [],
  clientNames: [],
  testHeaders: [],
  userAgents: [],
};

const notes = [
  { title: "groceries", body: "milk, eggs, coffee" },
  { title: "coffee beans", body: "try the Ethiopian roast" },
  { title: "dentist", body: "appointment on Tuesday" },
];

const tools = [
  {
    name: "notes_search",
    title: "Search notes",
    description: "Search the person's notes by a word.",
    inputSchema: {
      type: "object",
      properties: { query: { type: "string", description: "word to look for" } },
      required: ["query"],
    },
    annotations: { title: "Search notes", readOnlyHint: true, openWorldHint: false },
  },
  {
    name: "notes_write",
    description: "Write a new note.",
    inputSchema: {
      type: "object",
      properties: { title: { type: "string" }, body: { type: "string" } },
      required: ["title", "body"],
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  },
  {
    name: "slow",
    description: "Waits the given number of milliseconds, then answers.",
    inputSchema: { type: "object", properties: { ms: { type: "integer" } }, required: ["ms"] },
    annotations: { readOnlyHint: true, idempotentHint: true },
  },
  {
    name: "fails",
    description: "Always fails.",
    inputSchema: { type: "object", properties: { reason: { type: "string" } } },
  },
  {
    name: "picture",
    description: "Returns a picture and a link to it.",
    inputSchema: { type: "object", properties: {} },
    annotations: { readOnlyHint: true },
  },
  {
    name: "mixed",
    description: "Returns audio and embedded resources.",
    inputSchema: { type: "object", properties: {} },
  },
  {
    name: "structured",
    description: "Returns structured content only.",
    inputSchema: { type: "object", properties: {} },
    outputSchema: {
      type: "object",
      properties: { total: { type: "integer" }, items: { type: "array", items: { type: "string" } } },
    },
  },
  {
    name: "big",
    description: "Returns a long text.",
    inputSchema: { type: "object", properties: { chars: { type: "integer" } } },
  },
];

function text(t) {
  return { content: [{ type: "text", text: t }] };
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new Error("cancelled"));
    });
  });
}

async function callTool(name, args, extra) {
  switch (name) {
    case "notes_search": {
      const q = String(args.query ?? "").toLowerCase();
      const found = notes.filter((n) => n.title.includes(q) || n.body.toLowerCase().includes(q));
      return text(`${found.length} note(s) match '${q}': ${found.map((n) => n.title).join(", ")}`);
    }
    case "notes_write": {
      stats.writes.push(args);
      notes.push({ title: String(args.title), body: String(args.body) });
      return text(`saved note '${args.title}'`);
    }
    case "slow": {
      const ms = Number(args.ms ?? 0);
      try {
        await sleep(ms, extra.signal);
      } catch (e) {
        stats.cancelled += 1;
        throw e;
      }
      return text(`slept ${ms} ms`);
    }
    case "fails":
      return { content: [{ type: "text", text: `the notes service is down: ${args.reason ?? "no reason"}` }], isError: true };
    case "picture":
      return {
        content: [
          { type: "image", data: PNG_BASE64, mimeType: "image/png" },
          { type: "resource_link", uri: "file:///pictures/cat.png", name: "cat.png", mimeType: "image/png" },
        ],
      };
    case "mixed":
      return {
        content: [
          { type: "audio", data: Buffer.alloc(300).toString("base64"), mimeType: "audio/wav" },
          { type: "resource", resource: { uri: "note://groceries", mimeType: "text/plain", text: "milk, eggs, coffee" } },
          { type: "resource", resource: { uri: "file:///report.pdf", mimeType: "application/pdf", blob: Buffer.alloc(10).toString("base64") } },
        ],
      };
    case "structured":
      return { content: [], structuredContent: { total: 2, items: ["a", "b"] } };
    case "big":
      return text("x".repeat(Number(args.chars ?? 50000)));
    default:
      return { content: [{ type: "text", text: `unknown tool ${name}` }], isError: true };
  }
}

function newServer() {
  const server = new Server({ name: "meai-test-notes", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    const start = Number(request.params?.cursor ?? 0);
    const page = tools.slice(start, start + pageSize);
    const next = start + pageSize < tools.length ? String(start + pageSize) : undefined;
    return next ? { tools: page, nextCursor: next } : { tools: page };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) =>
    callTool(request.params.name, request.params.arguments ?? {}, extra),
  );
  return server;
}

const sessions = new Map(); // session id -> transport

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res, status, value, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(value));
}

function record(message) {
  for (const m of Array.isArray(message) ? message : [message]) {
    if (!m || typeof m.method !== "string") continue;
    stats.methods[m.method] = (stats.methods[m.method] ?? 0) + 1;
    if (m.method === "initialize") {
      stats.initialize += 1;
      stats.protocolVersions.push(m.params?.protocolVersion);
      stats.clientNames.push(m.params?.clientInfo?.name);
    }
  }
}

async function handleMcp(req, res) {
  if (token !== undefined) {
    const auth = req.headers["authorization"];
    if (auth === undefined) {
      return json(res, 401, { error: "unauthorized" }, { "www-authenticate": 'Bearer realm="notes"' });
    }
    if (auth !== `Bearer ${token}`) {
      // A careless server that echoes what it got: the client must not repeat it.
      return json(res, 401, { error: `bad credentials: ${auth}` });
    }
  }
  if (req.headers["x-test-header"] !== undefined) stats.testHeaders.push(req.headers["x-test-header"]);
  stats.userAgents.push(req.headers["user-agent"]);

  const sessionId = req.headers["mcp-session-id"];
  let body;
  if (req.method === "POST") {
    const raw = await readBody(req);
    try {
      body = JSON.parse(raw);
    } catch {
      return json(res, 400, { jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null });
    }
    record(body);
  }

  let transport;
  if (sessionId !== undefined) {
    transport = sessions.get(sessionId);
    if (transport === undefined) {
      return json(res, 404, { jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null });
    }
  } else if (req.method === "POST" && isInitializeRequest(body)) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    const server = newServer();
    server.onerror = () => {};
    await server.connect(transport);
  } else {
    return json(res, 400, { jsonrpc: "2.0", error: { code: -32000, message: "Bad Request: no session" }, id: null });
  }
  await transport.handleRequest(req, res, body);
}

const httpServer = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, "http://127.0.0.1");
    if (url.pathname === "/stats" && req.method === "GET") return json(res, 200, stats);
    if (url.pathname === "/drop-sessions" && req.method === "POST") {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((t) => t.close().catch(() => {})));
      return json(res, 200, { dropped: all.length });
    }
    if (url.pathname === "/mcp") return await handleMcp(req, res);
    json(res, 404, { error: "not found" });
  } catch (e) {
    if (!res.headersSent) json(res, 500, { error: String(e) });
  }
});

process.on("SIGTERM", () => process.exit(0));
httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening http://127.0.0.1:${httpServer.address().port}/mcp\n`);
});
