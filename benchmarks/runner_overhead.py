"""Runner overhead: a 20-node shell workflow against the same 20 commands run with bare
`subprocess.run`, measured in one run, reported as a ratio (target: <= 2x).

    .venv/bin/python benchmarks/runner_overhead.py [--repeat 10]

Each node's command reads the previous node's stdout through a template, so the runner does its
real work (validation, template resolution, quoting, tracing); the bare baseline runs the
already-resolved commands. The two run in pairs, one right after the other, so both see the same
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

N = 20


def workflow() -> dict:
    nodes = [{"id": "n0", "type": "shell", "params": {"command": "echo 0"}}]
    nodes += [{"id": f"n{i}", "type": "shell", "params": {"command": f"echo ${{n{i - 1}.stdout}} {i}"}} for i in range(1, N)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(N - 1)]
    return {"ir_version": "0.1.0", "nodes": nodes, "edges": edges, "outputs": {"last": f"${{n{N - 1}.stdout}}"}}


def bare(base: Path) -> str:
    out = ""
    for i in range(N):
        command = "echo 0" if i == 0 else f"echo {out} {i}"
        out = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, cwd=base, input="").stdout.rstrip("\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    doc = workflow()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        expected = bare(base)
        assert execute(doc, base_dir=base).outputs["last"] == expected  # same work, same result
        runner_times, bare_times = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            execute(doc, runtime=Runtime(), base_dir=base)
            runner_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            bare(base)
            bare_times.append(time.perf_counter() - t)
    ratios = sorted(r / b for r, b in zip(runner_times, bare_times))
    print(f"{N}-node shell workflow, {args.repeat} paired runs:")
    print(f"  runner          median {statistics.median(runner_times) * 1000:8.1f} ms  (min {min(runner_times) * 1000:.1f}, max {max(runner_times) * 1000:.1f})")
    print(f"  subprocess.run  median {statistics.median(bare_times) * 1000:8.1f} ms  (min {min(bare_times) * 1000:.1f}, max {max(bare_times) * 1000:.1f})")
    print(f"  ratio per pair  median {statistics.median(ratios):8.2f}x  (min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x; target <= 2x)")

if __name__ == "__main__":
    main()
