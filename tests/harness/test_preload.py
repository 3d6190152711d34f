"""The forkserver's preload (`harness._preload`) holds what a replayed case needs: after it,
replaying a case of each approach imports nothing more of flowtape, jsonschema, the mcp SDK or tiktoken
(of the SDK nothing at all: listings and calls come from the recording; nor `mcp_types`, DuckDB or
deepdiff), so no worker's first case pays for them; and once the recorded results were counted,
a replay loads no encoder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import harness._preload
from harness.accounting._tokens import _encoder
loaded = _encoder.cache_info().currsize
before = set(sys.modules)
from pathlib import Path
from harness.goldens import load_task
from harness.suite import run_case
task = load_task(Path("goldens/meeting-times"))
statuses = []
for approach in ("ir", "code", "direct"):
    run = run_case(task, task.cases[0], cassettes=Path("cassettes"), mode="none", ci=True, evaluate=True, approach=approach)
    statuses.append(run.trace.status.value)
new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("harness", "runner", "mcp", "tiktoken", "tiktoken_ext", "jsonschema", "litellm", "vcr"))
sdk = sorted(m for m in sys.modules if m == "mcp" or m.startswith("mcp."))
heavy = sorted(m for m in ("mcp_types", "duckdb", "deepdiff", "numpy", "asyncio") if m in sys.modules)
from harness.accounting._tokens import save_counts
save_counts()
print(json.dumps({"loaded": loaded, "encoders": _encoder.cache_info().currsize, "statuses": statuses, "new": new, "sdk": sdk, "heavy": heavy}))
"""


def test_a_replayed_case_of_each_approach_needs_nothing_the_preload_does_not_hold(tmp_path) -> None:
    env = {**os.environ, "FLOWTAPE_CACHE_DIR": str(tmp_path / "cache")}  # empty: the counts are not there yet
    cold, warm = (_replay(env) for _ in range(2))
    assert cold["statuses"] == ["passed", "passed", cold["statuses"][2]]  # direct: SmolLM2's answer, whatever it was
    assert cold["new"] == warm["new"] == []
    assert cold["sdk"] == warm["sdk"] == []  # no module of the mcp SDK (client, server, shared): a replay opens no session
    # ...nor its types' models (results of the common shape are read as they are), DuckDB (the
    # rows go to the parent), deepdiff (values that are equal need no diff) or asyncio (no session)
    assert cold["heavy"] == warm["heavy"] == []
    assert (cold["loaded"], cold["encoders"]) == (0, 1)  # not preloaded; loaded to count the results once
    assert (warm["loaded"], warm["encoders"]) == (0, 0)  # their counts came from the cache: no encoder at all
    assert warm["statuses"] == cold["statuses"]


def _replay(env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
