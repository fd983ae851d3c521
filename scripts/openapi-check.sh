#!/usr/bin/env bash
# Checks an OpenAPI document the router served (test/Cloister.IntegrationTests/OpenApiDocumentTests writes one and runs this):
#   1. Redocly's recommended rules report no error;
#   2. a TypeScript client generated from it (openapi-typescript) compiles strictly with no hand-written API types or casts;
#   3. with BASE_URL and API_KEY, that client creates, reads, reveals and deletes a token on the server and gets a typed problem.
# Usage: scripts/openapi-check.sh DOCUMENT.json [BASE_URL API_KEY]
# Needs node and npm (the npm registry); the tools' versions are pinned in scripts/openapi-client/package-lock.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
document="$(realpath "${1:?usage: openapi-check.sh DOCUMENT.json [BASE_URL API_KEY]}")"
client="$here/openapi-client"

if ! command -v npm >/dev/null 2>&1; then
  echo "openapi-check: npm is required (Debian: apt-get install npm)" >&2
  exit 2
fi

cd "$client"
if [[ ! -x node_modules/.bin/redocly || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "openapi-check: installing the pinned tools (npm ci)…" >&2
  npm ci --no-audit --no-fund --silent
fi

echo "openapi-check: redocly lint --extends=recommended" >&2
node_modules/.bin/redocly lint --extends=recommended --format=summary "$document"

echo "openapi-check: generating the TypeScript client and compiling it" >&2
rm -rf generated out
node_modules/.bin/openapi-typescript "$document" -o generated/api.d.ts --silent
node_modules/.bin/tsc -p tsconfig.json

if [[ $# -ge 3 ]]; then
  echo "openapi-check: calling the server through the generated client" >&2
  node out/smoke.js "$2" "$3"
fi
echo "openapi-check: ok"
