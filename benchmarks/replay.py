"""Replay cost per interaction, flowtape's cassette against vcrpy's, by cassette size.

Measured in one run at 100, 1,000 and 10,000 stored interactions (target: <= 0.2 ms per
interaction at 10,000, and flat: the cost per lookup grows no faster with the cassette's size
than the floor's does).

    .venv/bin/python benchmarks/replay.py [--sizes 100,1000,10000] [--lookups 1000] [--vcr-budget 30000] [--repeat 5]

flowtape: a cassette of N MCP `tools/call` interactions (one per step `step-<i>`, distinct
arguments, a ~1 KB text result each) is recorded, saved as YAML, opened in mode `none`, and
`Cassette.lookup` is timed for `--lookups` of its requests spread evenly across it (all of them
when N is smaller), given fresh (equal, not identical) request objects as a live call would. The
one-off load of the file (read, parse, validation, index) is reported on its own: a run pays it
once, not per interaction.

The floor, measured beside it in the same run on the same requests: the least any hash-keyed
replay does per lookup -- the request's canonical JSON, its sha256, a dict lookup among the N
stored, and `json.loads` of the stored response (the caller's own copy). Its cost per lookup
grows with N too (a bigger dict and more responses fall out of the CPU caches), so "flat" is
judged against it: flowtape's cost / the floor's, at the largest size against the smallest,
within 1.5x.

vcrpy: a `vcr.cassette.Cassette` holding N chat-completion HTTP interactions of comparable size
(distinct JSON bodies, a ~1 KB response each), loaded through an in-memory persister (vcrpy's
own load path, no file IO), matching on method + uri + body as vcrpy users do for LLM calls,
with `allow_playback_repeats=True`. Each lookup is what vcrpy's httpx stub does per request:
`can_play_response_for(request)` then `play_response(request)`. Both scan the stored requests in
order, so a lookup costs about N request comparisons on average; the number of vcrpy lookups per
size is therefore capped at `--vcr-budget` / N (at least 3), spread evenly across the cassette
so their mean position is the middle, and printed.

Each timing is a whole lookup loop with garbage collection off (as `timeit` does), repeated
`--repeat` times; flowtape and its floor run in pairs, one right after the other, and what is
printed is the median of each and the median, min and max of the per-pair ratios, never a ratio
of minima. flowtape's cassette is reopened for each repeat, so every lookup is a first replay.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from harness.cassettes import Cassette, RecordMode

TARGET_MS = 0.2  # per interaction, at the largest size
FLAT_WITHIN = 1.5  # "flat": flowtape / floor at the largest size within 1.5x of the same ratio at the smallest

TOOLS = ("git_log", "git_diff", "git_show", "search_code")
SERVER = "git"
LLM_URL = "https://api.openai.com/v1/chat/completions"
LLM_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


# -- the interactions ------------------------------------------------------------------------------

def tool_text(i: int) -> str:
    """~1 KB of git-log-like text, distinct per interaction."""
    lines = [
        f"commit {i:08x}{(i * 2654435761) % 2**32:08x}{i % 65536:04x}0000aaaa1111bbbb\n"
        f"Author: Dev {i % 17} <dev{i % 17}@example.com>\n"
        f"Date:   2025-0{1 + i % 9}-1{i % 10} 12:{i % 60:02d}:00 +0000\n\n"
        f"    step-{i}: change {j} to src/module_{(i + j) % 97}.py (fixes #{1000 + i + j})\n"
        for j in range(6)
    ]
    return "".join(lines)[:1024]


def mcp_request(i: int) -> dict[str, Any]:
    tool = TOOLS[i % len(TOOLS)]
    return {"name": tool, "arguments": {"repo_path": "/srv/fixtures/repo", "max_count": 5 + i % 20,
                                        "path": f"src/module_{i % 97}.py", "rev": f"v1.{i % 13}.{i}",
                                        "grep": f"step-{i}: fixes in module_{i % 97} since the last release"}}


def mcp_response(i: int) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": tool_text(i)}], "isError": False}


def llm_body(i: int) -> bytes:
    return json.dumps({
        "model": "SmolLM2-135M-Instruct",
        "messages": [
            {"role": "system", "content": "You summarise git history for release notes."},
            {"role": "user", "content": f"step-{i}: summarise the commits touching src/module_{i % 97}.py since v1.{i % 13}.0."},
        ],
        "temperature": 0, "max_tokens": 256,
    }).encode()


def llm_response(i: int) -> dict[str, Any]:
    body = json.dumps({
        "id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1700000000 + i, "model": "SmolLM2-135M-Instruct",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": tool_text(i)[:900]}}],
        "usage": {"prompt_tokens": 60, "completion_tokens": 200, "total_tokens": 260},
    }).encode()
    return {"status": {"code": 200, "message": "OK"}, "headers": {"content-type": ["application/json"]}, "body": {"string": body}}


def spread(n: int, k: int) -> list[int]:
    """k indices spread evenly over range(n) (their mean is the middle)."""
    k = min(k, n)
    return [int((j + 0.5) * n / k) for j in range(k)]


def timed(run: Callable[[], None]) -> float:
    """Seconds one `run()` takes, garbage collection off."""
    gc.disable()
    try:
        t = time.perf_counter()
        run()
        return time.perf_counter() - t
    finally:
        gc.enable()


# -- flowtape --------------------------------------------------------------------------------------

def flowtape(n: int, lookups: int, repeat: int, base: Path) -> dict[str, Any]:
    path = base / f"replay-{n}.ir.yaml"
    tape = Cassette.open(path, RecordMode.ALL)
    for i in range(n):
        tape.record("mcp", SERVER, f"step-{i}", "tools/call", mcp_request(i), mcp_response(i))
    tape.save(meta={"benchmark": "replay"})

    sample = spread(n, lookups)
    live = [(f"step-{i}", mcp_request(i)) for i in sample]  # fresh objects, as a live call makes them
    stored = {(f"step-{i}", _digest("tools/call", mcp_request(i))): json.dumps(mcp_response(i)) for i in range(n)}

    def floor() -> None:
        for step, request in live:
            json.loads(stored[(step, _digest("tools/call", request))])

    times, floors, loads = [], [], []
    cassette = None
    for _ in range(repeat):
        cassette = None  # the previous repeat's cassette is garbage before the next is built
        t = time.perf_counter()
        cassette = Cassette.open(path, RecordMode.NONE)
        loads.append(time.perf_counter() - t)
        lookup = cassette.lookup
        times.append(timed(lambda: [lookup("mcp", SERVER, step, "tools/call", request) for step, request in live]))
        floors.append(timed(floor))
    assert cassette is not None

    for i, (step, request) in zip(sample, live):  # right answers (outside the timing; a replayed request repeats)
        found = cassette.lookup("mcp", SERVER, step, "tools/call", request)
        assert found is not None and found.response == mcp_response(i), f"flowtape replayed the wrong answer for {step}"
    k = len(live)
    return {"lookups": k, "per_ms": [t / k * 1000 for t in times], "floor_ms": [t / k * 1000 for t in floors],
            "ratios": sorted(t / f for t, f in zip(times, floors)), "first_load_ms": loads[0] * 1000,
            "load_ms": statistics.median(loads[1:] or loads) * 1000,
            "file_mb": path.stat().st_size / 1e6}


def _digest(method: str, request: Any) -> str:
    canonical = json.dumps([method, request], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


# -- vcrpy -----------------------------------------------------------------------------------------

def vcrpy(n: int, lookups: int, repeat: int) -> dict[str, float]:
    from vcr import matchers
    from vcr.cassette import Cassette as VcrCassette
    from vcr.record_mode import RecordMode as VcrMode
    from vcr.request import Request

    requests = [Request("POST", LLM_URL, llm_body(i), dict(LLM_HEADERS)) for i in range(n)]
    responses = [llm_response(i) for i in range(n)]

    class InMemory:
        """A vcrpy persister that hands over the interactions built above: no file, no parsing."""

        @staticmethod
        def load_cassette(cassette_path: Any, serializer: Any) -> tuple[list[Any], list[Any]]:
            return requests, responses

        @staticmethod
        def save_cassette(cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
            raise AssertionError("the benchmark never saves")

    tape = VcrCassette.load(path="memory://replay", persister=InMemory, record_mode=VcrMode.NONE,
                            match_on=(matchers.method, matchers.uri, matchers.body), allow_playback_repeats=True)
    assert len(tape) == n

    sample = spread(n, lookups)
    live = [Request("POST", LLM_URL, llm_body(i), dict(LLM_HEADERS)) for i in sample]

    def run(_: Any) -> None:
        for request in live:  # what vcrpy's httpx stub does for each request
            if tape.can_play_response_for(request):
                tape.play_response(request)
            else:
                raise AssertionError("vcrpy found no recording")

    elapsed = statistics.median(timed(lambda: run(None)) for _ in range(repeat))

    for i, request in zip(sample, live):  # right answers (outside the timing)
        assert tape.play_response(request)["body"]["string"] == responses[i]["body"]["string"], f"vcrpy replayed the wrong answer for {i}"
    return {"lookups": len(live), "per_ms": elapsed / len(live) * 1000}


# -- the report ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="stored interactions per cassette, comma-separated")
    parser.add_argument("--lookups", type=int, default=1000, help="lookups timed per size (all interactions when fewer)")
    parser.add_argument("--vcr-budget", type=int, default=30_000,
                        help="vcrpy lookups per size are capped at this / N (at least 3): each costs ~N request comparisons")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]

    rows = []
    with tempfile.TemporaryDirectory(prefix="flowtape-replay-") as tmp:
        os.environ["FLOWTAPE_CACHE_DIR"] = str(Path(tmp) / "cache")  # sidecars in the temporary folder
        for n in sizes:
            ft = flowtape(n, args.lookups, args.repeat, Path(tmp))
            vc = vcrpy(n, max(3, min(args.lookups, args.vcr_budget // n)), args.repeat)
            rows.append((n, ft, vc))

    req, resp = len(json.dumps(mcp_request(0))), len(json.dumps(mcp_response(0)))
    med = statistics.median
    print(f"Replay cost per interaction, medians of {args.repeat} (flowtape: MCP tools/call, request ~{req} B, "
          f"result ~{resp} B; vcrpy: chat completion, body ~{len(llm_body(0))} B, response ~{len(llm_response(0)['body']['string'])} B):")
    print(f"  {'stored':>7}  {'flowtape':>10}  {'floor':>10}  {'flowtape/floor per pair':>30}  {'lookups':>7}  {'vcrpy':>10}  {'lookups':>7}  {'vcrpy/flowtape':>14}")
    for n, ft, vc in rows:
        r = ft["ratios"]
        print(f"  {n:>7,}  {med(ft['per_ms']):>7.4f} ms  {med(ft['floor_ms']):>7.4f} ms  {med(r):>8.2f}x (min {r[0]:.2f}, max {r[-1]:.2f})"
              f"  {ft['lookups']:>7,}  {vc['per_ms']:>7.2f} ms  {vc['lookups']:>7,}  {vc['per_ms'] / med(ft['per_ms']):>13,.0f}x")
    print(f"  (vcrpy lookups capped at --vcr-budget {args.vcr_budget:,} / N, at least 3: each scans the cassette twice)")
    print()
    print("flowtape one-off load of the cassette file, paid once per run, not per interaction: the first open reads the YAML")
    print("(strict parse, validation, hashing, index), later opens its cached sidecar (files of 16 KB and more):")
    print(f"  {'stored':>7}  {'file':>8}  {'first open':>10}  {'later (median)':>14}  {'per stored interaction':>22}")
    for n, ft, _ in rows:
        print(f"  {n:>7,}  {ft['file_mb']:>5.1f} MB  {ft['first_load_ms']:>7.1f} ms  {ft['load_ms']:>11.1f} ms  {ft['load_ms'] / n:>19.3f} ms")
    print()
    (small, ft_small, vc_small), (large, ft_large, vc_large) = rows[0], rows[-1]
    growth, floor_growth = med(ft_large["per_ms"]) / med(ft_small["per_ms"]), med(ft_large["floor_ms"]) / med(ft_small["floor_ms"])
    against = med(ft_large["ratios"]) / med(ft_small["ratios"])
    print(f"  flowtape flat:   {'yes' if against <= FLAT_WITHIN else 'NO'}  ({large:,} vs {small:,} stored: flowtape {growth:.2f}x per lookup, the floor "
          f"{floor_growth:.2f}x, flowtape/floor {against:.2f}x; flat means <= {FLAT_WITHIN}x; vcrpy: {vc_large['per_ms'] / vc_small['per_ms']:,.0f}x)")
    met = med(ft_large["per_ms"]) <= TARGET_MS
    print(f"  flowtape target: {'met' if met else 'MISSED'}  ({med(ft_large['per_ms']):.4f} ms per interaction at {large:,}; target <= {TARGET_MS} ms)")

if __name__ == "__main__":
    main()
