"""Runner overhead: an N-node shell workflow whose values grow against the same N commands run
with bare `subprocess.run`, measured in one run, reported as a ratio (target: <= 2x), at 20 and
at 2,000 nodes by default.

    .venv/bin/python benchmarks/runner_overhead.py [--nodes 20 2000] [--repeat 10 3]

Node i runs `echo ${n<i-1>.stdout} i`: its command includes the previous node's whole output, so
the rendered values grow with the workflow (at 2,000 nodes the last value is ~9 KB and the run
renders ~9 MB of values in all), and the runner does its real work (validation, template
resolution, quoting, tracing); the bare baseline runs the already-resolved commands, the value
spliced into the text. The two run in pairs, one right after the other, so both see the same
machine load; printed are the median of each and the median, min and max of the per-pair ratios
(runner / bare), never a ratio of two minima (which pairs the luckiest run of each).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from runner import Runtime, execute
from runner.executor import _CHECKED


def workflow(n: int) -> dict:
    nodes = [{"id": "n0", "type": "shell", "params": {"command": "echo 0"}}]
    nodes += [{"id": f"n{i}", "type": "shell", "params": {"command": f"echo ${{n{i - 1}.stdout}} {i}"}} for i in range(1, n)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(n - 1)]
    return {"ir_version": "0.1.0", "nodes": nodes, "edges": edges, "outputs": {"last": f"${{n{n - 1}.stdout}}"}}


def bare(base: Path, n: int) -> str:
    out = ""
    for i in range(n):
        command = "echo 0" if i == 0 else f"echo {out} {i}"
        out = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, cwd=base, input="").stdout.rstrip("\n")
    return out


def measure(n: int, repeat: int, base: Path) -> None:
    doc = workflow(n)
    expected = bare(base, n)
    assert execute(doc, base_dir=base).outputs["last"] == expected  # same work, same result
    runner_times, bare_times = [], []
    for _ in range(repeat):
        _CHECKED.clear()  # each run validates its workflow, as a first run of it does
        t = time.perf_counter()
        execute(doc, runtime=Runtime(), base_dir=base)
        runner_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        bare(base, n)
        bare_times.append(time.perf_counter() - t)
    ratios = sorted(r / b for r, b in zip(runner_times, bare_times))
    print(f"{n}-node shell workflow, values growing to {len(expected):,} characters, {repeat} paired runs:")
    print(f"  runner          median {statistics.median(runner_times) * 1000:8.1f} ms  (min {min(runner_times) * 1000:.1f}, max {max(runner_times) * 1000:.1f})")
    print(f"  subprocess.run  median {statistics.median(bare_times) * 1000:8.1f} ms  (min {min(bare_times) * 1000:.1f}, max {max(bare_times) * 1000:.1f})")
    print(f"  ratio per pair  median {statistics.median(ratios):8.2f}x  (min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x; target <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[20, 2000], help="workflow sizes, each measured in turn")
    parser.add_argument("--repeat", type=int, nargs="+", default=[10, 3], help="paired runs per size (the last one repeats for further sizes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(args.nodes):
            measure(n, args.repeat[min(i, len(args.repeat) - 1)], Path(tmp))


if __name__ == "__main__":
    main()
