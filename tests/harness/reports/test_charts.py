"""The four charts, drawn as plain SVG, on small hand-made figures: each figure is a shape whose
size follows its value (read back from the SVG's coordinates)."""

from __future__ import annotations

import re

from harness.reports import ReportData, RunCost, RunHeader, StepPassRate, TaskTokens, ToolCallSaving
from harness.reports._charts import APPROACH_COLOURS, charts, cost_lines

RUN = RunHeader("r1", "2026-12-01 10:00:00 UTC", None, "completed", "abc", "goldens", "0.1.0")


def data(**sections) -> ReportData:
    base = dict(run=RUN, cases=(), tokens=(), tokens_source="context", savings=(), costs=(), pass_rates=())
    return ReportData(**{**base, **sections})


def bars(svg: str) -> dict[str, tuple[float, float, float, float, str]]:
    """{tooltip: (x, y, width, height, fill)} of every bar."""
    found = re.findall(r'<rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)" fill="(#\w+)"><title>(.*?)</title>', svg)
    return {tip: (float(x), float(y), float(w), float(h), fill) for x, y, w, h, fill, tip in found}


def test_token_bars_are_as_tall_as_their_figures_in_their_approach_colour() -> None:
    tokens = (TaskTokens("a", "direct", 2, 3000.0), TaskTokens("a", "ir", 2, 1500.0), TaskTokens("b", "ir", 1, 750.0))
    svg = charts(data(tokens=tokens))["tokens"]
    found = bars(svg)
    assert set(found) == {"a · direct: 3,000 tokens per run", "a · ir: 1,500 tokens per run", "b · ir: 750 tokens per run"}
    heights = {tip.split(":")[0]: bar[3] for tip, bar in found.items()}
    assert abs(heights["a · direct"] - 2 * heights["a · ir"]) < 0.2 and abs(heights["a · ir"] - 2 * heights["b · ir"]) < 0.2
    assert found["a · direct: 3,000 tokens per run"][4] == APPROACH_COLOURS["direct"]
    assert "(log scale)" not in svg


def test_tokens_that_differ_widely_are_drawn_on_a_log_scale() -> None:
    svg = charts(data(tokens=(TaskTokens("a", "direct", 1, 100_000.0), TaskTokens("a", "ir", 1, 500.0))))["tokens"]
    assert "tokens per run (log scale)" in svg
    assert all(f">{tick}</text>" in svg for tick in ("100", "1k", "10k", "100k"))


def test_a_negative_saving_is_drawn_left_of_zero() -> None:
    savings = (ToolCallSaving("t", "c", "ir", "s1", "git", "git_log", 900, 100, 800),
               ToolCallSaving("t", "c", "code", "s2", "git", "git_show", 100, 500, -400))
    found = bars(charts(data(savings=savings))["savings"])
    (gain,) = (b for tip, b in found.items() if "= 800" in tip)
    (loss,) = (b for tip, b in found.items() if "= -400" in tip)
    assert abs(loss[0] + loss[2] - gain[0]) < 0.2  # the loss ends where the gain starts: at zero
    assert abs(gain[2] - 2 * loss[2]) < 0.2


def test_pass_rate_bars_are_as_long_as_their_rates_and_coloured_by_them() -> None:
    rates = (StepPassRate("t", "steps.a", 4, 4), StepPassRate("t", "steps.b", 1, 2), StepPassRate("t", "outputs.c", 0, 3))
    found = bars(charts(data(pass_rates=rates))["pass-rate"])
    full, half, none = (found[f"t · {target}: {tip}"] for target, tip in (("steps.a", "4/4 checks passed"), ("steps.b", "1/2 checks passed"),
                                                                         ("outputs.c", "0/3 checks passed")))
    assert abs(full[2] - 2 * half[2]) < 0.2 and none[2] == 0
    assert (full[4], half[4], none[4]) == ("#3a9a5b", "#e8a33d", "#c0504d")


def _points(svg: str) -> dict[str, tuple[float, float]]:
    return {tip: (float(x), float(y)) for x, y, tip in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="[\d.]+" fill="#\w+"><title>(.*?)</title>', svg)}


def _lines(svg: str) -> list[tuple[str, list[tuple[float, float]]]]:
    """(colour, points) of every drawn line with more than one point (legend swatches are two points at x 8 and 30)."""
    found = []
    for d, colour in re.findall(r'<path d="M([^"]+)" fill="none" stroke="(#\w+)"', svg):
        points = [tuple(float(v) for v in p.split()) for p in d.split(" L")]
        if points[0][0] != 8:
            found.append((colour, points))
    return found


PRICED, PART = "every call priced", "1 of 2 calls priced"
COSTS = (RunCost("r0", "2026-11-28 10:00:00 UTC", None, 3, 0.002, None, PRICED, None),
         RunCost("r1", "2026-11-29 10:00:00 UTC", None, 3, 0.004, 0.010, PRICED, "priced at gpt-4o"),
         RunCost("r2", "2026-11-30 10:00:00 UTC", None, 3, 0.001, 0.012, PART, "priced at gpt-4o"),
         RunCost("r3", "2026-12-01 10:00:00 UTC", "abc", 3, 0.003, 0.020, PRICED, "priced at claude-3-5-sonnet"))


def test_cost_lines_join_only_runs_accounted_alike() -> None:
    assert cost_lines(data(costs=COSTS)) == [("model calls", PRICED, "", [0, 1, 3]), ("model calls", PART, "6 4", [2]),
                                             ("context per run", "priced at gpt-4o", "", [1, 2]),
                                             ("context per run", "priced at claude-3-5-sonnet", "6 4", [3])]
    svg = charts(data(costs=COSTS))["cost"]
    points = _points(svg)
    assert set(points) == {"r0 model calls (every call priced): $0.002", "r1 model calls (every call priced): $0.004",
                           "r3 model calls (every call priced): $0.003", "r2 model calls (1 of 2 calls priced): $0.001",
                           "r1 context per run (priced at gpt-4o): $0.01", "r2 context per run (priced at gpt-4o): $0.012",
                           "r3 context per run (priced at claude-3-5-sonnet): $0.02"}
    # two lines: the fully priced model calls (r0, r1, r3; not through r2's partly priced figure) and gpt-4o's context
    # (r1, r2; not on to r3, priced at another model); no total adds the two series
    lines = sorted(_lines(svg))
    at = {tip.split(" ")[0] + " " + tip.split(" ")[1]: xy for tip, xy in points.items()}
    assert lines == sorted([("#4fb3d9", [at["r1 context"], at["r2 context"]]), ("#8c6bb1", [at["r0 model"], at["r1 model"], at["r3 model"]])])
    assert "total" not in svg
    for series in ("model calls: every call priced", "model calls: 1 of 2 calls priced", "context per run: priced at gpt-4o"):
        assert f">{series}</text>" in svg  # a legend row per line
    assert at["r1 model"][1] < at["r0 model"][1] and at["r3 context"][1] < at["r1 context"][1]  # more cost, higher up


def test_the_same_costs_give_the_same_bytes() -> None:
    assert charts(data(costs=COSTS)) == charts(data(costs=COSTS))
