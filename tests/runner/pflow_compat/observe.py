"""Observe what pflow-cli does with a `.pflow.md` case and write `<name>.observed.json`.

    /tmp/pflowenv/bin/python tests/runner/pflow_compat/observe.py back_edge_default [key=value ...]

Runs `pflow --output-format json <name>.pflow.md` (pflow from a scratch virtual environment
outside this repository: `python3 -m venv /tmp/pflowenv && /tmp/pflowenv/bin/pip install
pflow-cli==0.16.0`) with `__SCRATCH__` replaced by a fresh temporary folder, and keeps only what
its command line printed: the outputs (`outputs_cli_json`), the status and the errors. Nothing of
pflow's is imported; it is run as a program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
PFLOW = os.environ.get("PFLOW", "/tmp/pflowenv/bin/pflow")


def observe(name: str, args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        source = (HERE / f"{name}.pflow.md").read_text().replace("__SCRATCH__", str(scratch))
        workflow = Path(tmp) / f"{name}.pflow.md"
        workflow.write_text(source)
        proc = subprocess.run([PFLOW, "--output-format", "json", str(workflow), *args], capture_output=True, text=True, timeout=300, cwd=tmp)
    text = proc.stdout.replace(str(scratch), "__SCRATCH__")  # paths in messages, as the tests' placeholder
    printed = json.loads(text[text.index("{"):])
    inputs = {}
    for arg in args:
        key, _, value = arg.partition("=")
        try:
            inputs[key] = json.loads(value)
        except ValueError:
            inputs[key] = value
    observed: dict = {"inputs": inputs, "status": "success" if printed.get("success") else "failed"}
    if printed.get("success"):
        observed["outputs_cli_json"] = printed.get("result") or {}
    else:
        observed["error"] = [{k: e[k] for k in ("message", "node_id", "category") if k in e} for e in printed.get("errors") or []]
    observed["observed_from"] = f"{name}.pflow.md with pflow-cli 0.16.0's `pflow --output-format json` (its printed outputs only)"
    return observed


if __name__ == "__main__":
    name, *rest = sys.argv[1:]
    result = observe(name, rest)
    (HERE / f"{name}.observed.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
