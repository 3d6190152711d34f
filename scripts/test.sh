#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Debian's Chromium, for the test that opens the HTML report headless (needs root or sudo).
bash scripts/install_browser.sh
# flowtape's own modules compiled once: where PYTHONDONTWRITEBYTECODE is set (as on CI), every
# `flowtape` subprocess a test starts would otherwise compile harness/ and runner/ again.
.venv/bin/python -m compileall -q harness runner >/dev/null
exec .venv/bin/python -m pytest "$@"
