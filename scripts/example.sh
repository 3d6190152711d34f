#!/usr/bin/env bash
# Set up (if needed), then replay the shipped golden suite offline from its committed cassettes:
# every step judged, the run added to reports/ledger.duckdb, the report printed. Extra arguments
# go to `flowtape test` (e.g. --workers 2, --task git-release-digest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Exit 1 (a case failed: the shipped direct cases, SmolLM2-135M calling tools itself, do) goes on
# to the ledger; exit 2 (bad input) stops here.
.venv/bin/flowtape test goldens "$@" || test $? -eq 1
echo
echo "Tokens each tool call returned, from the ledger:"
exec .venv/bin/flowtape ledger query "
  SELECT task, step_id, server || '.' || tool AS tool, result_bytes, result_tokens
  FROM tool_calls WHERE run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)
  ORDER BY result_tokens DESC LIMIT 8"
