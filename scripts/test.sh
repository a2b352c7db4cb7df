#!/usr/bin/env bash
# Sets the machine up (scripts/setup.sh) and runs the whole test suite. Run as root to include the
# namespace / raw-socket tests; without root they are skipped with the reason printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node scripts/run-tests.mjs "$@"
