// CORS as the browser runs it for the frontend on its own origin (the server's ALLOWED_ORIGIN):
// a preflight before every non-simple request, sent with credentials, must be allowed for
// exactly that origin (never `*`, which browsers refuse with credentials).
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, ORIGIN } from "./lib/server.mjs";

async function preflight(path, method, requestHeaders, origin = ORIGIN) {
  const headers = { origin, "access-control-request-method": method };
  if (requestHeaders) headers["access-control-request-headers"] = requestHeaders;
  return fetch(`${BASE}${path}`, { method: "OPTIONS", headers });
}

function listed(header, value) {
  return (header || "")
    .split(",")
    .map((v) => v.trim().toLowerCase())
    .some((v) => v === value.toLowerCase() || v === "*");
}

// Every non-simple request the frontend makes (JSON bodies, PATCH and DELETE).
const PREFLIGHTED = [
  ["/conversations", "POST", "content-type"],
  ["/conversations/1", "PATCH", "content-type"],
  ["/conversations/1", "DELETE", null],
  ["/conversations/1/messages/1", "DELETE", null],
  ["/toolkits/disable/GMAIL", "DELETE", null],
  ["/toolkits/connect/GMAIL", "POST", "content-type"],
];

for (const [path, method, requestHeaders] of PREFLIGHTED) {
  test(`preflight ${method} ${path} from the frontend's origin is allowed with credentials`, async () => {
    const res = await preflight(path, method, requestHeaders);
    assert.ok(res.ok, `preflight status ${res.status}`);
    assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    assert.ok(listed(res.headers.get("access-control-allow-methods"), method), `allows ${method}`);
    if (requestHeaders) {
      assert.ok(listed(res.headers.get("access-control-allow-headers"), requestHeaders), `allows ${requestHeaders}`);
    }
  });
}

test("a preflight from another origin is not allowed", async () => {
  const res = await preflight("/conversations", "POST", "content-type", "http://evil.example");
  assert.notEqual(res.headers.get("access-control-allow-origin"), "http://evil.example");
  assert.notEqual(res.headers.get("access-control-allow-origin"), "*");
});

test("a simple credentialed GET from the frontend's origin is readable by the page", async () => {
  const res = await fetch(`${BASE}/health`, { headers: { origin: ORIGIN } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN);
  assert.equal(res.headers.get("access-control-allow-credentials"), "true");
});
