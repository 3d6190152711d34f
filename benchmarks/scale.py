"""Past one machine: a synthetic replayed suite of N units (default 20,000) run with
`--executor local` (2 worker processes) and `--executor ray` (a one-node Ray cluster with 2
CPUs, started here unless `--address` names one), units/s for each, and the driver's cost per
1,000 units: what the one process that writes the ledger spends on each unit (adding its rows
to the driver's part, writing its trace) and on merging the part into DuckDB at the end.

    .venv/bin/python benchmarks/scale.py [--units 20000] [--address HOST:PORT] [--skip local|ray]

The unit: a task of one `convert_time` call to mcp-server-time and one output check. One case is
recorded live against the real server; the others are copies of that recording under their own
names, so every unit replays a real recording from its own cassette file. Everything happens in
a temporary folder. The driver's cost is measured apart from the runs, in this process, on the
rows and trace of a real replayed unit, so it is the driver's alone (in a run it shares the
machine with the workers). This machine (2 cores) is shared with other work: the figures say
what it did then, not what an idle machine does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _generated import generate_suite
from harness.goldens import load_suite
from harness.suiterun import SuiteOptions, replay_unit, run_suite, write_outcome

BIN = Path(sys.executable).parent
WORKFLOW = {
    "ir_version": "0.1.0",
    "inputs": {"t": {"type": "string"}},
    "nodes": [{"id": "tokyo", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "Asia/Tokyo"}}],
    "edges": [],
    "outputs": {"diff": "${tokyo.result.time_difference}"},
}
CASE = 'version: 1\ninputs: {t: "12:00"}\noutputs:\n  diff: [{Equals: "+9.0h"}]\n'


def timed_run(root: Path, name: str, **executor: object) -> tuple[int, int, float]:
    """(units, passed, seconds) of one `run_suite` over the generated suite."""
    options = SuiteOptions(suite=root / "suite", workers=2, ledger=root / f"{name}.duckdb", cassettes=root / "cassettes",
                           traces=root / f"traces-{name}", **executor)  # type: ignore[arg-type]
    started = time.perf_counter()
    result = run_suite(options)
    seconds = time.perf_counter() - started
    return len(result.units), sum(u.status == "passed" for u in result.units), seconds


def driver_cost(root: Path, count: int) -> tuple[float, float]:
    """Seconds the driver spends per `count` units: (adding rows + writing traces, merging)."""
    from harness.accounting import Ledger, LedgerPart

    [task] = load_suite(root / "suite", case="case-00000")
    options = SuiteOptions(suite=root / "suite", cassettes=root / "cassettes", traces=root / "driver-traces")
    ledger = Ledger(root / "driver.duckdb")
    ledger.start_run("bench", "suite", {})
    first = replay_unit(task, task.cases[0], "ir", task.spec.llm.model, "bench", options)
    ledger.parts_dir("bench").mkdir(parents=True)
    part = LedgerPart(ledger.parts_dir("bench") / "driver.duckdb", commit_every=0.5)  # as the Ray driver's part

    started = time.perf_counter()
    for i in range(count):  # each unit its own case key, as a run's units are
        rows = {table: [(*row[:2], f"case-{i:05d}", *row[3:]) for row in table_rows] for table, table_rows in first.rows.items()}
        write_outcome(part, replace(first, rows=rows, trace_path=options.traces / "bench" / f"t-{i:05d}.json"))
    part.close()
    added = time.perf_counter() - started
    started = time.perf_counter()
    merged = ledger.merge_parts("bench")
    merge = time.perf_counter() - started
    ledger.close()
    assert merged == count, (merged, count)
    return added, merge


def start_cluster(temp: str) -> str:
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    subprocess.run([str(BIN / "ray"), "start", "--head", "--num-cpus", "2", "--temp-dir", temp, "--port", str(ports[0]),
                    "--node-ip-address", "127.0.0.1", "--include-dashboard", "false", "--disable-usage-stats",
                    "--ray-client-server-port", str(ports[1])], check=True, capture_output=True)
    return f"127.0.0.1:{ports[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--address", default=None, help="a running Ray cluster (default: start a one-node cluster with 2 CPUs here)")
    parser.add_argument("--skip", choices=["local", "ray"], default=None)
    args = parser.parse_args()
    os.environ["CI"] = "true"
    with tempfile.TemporaryDirectory(prefix="ft-scale-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        generate_suite(root, args.units, WORKFLOW, CASE)
        print(f"{args.units} units generated in {time.perf_counter() - began:.0f} s (one live recording, copied)", flush=True)
        for name in ("local", "ray"):
            if args.skip == name:
                continue
            if name == "local":
                units, passed, seconds = timed_run(root, name)
                print(f"local, 2 worker processes: {units} units ({passed} passed) in {seconds:.1f} s = {units / seconds:.1f} units/s", flush=True)
                continue
            temp = tempfile.mkdtemp(prefix="ft-ray-", dir="/tmp")
            address = args.address or start_cluster(temp)
            try:
                units, passed, seconds = timed_run(root, name, executor="ray", address=address)
            finally:
                if args.address is None:
                    subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True)
                shutil.rmtree(temp, ignore_errors=True)
            print(f"ray, one node, 2 CPUs: {units} units ({passed} passed) in {seconds:.1f} s = {units / seconds:.1f} units/s", flush=True)
        for count in (1000, 20000):  # the driver alone, on one real unit's rows: its cost does not depend on the suite run above
            for leftover in root.glob("driver*"):
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
            added, merge = driver_cost(root, count)
            print(f"driver, {count} units: rows + traces {added:.2f} s, merge into DuckDB {merge:.2f} s "
                  f"= {1000 * (added + merge) / count:.2f} s per 1,000 units ({count / (added + merge):.0f} units/s at most)", flush=True)


if __name__ == "__main__":
    main()
