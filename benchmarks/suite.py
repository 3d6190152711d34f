"""The suite at scale: 1,000 generated cases x 5 steps, replayed with evaluation and the ledger on
2 workers, as `flowtape test` runs them. Reports cases/s and the ledger's share of the time.
Target: <= 10 s.

    .venv/bin/python benchmarks/suite.py [--cases 1000] [--workers 2]

The generated task has five steps: three `convert_time` calls to mcp-server-time and two shell
nodes. ONE case is recorded live against the real server; the other cases are copies of that
recording under their own names (same inputs), so every case replays a real recording through
its own cassette file. Everything happens in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness.goldens import load_suite
from harness.suite import run_case
from harness.suiterun import SuiteOptions, run_suite

WORKFLOW = {
    "ir_version": "0.1.0",
    "inputs": {"t": {"type": "string"}},
    "nodes": [
        {"id": "tokyo", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "Asia/Tokyo"}},
        {"id": "paris", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "Europe/Paris"}},
        {"id": "lima", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "America/Lima"}},
        {"id": "join", "type": "shell", "params": {"command": "printf '%s %s %s' ${tokyo.result.time_difference} ${paris.result.time_difference} ${lima.result.time_difference}"}},
        {"id": "count", "type": "shell", "params": {"command": "wc -w", "stdin": "${join.stdout}"}},
    ],
    "edges": [{"from": "tokyo", "to": "paris"}, {"from": "paris", "to": "lima"}, {"from": "lima", "to": "join"}, {"from": "join", "to": "count"}],
    "outputs": {"diffs": "${join.stdout}", "n": "${count.stdout}"},
}
CASE = """version: 1
inputs: {t: "12:00"}
steps:
  tokyo: [{Contains: Asia/Tokyo}]
  paris: [{MaxResultTokens: 400}]
  lima: [StepRan]
  join: [{Regex: '^\\+9\\.0h '}]
outputs:
  n: [{Equals: 3}]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        task = root / "suite" / "gen"
        (task / "cases").mkdir(parents=True)
        (task / "task.yaml").write_text("version: 1\ndescription: generated\nservers:\n  time: {command: '${BIN}/mcp-server-time', args: [--local-timezone, UTC]}\n")
        (task / "workflow.json").write_text(json.dumps(WORKFLOW))
        (task / "cases" / "case-00000.yaml").write_text(CASE)
        [loaded] = load_suite(root / "suite")
        live = run_case(loaded, loaded.cases[0], cassettes=root / "cassettes", mode="all", evaluate=True)
        assert live.passed, (live.trace.error, [r for r in live.evaluations if not r.passed])
        recorded = root / "cassettes" / "gen" / "case-00000.ir.yaml"
        for i in range(1, args.cases):
            (task / "cases" / f"case-{i:05d}.yaml").write_text(CASE)
            shutil.copyfile(recorded, recorded.with_name(f"case-{i:05d}.ir.yaml"))
        options = SuiteOptions(suite=root / "suite", workers=args.workers, ledger=root / "ledger.duckdb",
                               cassettes=root / "cassettes", traces=root / "traces")
        started = time.perf_counter()
        result = run_suite(options)
        seconds = time.perf_counter() - started
    passed = sum(u.status == "passed" for u in result.units)
    print(f"{len(result.units)} cases x 5 steps, {args.workers} workers: {passed} passed")
    print(f"  wall time        {seconds:8.2f} s   (target <= 10 s)")
    print(f"  cases/s          {len(result.units) / seconds:8.1f}")
    print(f"  ledger           {result.ledger_seconds:8.2f} s of worker+merge time ({100 * result.ledger_seconds / (seconds * args.workers):.1f}% of {args.workers} workers' time)")
    if passed != len(result.units):
        sys.exit(1)


if __name__ == "__main__":
    main()
