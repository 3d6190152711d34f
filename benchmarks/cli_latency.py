"""Whole-process latency of the commands people wait for: `flowtape --help`, `flowtape gate`,
`flowtape report` (terminal, markdown, html), on the shipped suite's ledger, and the replay of
the whole shipped suite (`flowtape test goldens -w 2`), beside the floor of starting this Python
at all (`python -c pass`), measured in one run.

    .venv/bin/python benchmarks/cli_latency.py [--ledger L] [--repeat 7]

Targets (issue 13): gate and report terminal|markdown <= 0.6 s, report html <= 1.5 s,
`--help` <= 0.15 s of CPU, `flowtape test goldens -w 2` <= 2 s with each worker's first case no
slower than 3x the median case (printed from its `--format json` durations). Each command runs `--repeat` times after one warm-up run (which fills
the OS page cache and flowtape's own cache, `harness._cache`); the gate is also run with an
empty cache each time (`cold cache`: every cassette read and counted). Printed per command: the
median wall time with its min and max, the median CPU (user + system of the child), and the
median of the per-repeat ratios to the floor measured right beside it.

Without `--ledger`, the ledger is made first: `flowtape test goldens -w 2` and `flowtape compare`
(so the gate finds the run accounted, as in CI after compare), ~1 minute.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FLOWTAPE = str(BIN / "flowtape")


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `argv`; its output is discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # the gate fails the shipped suite's direct cases: exit 1 is a verdict
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_ledger(folder: Path) -> Path:
    ledger = folder / "ledger.duckdb"
    print("making the ledger: flowtape test goldens -w 2, then flowtape compare ...", flush=True)
    subprocess.run([FLOWTAPE, "test", "goldens", "-w", "2", "--ledger", str(ledger)], cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
    subprocess.run([FLOWTAPE, "compare", "goldens", "--ledger", str(ledger)], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", type=Path, help="an existing ledger of the shipped suite (default: make one)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ledger = args.ledger.resolve() if args.ledger else make_ledger(folder)
        html = folder / "report.html"
        warm = {**os.environ, "COLUMNS": "100"}
        commands = {
            "python -c pass (floor)": ([sys.executable, "-c", "pass"], None),
            "flowtape --help": ([FLOWTAPE, "--help"], None),
            "flowtape gate": ([FLOWTAPE, "gate", "--ledger", str(ledger)], 0.6),
            "flowtape gate (cold cache)": ([FLOWTAPE, "gate", "--ledger", str(ledger)], None),
            "flowtape report": ([FLOWTAPE, "report", "--ledger", str(ledger)], 0.6),
            "flowtape report --format markdown": ([FLOWTAPE, "report", "--format", "markdown", "--ledger", str(ledger)], 0.6),
            "flowtape report --format html": ([FLOWTAPE, "report", "--format", "html", "--out", str(html), "--ledger", str(ledger)], 1.5),
            "flowtape test goldens -w 2": ([FLOWTAPE, "test", "goldens", "-w", "2", "--format", "json", "--ledger", str(folder / "test.duckdb"),
                                            "--trace-dir", str(folder / "traces")], 2.0),
        }
        for argv, _ in commands.values():
            timed(argv, warm)  # warm-up: page cache, flowtape's cache
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        ratios: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            floor, _cpu = timed(commands["python -c pass (floor)"][0], warm)
            for name, (argv, _target) in commands.items():
                env = warm
                if name.endswith("(cold cache)"):
                    cold = folder / f"cache-{time.monotonic_ns()}"
                    env = {**warm, "FLOWTAPE_CACHE_DIR": str(cold)}
                wall, cpu = timed(argv, env)
                if name.endswith("(cold cache)"):
                    shutil.rmtree(cold, ignore_errors=True)
                walls[name].append(wall)
                cpus[name].append(cpu)
                ratios[name].append(wall / floor)
    first_case = first_case_ratios(commands["flowtape test goldens -w 2"][0], warm)
    print(f"whole process, {args.repeat} runs each ({os.cpu_count()} cores; ledger {ledger}):")
    print(f"  {'command':36} {'wall median':>11} {'min':>7} {'max':>7} {'CPU median':>10} {'x floor':>8}  target")
    for name, (_argv, target) in commands.items():
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        verdict = ""
        if target is not None:
            verdict = f"<= {target} s wall: {'met' if wall <= target else 'NOT met'}"
        elif name == "flowtape --help":
            verdict = f"<= 0.15 s CPU: {'met' if cpu <= 0.15 else 'NOT met'}"
        print(f"  {name:36} {wall:9.3f} s {min(walls[name]):7.3f} {max(walls[name]):7.3f} {cpu:8.3f} s {statistics.median(ratios[name]):7.1f}x  {verdict}")
    print(f"flowtape test goldens -w 2, each worker's first case against the median case: {first_case}")


def first_case_ratios(argv: list[str], env: dict[str, str]) -> str:
    """One more `flowtape test` run: the slower of the two workers' first cases over the median
    case (each worker is handed `suiterun.AHEAD` units in plan order at the start)."""
    import json

    from harness.suiterun import AHEAD

    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    units = json.loads(done.stdout)["units"]
    durations = [u["duration_ms"] for u in units]
    median, first = statistics.median(durations), max(durations[0], durations[AHEAD])
    return (f"first {first:.0f} ms, median {median:.0f} ms ({first / median:.1f}x; target <= 3x), "
            f"slowest {max(durations):.0f} ms ({max(durations) / median:.1f}x)")


if __name__ == "__main__":
    main()
