"""The gate's verdict for people and for CI: a text report, a markdown summary (a CI step summary
or a PR comment) and JUnit XML (one test case per case x approach, one failure per violated rule).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from typing import TYPE_CHECKING, Any

from harness.gate._gate import GateResult
from harness.gate._rules import Failure, format_value

if TYPE_CHECKING:
    from junitparser import TestCase

__all__ = ["GATE_SUITE", "render_markdown", "render_text", "write_junit"]

GATE_SUITE = "flowtape.gate"  # the JUnit suite of failures that belong to no case (schemas, the run)
MARKDOWN_ROWS = 50  # failures listed in the summary; the JUnit file has them all


def _verdict(result: GateResult) -> str:
    count = len(result.failures)
    return "passed" if result.passed else f"failed: {count} failure{'s' if count != 1 else ''}"


def _baseline_text(result: GateResult) -> str:
    return result.baseline_ref.how if result.baseline_ref else "none"


def render_text(result: GateResult) -> str:
    """What `flowtape gate` prints: the verdict, every failure on one line, the notes."""
    lines = [f"flowtape gate {_verdict(result)} · run {result.run.run_id} · baseline: {_baseline_text(result)} · "
             f"policy: {result.policy.describe()}"]
    lines += [f"  {f.message}" for f in result.failures]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def _cell(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _change(failure: Failure) -> str:
    change = failure.change
    if change is None:
        return "—"
    return "new" if change in (float("inf"), float("-inf")) else f"{change:+.1%}"


def _vs(now: float | None, was: float | None, metric: str, baseline: bool) -> str:
    text = format_value(metric, now) if now is not None else "—"
    if not baseline:
        return text
    if was is None:
        return f"{text} (baseline —)"
    delta = "" if now is None else (f", {(now - was) / abs(was):+.1%}" if was else ("" if now == was else ", new"))
    return f"{text} (baseline {format_value(metric, was)}{delta})"


def _approach_table(result: GateResult) -> list[str]:
    run, base = result.run, result.baseline
    rows = ["| approach | cases | pass rate | tokens/run | cost/run |", "|---|---|---|---|---|"]
    for approach, model in run.arms():
        cases = [c for c in run.cases.values() if c.approach == approach and c.model == model]
        passed = sum(c.passed for c in cases)
        rate = _vs(run.pass_rate(approach, model=model), base.pass_rate(approach, model=model) if base else None, "pass_rate", base is not None)
        tokens = _vs(run.mean(approach, "tokens", model), base.mean(approach, "tokens", model) if base else None, "tokens", base is not None)
        cost = _vs(run.mean(approach, "cost_usd", model), base.mean(approach, "cost_usd", model) if base else None, "cost_usd", base is not None)
        rows.append(f"| {run.label(approach, model)} | {len(cases)} | {passed}/{len(cases)} · {rate} | {tokens} | {cost} |")
    return rows


def render_markdown(result: GateResult) -> str:
    """A verdict line, the failures (largest regression first), then a table per approach of
    pass rate, tokens per run and cost per run against the baseline."""
    icon = "✅" if result.passed else "❌"
    out = [f"## {icon} flowtape gate {_verdict(result)}", "",
           f"run `{result.run.run_id}` · baseline: {_baseline_text(result)} · policy: {result.policy.describe()}", ""]
    if result.failures:
        out += ["### Failures (largest regression first)", "",
                "| # | task | case | approach | step | metric | value | threshold | baseline | change | rule | detail |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for n, f in enumerate(result.failures[:MARKDOWN_ROWS], start=1):
            bound = "≤" if f.bound == "max" else "≥"
            threshold = f"{bound} {format_value(f.metric, f.threshold)}" if f.threshold is not None else "—"
            step = f"`{_cell(f.step)}`" if f.step else (f"server `{f.server}`" if f.server else "—")
            out.append(f"| {n} | {_cell(f.task or '—')} | {_cell(f.case or '—')} | {f.approach or '—'} | {step} | {f.metric} | "
                       f"{format_value(f.metric, f.value)} | {threshold} | {format_value(f.metric, f.baseline) if f.baseline is not None else '—'} | "
                       f"{_change(f)} | `{_cell(f.rule)}` | {_cell(f.detail)} |")
        if len(result.failures) > MARKDOWN_ROWS:
            out.append(f"\n… and {len(result.failures) - MARKDOWN_ROWS} more (the JUnit report lists every one)")
        out.append("")
        ref = result.baseline_ref
        if ref is not None and ref.ledger.resolve() == result.run.ledger.resolve():
            out += [f"What changed, case by case (failing checks and changed step outputs first): "
                    f"`flowtape diff {ref.run_id} {result.run.run_id} --ledger {result.run.ledger}`", ""]
    out += ["### By approach", "", *_approach_table(result), "",
            "tokens/run: a case's measured model tokens (prompt + completion) plus MCP result tokens, mean over cases; "
            "cost/run: its model calls' USD, mean over cases.", ""]
    if result.notes:
        out += ["### Notes", "", *[f"- {_cell(n, 1000)}" for n in result.notes], ""]
    return "\n".join(out)


def write_junit(result: GateResult, path: Path | str) -> Path:
    """JUnit XML: a test suite per task, a test case per case x approach (classname the task,
    name `case [approach]`) with one `<failure>` per violated rule (message: the failure line;
    type: the rule); failures that belong to no case go to a `flowtape.gate` suite. The
    `failures` counts are of failing test cases, as the JUnit schemas define them."""
    from junitparser import JUnitXml, TestCase, TestSuite  # only a gate that writes JUnit pays for it

    by_case: dict[tuple[str, str, str, str], list[Failure]] = defaultdict(list)
    loose: dict[str, list[Failure]] = defaultdict(list)
    for failure in result.failures:
        if failure.key in result.run.cases:
            by_case[failure.key].append(failure)  # type: ignore[index]
        else:
            loose[failure.where].append(failure)
    suites: dict[str, list[TestCase]] = defaultdict(list)
    for key in sorted(result.run.cases):
        figures = result.run.cases[key]
        case = TestCase(f"{figures.case} [{result.run.label(figures.approach, figures.model)}]", figures.task, round(figures.duration_ms / 1000, 3))
        case.result = [_failure(f) for f in by_case.get(key, [])]
        if key in result.allowed:
            case.system_out = "failed golden checks, allowed by min_pass_rate:\n" + "\n".join(result.allowed[key])
        suites[figures.task].append(case)
    for where, failures in sorted(loose.items()):
        case = TestCase(where, GATE_SUITE, 0.0)
        case.result = [_failure(f) for f in failures]
        suites[GATE_SUITE].append(case)
    root = JUnitXml("flowtape gate")
    totals = {"tests": 0, "failures": 0, "time": 0.0}
    for name, cases in suites.items():
        suite = TestSuite(name)
        suite.add_testcases(cases)
        suite.failures = sum(1 for c in cases if c.is_failure)  # failing test cases, not <failure> elements
        root.append(suite)
        totals["tests"] += len(cases)
        totals["failures"] += suite.failures
        totals["time"] += suite.time or 0.0
    root.tests, root.failures, root.errors, root.time = totals["tests"], totals["failures"], 0, round(totals["time"], 3)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    root.write(str(target), pretty=True)
    return target


def _failure(failure: Failure) -> Any:
    from junitparser import Failure as JUnitFailure

    item = JUnitFailure(failure.message, failure.rule)
    item.text = failure.message
    return item
