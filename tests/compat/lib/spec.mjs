// The checked-in spec (openapi/openapi.json, which openapi/client is generated from) and a small
// validator of responses against it: the generated types are only as true as the spec.
import { readFileSync } from "node:fs";

export const SPEC = JSON.parse(readFileSync(new URL("../../../openapi/openapi.json", import.meta.url), "utf8"));

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function resolve(schema) {
  while (schema && schema.$ref) {
    const name = schema.$ref.replace(/^#\/components\/schemas\//, "");
    schema = SPEC.components?.schemas?.[name];
    if (!schema) throw new Error(`unresolvable $ref ${name}`);
  }
  return schema;
}

function typeOf(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** The ways `value` violates `schema` (OpenAPI 3.0 subset), as `$.path: problem` lines. */
export function violations(schema, value, at = "$") {
  schema = resolve(schema);
  if (!schema || Object.keys(schema).length === 0) return [];
  if (value === null) return schema.nullable ? [] : [`${at}: null, but the spec does not say nullable`];
  const out = [];
  for (const sub of schema.allOf || []) out.push(...violations(sub, value, at));
  for (const key of ["oneOf", "anyOf"]) {
    if (schema[key] && !schema[key].some((sub) => violations(sub, value, at).length === 0)) {
      out.push(`${at}: matches none of ${key}`);
    }
  }
  if (schema.enum && !schema.enum.includes(value)) out.push(`${at}: ${JSON.stringify(value)} not in ${schema.enum}`);
  const t = typeOf(value);
  if (schema.type) {
    const ok = schema.type === t || (schema.type === "number" && t === "integer");
    if (!ok) return [...out, `${at}: ${schema.type} expected, got ${t} ${JSON.stringify(value)}`];
  }
  if (schema.format === "date-time" && !(DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)))) {
    out.push(`${at}: not an RFC 3339 date-time: ${value}`);
  }
  if (t === "array" && schema.items) value.forEach((v, i) => out.push(...violations(schema.items, v, `${at}[${i}]`)));
  if (t === "object") {
    for (const key of schema.required || []) if (!(key in value)) out.push(`${at}.${key}: required, missing`);
    for (const [key, v] of Object.entries(value)) {
      const prop = schema.properties?.[key];
      if (prop) out.push(...violations(prop, v, `${at}.${key}`));
      else if (schema.additionalProperties === false) out.push(`${at}.${key}: not in the spec`);
      else if (typeof schema.additionalProperties === "object") {
        out.push(...violations(schema.additionalProperties, v, `${at}.${key}`));
      }
    }
  }
  return out;
}

/** The spec's operation for a method and a path template (`/conversations/{conversation_id}`). */
export function operation(method, pathTemplate) {
  const normalized = pathTemplate.length > 1 ? pathTemplate.replace(/\/+$/, "") : pathTemplate;
  return SPEC.paths[normalized]?.[method.toLowerCase()];
}

/** Every operation of the spec, as `METHOD /path`. */
export function allOperations() {
  return Object.entries(SPEC.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

/**
 * An openapi-fetch middleware that holds every response to the spec: the operation exists, the
 * status is documented for it, and a JSON body matches the documented schema. Records the
 * operations it saw in `seen`.
 */
export function conformance(seen = new Set()) {
  return {
    async onResponse({ request, response, schemaPath }) {
      const what = `${request.method} ${schemaPath}`;
      seen.add(`${request.method} ${schemaPath.length > 1 ? schemaPath.replace(/\/+$/, "") : schemaPath}`);
      const op = operation(request.method, schemaPath);
      if (!op) throw new Error(`${what} is not in openapi/openapi.json`);
      const doc = op.responses[String(response.status)] || op.responses.default;
      if (!doc) {
        throw new Error(`${what} answered ${response.status}, which the spec does not document (${Object.keys(op.responses)})`);
      }
      const type = (response.headers.get("content-type") || "").split(";")[0].trim();
      if (type !== "application/json") return undefined;
      const media = Object.entries(doc.content || {}).find(([k]) => k.split(";")[0].trim() === type);
      if (!media) throw new Error(`${what} ${response.status}: a JSON body the spec does not document`);
      const body = await response.clone().json();
      const problems = violations(media[1].schema, body);
      if (problems.length) {
        throw new Error(`${what} ${response.status} does not match the spec:\n  ${problems.join("\n  ")}\n  body: ${JSON.stringify(body)}`);
      }
      return undefined;
    },
  };
}
