"""Sandbox start cost: a trivial script (`print("ok")`) through `run_script`, 20 runs, now and
before, reported as a ratio.

    .venv/bin/python benchmarks/sandbox_start.py [--runs 20] [--before REF]

"Before" is the sandbox as it was at git REF (default: the commit before the jail was kept
between scripts, when every script started its own bubblewrap jail and interpreter; the
`--before` of the commit before `_jail.py` was added measures `unshare --net --map-root-user`
with a host working directory), loaded from git into a temporary package, so both are measured
on this machine in one run, in pairs (one right after the other); printed are the medians and the
median, min and max of the per-pair ratios. The first run of each (the probe, the first jail) is
left out.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
def before_ref() -> str:
    """The commit before the one whose bootstrap began to supervise a kept jail."""
    kept = subprocess.run(["git", "log", "--format=%H", "-S", "def _kill_the_rest", "--", "harness/codeexec/_bootstrap.py"],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return f"{kept[-1]}^"


def files_at(ref: str) -> list[str]:
    listed = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:harness/codeexec"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    return [name for name in listed if name.endswith(".py")]


def load_before(ref: str, into: Path):
    """`run_script` of the sandbox at `ref`, as package `sandbox_before` (imports rewritten)."""
    package = into / "sandbox_before"
    package.mkdir()
    for name in files_at(ref):
        text = subprocess.run(["git", "show", f"{ref}:harness/codeexec/{name}"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout
        if name == "__init__.py":
            text = ""
        (package / name).write_text(text.replace("harness.codeexec.", "sandbox_before."))
    sys.path.insert(0, str(into))
    return importlib.import_module("sandbox_before._sandbox").run_script


def paired(old_run, new_run, script: Path, runs: int) -> tuple[list[float], list[float]]:
    """Start times of both sandboxes, run in pairs (one right after the other: the same load)."""
    old_run(script), new_run(script)  # the probe runs once per process: not part of the start cost
    old, new = [], []
    for _ in range(runs):
        for run_script, times in ((old_run, old), (new_run, new)):
            started = time.perf_counter()
            result = run_script(script)
            times.append(time.perf_counter() - started)
            assert result.ended == "ok" and result.stdout == "ok\n", result
    return old, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", help="git ref of the sandbox to compare against")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from harness.codeexec import run_script

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "trivial.py"
        script.write_text('print("ok")\n')
        ref = args.before or before_ref()
        old, new = paired(load_before(ref, Path(tmp)), run_script, script, args.runs)
    ratios = sorted(n / o for o, n in zip(old, new))
    print(f"before ({ref}): median {statistics.median(old) * 1000:.1f} ms (min {min(old) * 1000:.1f}, max {max(old) * 1000:.1f}) over {args.runs} runs")
    print(f"after  (a kept jail, a fork per script): median {statistics.median(new) * 1000:.1f} ms (min {min(new) * 1000:.1f}, max {max(new) * 1000:.1f})")
    print(f"ratio after/before per pair: median {statistics.median(ratios):.2f}x (min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x)")


if __name__ == "__main__":
    main()
