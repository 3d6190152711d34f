"""The forkserver's preload (`harness._preload`) holds what a replayed case needs: after it,
replaying a case of each approach imports nothing more of flowtape, jsonschema, the mcp SDK or tiktoken
(of the SDK nothing at all: listings and calls come from the recording),
and the default encoder is already loaded, so no worker's first case pays for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import harness._preload
from harness.accounting._tokens import _encoder
from harness.accounting import DEFAULT_ENCODING
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
print(json.dumps({"loaded": loaded, "misses": _encoder.cache_info().misses, "statuses": statuses, "new": new, "sdk": sdk}))
"""


def test_a_replayed_case_of_each_approach_needs_nothing_the_preload_does_not_hold() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["statuses"] == ["passed", "passed", found["statuses"][2]]  # direct: SmolLM2's answer, whatever it was
    assert found["loaded"] == 1 and found["misses"] == 1  # the encoder came with the preload and was not loaded again
    assert found["new"] == []
    assert found["sdk"] == []  # no module of the mcp SDK (client, server, shared): a replay opens no session
