#!/usr/bin/env bash
# CI check of the generated TypeScript client: it matches openapi/openapi.json and type-checks.
#
#   bash openapi/client/check.sh
#
# 1. installs the locked dependencies (`npm ci`), skipped when node_modules was installed from
#    the same package-lock.json;
# 2. regenerates the types from ../openapi.json into a temporary file and compares them with the
#    checked-in src/schema.d.ts (fix a difference with `npm run generate` in openapi/client);
# 3. type-checks the client (`tsc --noEmit`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v npm >/dev/null || { echo "openapi/client: npm is required" >&2; exit 1; }

stamp=node_modules/.meai-lock-sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$want" >"$stamp"
else
  echo "openapi/client: node_modules is current with package-lock.json"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npx --no-install openapi-typescript ../openapi.json --output "$tmp/schema.d.ts" >/dev/null
if ! diff -u src/schema.d.ts "$tmp/schema.d.ts"; then
  echo "openapi/client/src/schema.d.ts is stale: run \`npm run generate\` in openapi/client" >&2
  exit 1
fi
echo "openapi/client/src/schema.d.ts matches openapi/openapi.json"

npx --no-install tsc --noEmit
echo "openapi/client type-checks"
