#!/usr/bin/env bash
# Set up (if needed) and run the example workflow: validate it, run it, show where the trace went.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/flowtape validate examples/changelog.json
exec .venv/bin/flowtape run examples/changelog.json -i repo=. -i limit=20 "$@"
