"""A generated suite for the benchmarks: one task (`gen`) over mcp-server-time, its first case
recorded live against the real server, the other cases copies of that recording under their own
names (same inputs), so every case replays a real recording from its own cassette file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from harness.goldens import load_suite
from harness.suite import run_case

TASK_YAML = "version: 1\ndescription: generated\nservers:\n  time: {command: '${BIN}/mcp-server-time', args: [--local-timezone, UTC]}\n"


def generate_suite(root: Path, cases: int, workflow: dict[str, Any], case: str) -> None:
    """Write `root/suite/gen` with `cases` cases of `case` (golden YAML) over `workflow`, and their
    cassettes under `root/cassettes/gen` (the first recorded live, the rest copied)."""
    task = root / "suite" / "gen"
    (task / "cases").mkdir(parents=True)
    (task / "task.yaml").write_text(TASK_YAML)
    (task / "workflow.json").write_text(json.dumps(workflow))
    (task / "cases" / "case-00000.yaml").write_text(case)
    [loaded] = load_suite(root / "suite")
    live = run_case(loaded, loaded.cases[0], cassettes=root / "cassettes", mode="all", evaluate=True)
    assert live.passed, (live.trace.error, [r for r in live.evaluations if not r.passed])
    recorded = root / "cassettes" / "gen" / "case-00000.ir.yaml"
    for i in range(1, cases):
        (task / "cases" / f"case-{i:05d}.yaml").write_text(case)
        shutil.copyfile(recorded, recorded.with_name(f"case-{i:05d}.ir.yaml"))
