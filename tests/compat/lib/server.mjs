// The server under test and the frontend's way of talking to it.
//
//   MEAI_BASE_URL         the server (required), e.g. http://127.0.0.1:8080
//   MEAI_FRONTEND_ORIGIN  the frontend's origin, one of the server's ALLOWED_ORIGIN (default
//                         http://localhost:5173, the server's default)
//   MEAI_COOKIE_NAME      the session cookie's name (default `session`)
//
// The server must run in local mode (no GOOGLE_CLIENT_ID): `GET /auth/google` then signs in at
// once and sets the session cookie, as the frontend's login button leads to.
import assert from "node:assert/strict";

export const BASE = (process.env.MEAI_BASE_URL || "").replace(/\/+$/, "");
if (!BASE) throw new Error("MEAI_BASE_URL is not set: point it at a running meAI server (local mode)");
export const ORIGIN = process.env.MEAI_FRONTEND_ORIGIN || "http://localhost:5173";
export const COOKIE_NAME = process.env.MEAI_COOKIE_NAME || "session";

let session = null;

/**
 * Signs in like the frontend's login button (`window.location.href = BASE + '/auth/google'`):
 * the server answers 302 to the frontend with the session cookie. Node has no cookie jar, so the
 * cookie is kept here and sent with every request, as the browser would with
 * `credentials: 'include'`. Returns `name=value`, the same one on every call unless `fresh`
 * (a new session, e.g. to sign out without affecting the other tests).
 */
export async function signIn({ fresh = false } = {}) {
  if (session && !fresh) return session;
  const res = await fetch(`${BASE}/auth/google`, { redirect: "manual" });
  assert.equal(res.status, 302, "GET /auth/google redirects (local mode)");
  const location = res.headers.get("location") || "";
  assert.ok(location.startsWith(ORIGIN), `sign-in lands on the frontend (${ORIGIN}), not ${location}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .find((c) => c.startsWith(`${COOKIE_NAME}=`));
  assert.ok(cookie, `GET /auth/google sets the \`${COOKIE_NAME}\` cookie`);
  if (!fresh) session = cookie;
  return cookie;
}

/**
 * `fetch` as the frontend calls it (`fetch(API_BASE_URL + path, {credentials: 'include', ...})`)
 * from its own origin, plus what the browser adds: the cookie and the `Origin` header. Asserts
 * what the browser needs to hand a credentialed cross-origin response to the page. `cookie`:
 * another session's cookie, or `""` for a signed-out browser.
 */
export async function frontendFetch(path, init = {}, cookie) {
  cookie ??= await signIn();
  const headers = { ...init.headers, origin: ORIGIN };
  if (cookie) headers.cookie = cookie;
  const res = await fetch(`${BASE}${path}`, { ...init, credentials: "include", headers });
  expectCorsAllowed(res, `${init.method || "GET"} ${path}`);
  return res;
}

/** The headers without which a browser hides a credentialed cross-origin response. */
export function expectCorsAllowed(res, what) {
  assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN, `${what}: Access-Control-Allow-Origin`);
  assert.equal(res.headers.get("access-control-allow-credentials"), "true", `${what}: Access-Control-Allow-Credentials`);
}

/** The frontend's `createConversation(title)` (src/api/conversations.ts); returns the body. */
export async function createConversation(title) {
  const res = await frontendFetch("/conversations", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ title }),
  });
  return json(res, 200, "POST /conversations");
}

/** Reads a JSON body, checking the status first (with the body in the message). */
export async function json(res, status, what) {
  const text = await res.text();
  assert.equal(res.status, status, `${what}: status ${res.status}, body ${text}`);
  const type = res.headers.get("content-type") || "";
  assert.match(type, /^application\/json/, `${what}: JSON content type, got \`${type}\` with body ${text}`);
  return JSON.parse(text);
}

/** The checked-in spec the client is generated from, and the one the server serves. */
export async function servedSpec() {
  const res = await fetch(`${BASE}/openapi.json`);
  assert.equal(res.status, 200, "GET /openapi.json");
  return res.json();
}

/**
 * Fails (never skips) when the server does not serve a part of the API yet, so a missing
 * feature shows up in the report as the reason, instead of as a confusing 404 further down.
 */
export async function requireFeature(what, pathInSpec) {
  const spec = await servedSpec();
  assert.ok(
    Object.keys(spec.paths).some((p) => p === pathInSpec || p.startsWith(`${pathInSpec}/`)),
    `${what} is not served yet: ${pathInSpec} is absent from /openapi.json`,
  );
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Asserts `obj` has exactly-typed fields: `{name: "integer" | "string" | "string?" | ...}`. */
export function expectShape(obj, fields, what) {
  assert.equal(typeof obj, "object", `${what} is an object`);
  assert.notEqual(obj, null, `${what} is not null`);
  for (const [key, kind] of Object.entries(fields)) {
    const nullable = kind.endsWith("?");
    const base = nullable ? kind.slice(0, -1) : kind;
    assert.ok(key in obj, `${what} has \`${key}\` (${JSON.stringify(obj)})`);
    const v = obj[key];
    if (v === null) {
      assert.ok(nullable, `${what}.${key} is not null`);
      continue;
    }
    const ok = {
      integer: () => Number.isInteger(v),
      string: () => typeof v === "string",
      boolean: () => typeof v === "boolean",
      datetime: () => typeof v === "string" && ISO_DATE.test(v) && !Number.isNaN(Date.parse(v)),
      array: () => Array.isArray(v),
      object: () => typeof v === "object" && !Array.isArray(v),
    }[base];
    assert.ok(ok, `unknown kind ${base}`);
    assert.ok(ok(), `${what}.${key} is ${kind}, got ${JSON.stringify(v)}`);
  }
}

// The shapes of DESIGN.md's wire contract (the original API's).
export const CONVERSATION = {
  conversation_id: "integer",
  user_id: "integer",
  title: "string?",
  summary_text: "string?",
  created_at: "datetime",
  updated_at: "datetime",
};
export const MESSAGE = {
  message_id: "integer",
  conversation_id: "integer",
  user_id: "integer",
  type: "string",
  content: "string",
  created_at: "datetime",
};
export const MESSAGE_TYPES = ["Human", "AI", "System", "Tool"];
export const USER = {
  user_id: "integer",
  email: "string",
  name: "string?",
  avatar_url: "string?",
  auth_method: "string",
  last_login: "datetime?",
  created_at: "datetime",
};
export const CONNECTION = {
  connection_id: "integer",
  user_id: "integer",
  toolkit_slug: "string",
  connection_status: "string",
  connected_account_id: "string?",
  auth_config_id: "string?",
  connection_request_id: "string?",
  last_synced_at: "datetime?",
  error_message: "string?",
  created_at: "datetime",
  updated_at: "datetime",
};
export const CONNECTION_STATUSES = ["pending", "active", "failed", "disconnected"];
export const SUPPORTED_TOOLKITS = ["GOOGLECALENDAR", "NOTION", "SLACKBOT", "GMAIL", "GOOGLETASKS", "TWITTER"];

export function expectMessage(m, what) {
  expectShape(m, MESSAGE, what);
  assert.ok(MESSAGE_TYPES.includes(m.type), `${what}.type is one of ${MESSAGE_TYPES}, got ${m.type}`);
}

export function expectConnection(c, what) {
  expectShape(c, CONNECTION, what);
  assert.ok(
    CONNECTION_STATUSES.includes(c.connection_status),
    `${what}.connection_status is one of ${CONNECTION_STATUSES}, got ${c.connection_status}`,
  );
}

/** A unique title, so concurrent test files never confuse their conversations. */
export function uniqueTitle(prefix) {
  return `${prefix} ${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Phrases the test server's fake model (tests/compat_suite.rs) answers with a tool call, once
 * each: the calendar event and the task wait for the person's approval. Against a server on a
 * real model these tests cannot run.
 */
export const TOOL_TRIGGERS = {
  calendarThenYes: "[compat: calendar, then yes]",
  calendarThenOther: "[compat: calendar, then something else]",
  taskThroughTheClient: "[compat: a task through the client]",
};

/** Connects a toolkit for the signed-in user as the frontend does: connect, then sync until active. */
export async function connectToolkit(slug) {
  const connect = await json(
    await frontendFetch(`/toolkits/connect/${slug}`, { method: "POST" }),
    200,
    `POST /toolkits/connect/${slug}`,
  );
  for (let i = 0; i < 50; i++) {
    const res = await frontendFetch(`/toolkits/connections/sync/${connect.connection_request_id}`, { method: "POST" });
    const sync = await json(res, 200, "POST /toolkits/connections/sync/{id}");
    if (sync.connection_status === "active") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${slug} did not become active`);
}
