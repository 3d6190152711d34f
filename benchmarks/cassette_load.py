"""Opening a large cassette: time and peak memory of `Cassette.open` on a YAML cassette of N
interactions (default 100,000), against the floor of reading the same data as compact JSON with
a bare `json.loads`, measured in one run. Targets (issue 13): <= 2x the floor's time and <= 1.5x
its peak RSS.

    .venv/bin/python benchmarks/cassette_load.py [--size 100000] [--repeat 3]

The cassette (MCP `tools/call` interactions with a ~1 KB result each, as `benchmarks/replay.py`
makes them) is written once as YAML, the reviewed source of truth, and as compact JSON for the
floor. Each measurement runs in a fresh process, so its peak RSS (`VmHWM`, which includes the
interpreter and what it imported) is its own:

- floor: read the JSON file, `json.loads` it;
- cold: `Cassette.open` with an empty cache -- the strict YAML read, plus writing the sidecar
  (`harness.cassettes._store`: a JSON copy with the request hashes, in the per-user cache, keyed
  by the YAML file's sha256);
- warm: `Cassette.open` again -- the sidecar read: hash the YAML bytes, `json.loads` the copy,
  validate, build the index from the stored hashes.

Each timing ends with a full `gc.collect()`, so a collection that a load only put off is counted.
Floor and warm run in pairs; printed are the medians and the median, min and max of the per-pair
ratios. Everything happens in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import SERVER, mcp_request, mcp_response  # noqa: E402

# Peak RSS is the process's VmHWM: ru_maxrss would include the parent's peak before exec.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024"

FLOOR = """
import gc, json, sys, time
t = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    data = json.loads(f.read())
loaded = time.perf_counter() - t
gc.collect()
seconds = time.perf_counter() - t
assert len(data["interactions"]) == int(sys.argv[2])
print(json.dumps({"seconds": seconds, "loaded": loaded, "rss_mb": PEAK}))
""".replace("PEAK", PEAK)

OPEN = """
import gc, json, sys, time
from pathlib import Path
from harness.cassettes import Cassette
base = PEAK
t = time.perf_counter()
tape = Cassette.open(Path(sys.argv[1]), "none", ci=True)
loaded = time.perf_counter() - t
gc.collect()
seconds = time.perf_counter() - t
assert len(tape.interactions) == int(sys.argv[2])
print(json.dumps({"seconds": seconds, "loaded": loaded, "rss_mb": PEAK, "base_mb": base}))
""".replace("PEAK", PEAK)


def measure(script: str, *args: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from harness.cassettes import Cassette, RecordMode

    with tempfile.TemporaryDirectory(prefix="flowtape-load-") as tmp:
        folder = Path(tmp)
        yaml_path, json_path = folder / "big.ir.yaml", folder / "big.ir.json"
        print(f"writing a cassette of {args.size:,} interactions ...", flush=True)
        tape = Cassette.open(yaml_path, RecordMode.ALL)
        for i in range(args.size):
            tape.record("mcp", SERVER, f"step-{i}", "tools/call", mcp_request(i), mcp_response(i))
        tape.save(meta={"benchmark": "cassette_load"})
        data = {"version": 1, "meta": tape.meta, "interactions": [item.model_dump(mode="json") for item in tape.interactions]}
        json_path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        del tape, data
        env = {**os.environ, "FLOWTAPE_CACHE_DIR": str(folder / "cache")}
        n = str(args.size)
        cold = measure(OPEN, str(yaml_path), n, env=env)
        floors, warms = [], []
        for _ in range(args.repeat):
            floors.append(measure(FLOOR, str(json_path), n, env=env))
            warms.append(measure(OPEN, str(yaml_path), n, env=env))
        sizes = (yaml_path.stat().st_size / 1e6, json_path.stat().st_size / 1e6)

    med = statistics.median
    times = sorted(w["seconds"] / f["seconds"] for f, w in zip(floors, warms))
    rss = sorted(w["rss_mb"] / f["rss_mb"] for f, w in zip(floors, warms))
    print(f"{args.size:,} interactions: YAML {sizes[0]:.0f} MB, compact JSON {sizes[1]:.0f} MB; {args.repeat} paired runs, fresh processes")
    print(f"  floor: json.loads of the JSON  {med(f['seconds'] for f in floors):7.2f} s  peak RSS {med(f['rss_mb'] for f in floors):6.0f} MB")
    print(f"  Cassette.open, first (YAML)    {cold['seconds']:7.2f} s  peak RSS {cold['rss_mb']:6.0f} MB  (one run; writes the sidecar)")
    print(f"  Cassette.open, again (sidecar) {med(w['seconds'] for w in warms):7.2f} s  peak RSS {med(w['rss_mb'] for w in warms):6.0f} MB"
          f"  (after imports: {med(w['base_mb'] for w in warms):.0f} MB)")
    bare = sorted(w["loaded"] / f["loaded"] for f, w in zip(floors, warms))
    print(f"  (without the final gc.collect: floor {med(f['loaded'] for f in floors):.2f} s, sidecar {med(w['loaded'] for w in warms):.2f} s, "
          f"ratio per pair median {med(bare):.2f}x, min {bare[0]:.2f}, max {bare[-1]:.2f})")
    print(f"  time / floor per pair: median {med(times):.2f}x (min {times[0]:.2f}, max {times[-1]:.2f}); target <= 2x: {'met' if med(times) <= 2 else 'NOT met'}")
    print(f"  peak RSS / floor per pair: median {med(rss):.2f}x (min {rss[0]:.2f}, max {rss[-1]:.2f}); target <= 1.5x: {'met' if med(rss) <= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
