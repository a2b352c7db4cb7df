#!/usr/bin/env bash
# The README's main job: set the machine up (scripts/setup.sh), then run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node packages/cli/bin/tcpls.js demo "$@"
