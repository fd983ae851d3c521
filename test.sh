#!/usr/bin/env bash
# Runs the whole test suite (unit, integration, real server processes) and prints a one-line summary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
# shellcheck source=scripts/prereqs.sh
source scripts/prereqs.sh
cloister_require_dotnet
# The sandbox tests run on real gVisor and bubblewrap with Debian's python3 and node; anything
# missing fails them.
cloister_function_prereqs

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
dotnet test Cloister.slnx -c Release --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [[ "${passed:-0}" -eq 0 && $status -eq 0 ]]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
