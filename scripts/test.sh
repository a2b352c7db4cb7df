#!/usr/bin/env bash
# Sets the machine up (scripts/setup.sh) and runs the whole test suite. Run as root to include the
# namespace / raw-socket tests; without root they are skipped with the reason printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: typecheck the tests (tsc -p tsconfig.tests.json)" >&2
npx tsc -p tsconfig.tests.json
exec node scripts/run-tests.mjs "$@"
