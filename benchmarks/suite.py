"""The suite at scale: 1,000 generated cases x 5 steps, replayed with evaluation and the ledger on
2 workers, as `flowtape test` runs them. Reports cases/s and the ledger's share of the time.
Target (issue 13): <= 4 s. In the same run, pydantic-evals evaluates a dataset of as many cases
(a task that does nothing, five deterministic evaluators) from its own environment
(`.venv-bench/pydantic-evals`, created with pip on first use; `--no-pydantic-evals` skips it),
and both rates are printed side by side. Last, the floor the workflow's shell commands set: the
same two commands per case, run bare (`subprocess.run` of `sh -c`) in as many processes.

    .venv/bin/python benchmarks/suite.py [--cases 1000] [--workers 2] [--no-pydantic-evals]

The generated task has five steps: three `convert_time` calls to mcp-server-time and two shell
nodes. ONE case is recorded live against the real server; the other cases are copies of that
recording under their own names (same inputs), so every case replays a real recording through
its own cassette file. Everything happens in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _generated import generate_suite
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
    parser.add_argument("--no-pydantic-evals", action="store_true", help="do not measure pydantic-evals beside flowtape")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_suite(root, args.cases, WORKFLOW, CASE)
        options = SuiteOptions(suite=root / "suite", workers=args.workers, ledger=root / "ledger.duckdb",
                               cassettes=root / "cassettes", traces=root / "traces")
        first: list[float] = []

        def progress(unit: object, done: int, total: int) -> None:
            if done == 1:
                first.append(time.perf_counter() - started)

        started = time.perf_counter()
        result = run_suite(options, progress=progress)
        seconds = time.perf_counter() - started
    passed = sum(u.status == "passed" for u in result.units)
    durations = sorted(u.duration_ms for u in result.units)
    print(f"{len(result.units)} cases x 5 steps, {args.workers} workers: {passed} passed")
    print(f"  wall time        {seconds:8.2f} s   (target <= 4 s)")
    print(f"  cases/s          {len(result.units) / seconds:8.1f}")
    print(f"  first case done  {first[0]:8.2f} s   (the plan, the workers' start and their first case)")
    print(f"  per case         {statistics.median(durations):8.1f} ms median in a worker, {sum(durations) / 1000:.2f} s in all "
          "(replay, judging, trace and rows; not the trace write or the ledger commit)")
    if not args.no_pydantic_evals:
        side = _pydantic_evals(args.cases)
        print(f"  pydantic-evals {side['version']}: {side['cases']} no-op cases x 5 evaluators in {side['seconds']:.2f} s, "
              f"{side['cases_per_s']:.1f} cases/s; flowtape's rate is {len(result.units) / seconds / side['cases_per_s']:.3f}x of it "
              "(flowtape replays 5 recorded steps and writes a trace and the ledger per case; pydantic-evals calls a no-op task)")
    print(f"  ledger           {result.ledger_seconds:8.2f} s in the parent, which alone writes it: rows and merge "
          f"({100 * result.ledger_seconds / seconds:.1f}% of the wall time)")
    floor = _commands_floor(args.cases, args.workers)
    print(f"  shell floor      {floor:8.2f} s   the workflow's two commands alone for {args.cases} cases, bare subprocess.run of "
          f"`sh -c` in {args.workers} processes, nothing else (flowtape's wall time is {seconds / floor:.2f}x it)")
    if passed != len(result.units):
        sys.exit(1)


def _commands_floor(cases: int, workers: int) -> float:
    """Seconds the two shell commands of every case take with nothing around them: each of
    `workers` processes runs its share of the cases' `printf` and `wc -w` (with the first's
    output on stdin) through `sh -c`, as the shell node does."""
    from concurrent.futures import ProcessPoolExecutor

    share = [cases // workers + (i < cases % workers) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_commands, [1] * workers))  # the processes started before the clock does
        started = time.perf_counter()
        list(pool.map(_commands, share))
        return time.perf_counter() - started


def _commands(n: int) -> None:
    for _ in range(n):
        joined = subprocess.run(["/bin/sh", "-c", "printf '%s %s %s' +9.0h +1.0h -5.0h"], capture_output=True, text=True, check=True).stdout
        subprocess.run(["/bin/sh", "-c", "wc -w"], input=joined, capture_output=True, text=True, check=True)


def _pydantic_evals(cases: int) -> dict:
    """Measure pydantic-evals from its own environment, made on first use."""
    root = Path(__file__).resolve().parents[1]
    env = root / ".venv-bench" / "pydantic-evals"
    python = env / "bin" / "python"
    if not python.exists():
        print(f"  (creating {env} with pydantic-evals: once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pydantic-evals==2.62.0"], check=True)
    done = subprocess.run([str(python), str(Path(__file__).with_name("pydantic_evals_side.py")), "--cases", str(cases)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
