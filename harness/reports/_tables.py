"""The report's sections as plain tables of strings, shared by every renderer so the terminal,
markdown and HTML reports say the same thing."""

from __future__ import annotations

from dataclasses import dataclass

from harness.reports._data import ReportData

__all__ = ["Section", "Table", "header_lines", "sections", "summary_line"]

SECTION_KEYS = ("cases", "changes", "tokens", "savings", "cost", "pass-rate")


@dataclass(frozen=True)
class Table:
    key: str  # "cases", "failing-checks", ...: the HTML id is `table-<key>`
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[int, ...] = ()  # columns aligned right


@dataclass(frozen=True)
class Section:
    """One heading of the report: a note saying what the figures are, its tables, and the key
    of its chart (`chart-<key>` in HTML; None: no chart)."""

    key: str
    title: str
    note: str
    tables: tuple[Table, ...]
    chart: str | None = None
    caption: str = ""  # what the chart shows


def tokens(n: float | None) -> str:
    return "—" if n is None else f"{n:,.0f}"


def usd(x: float | None) -> str:
    return "—" if x is None else f"${x:,.6f}"


def summary_line(data: ReportData) -> str:
    n = len(data.cases)
    return f"{n} cases: {data.passed} passed, {n - data.passed} not passed"


def header_lines(data: ReportData) -> tuple[tuple[str, str], ...]:
    run = data.run
    return (
        ("run", run.run_id),
        ("started", run.started_at or "—"),
        ("finished", run.finished_at or "—"),
        ("status", run.status),
        ("git commit", run.git_commit or "—"),
        ("suite", run.suite or "—"),
        ("flowtape", run.flowtape_version or "—"),
        ("cases", summary_line(data)),
        ("baseline", f"{data.baseline.run_id}, {data.baseline.how}" if data.baseline else "—"),
    )


def sections(data: ReportData) -> tuple[Section, ...]:
    return (_cases(data), _changes(data), _tokens(data), _savings(data), _cost(data), _pass_rate(data))


def _cases(data: ReportData) -> Section:
    cases = Table("cases", ("task", "case", "approach", "status", "checks", "failed"),
                  tuple((c.task, c.case, c.approach, c.status, str(c.checks), str(len(c.failed)) if c.failed else "")
                        for c in data.cases), numeric=(4, 5))
    failing = tuple((c.task, c.case, c.approach, "(run)", "", c.error) for c in data.cases if c.error) + tuple(
        (c.task, c.case, c.approach, f.target, f.evaluator, f.reason) for c in data.cases for f in c.failed)
    tables = (cases,)
    if failing:
        tables += (Table("failing-checks", ("task", "case", "approach", "target", "evaluator", "reason"), failing),)
    note = "Every check passed." if not failing else f"{len(failing)} failing check(s), each with its target, evaluator and reason."
    return Section("cases", "Cases", f"{summary_line(data)}. {note}", tables)


def _changes(data: ReportData) -> Section:
    base = data.baseline
    if base is None:
        return Section("changes", "Changed since baseline",
                       "No baseline to compare with: `flowtape gate --update-baseline` records one (or this run is it).", ())
    n = len(data.changes)
    verdicts = sum(1 for c in data.changes if c.flipped or c.before != c.after)
    note = (f"Against run `{base.run_id}`, {base.how}: {n} case(s) changed ({verdicts} with a flipped check or a status change), "
            f"{base.unchanged} unchanged" + (f", {base.only_in_baseline} of the baseline's not run again" if base.only_in_baseline else "")
            + ". Largest change first; `flowtape diff " + base.run_id + " " + data.run.run_id + "` prints each in full.")
    rows = tuple((c.task, c.case, c.approach, f"{c.before or '—'} → {c.after or '—'}", str(c.flipped) if c.flipped else "",
                  str(c.outputs) if c.outputs else "", f"{c.tokens[1] - c.tokens[0]:+,}" if c.tokens[0] != c.tokens[1] else "",
                  c.lines[0] if c.lines else "") for c in data.changes)
    table = Table("changes", ("task", "case", "approach", "status", "flipped", "outputs", "Δ tokens", "first change"), rows, numeric=(4, 5, 6))
    return Section("changes", "Changed since baseline", note, (table,) if rows else ())


def _tokens(data: ReportData) -> Section:
    if data.tokens_source == "context":
        note = ("Tokens in the orchestrating model's context per run (mean over the task's cases), from `context_tokens` "
                "as `flowtape compare` accounted them; `direct` is modelled from the same recorded calls. "
                "Authoring: the one-off cost of writing the script or IR.")
        table = Table("tokens", ("task", "approach", "cases", "tokens/run", "authoring tokens"),
                      tuple((t.task, t.approach, str(t.cases), tokens(t.per_run_tokens), tokens(t.authoring_tokens)) for t in data.tokens),
                      numeric=(2, 3, 4))
    else:
        note = ("Measured tokens per run (mean over the task's cases): MCP tool results plus model prompt and completion "
                "tokens. Run `flowtape compare --run ID` to add the orchestrator's context (and `direct`).")
        table = Table("tokens", ("task", "approach", "cases", "tokens/run"),
                      tuple((t.task, t.approach, str(t.cases), tokens(t.per_run_tokens)) for t in data.tokens), numeric=(2, 3))
    caption = "Grouped bars: tokens per run of each approach on each task (log scale when they differ widely)."
    return Section("tokens", "Tokens per approach per task", note, (table,) if data.tokens else (), "tokens" if data.tokens else None, caption)


def _savings(data: ReportData) -> Section:
    if not data.savings:
        return Section("savings", "Savings per tool call",
                       "No savings rows for this run: `flowtape compare --run ID` accounts them.", ())
    rows = tuple((s.task, s.case, s.approach, s.step_id, f"{s.server}.{s.tool}", tokens(s.direct_tokens),
                  tokens(s.approach_tokens), tokens(s.saved_tokens)) for s in data.savings)
    note = (f"{len(data.savings)} recorded MCP calls, largest saving first: tokens the call puts in the orchestrator's "
            f"context under direct tool calling, against under the approach (`savings_per_tool_call`).")
    table = Table("savings", ("task", "case", "approach", "step", "tool", "direct", "approach tokens", "saved"), rows, numeric=(5, 6, 7))
    caption = "Bars, largest first: tokens each recorded tool call saves against direct tool calling, coloured by approach."
    return Section("savings", "Savings per tool call", note, (table,), "savings", caption)


def _cost(data: ReportData) -> Section:
    rows = tuple((c.run_id, c.started_at or "—", (c.git_commit or "—")[:10], str(c.cases), usd(c.llm_cost_usd),
                  usd(c.context_cost_usd), usd(c.total_usd)) for c in data.costs)
    note = (f"The last {len(data.costs)} run(s) up to this one. Model calls: `llm_calls.cost_usd`. Context: the "
            f"orchestrator's per-run context of the approaches that ran (`context_tokens`; — when the run was not compared). "
            f"Each is accounted its own way (which calls were priced, which model prices the context), shown per run.")
    rows = tuple(row[:5] + (c.llm_accounting or "—",) + row[5:6] + (c.context_accounting or "—",) + row[6:] for row, c in zip(rows, data.costs))
    table = Table("cost", ("run", "started", "commit", "cases", "model calls", "accounted", "context", "accounted", "total"), rows,
                  numeric=(3, 4, 6, 8))
    caption = ("Lines: USD per run, oldest first; the last point is this run. Model calls and compare's context are separate "
               "series, and one line joins only runs accounted the same way (a new accounting starts a new line). No total "
               "is drawn: it would add figures accounted differently.")
    return Section("cost", "Cost over the last runs", note, (table,), "cost", caption)


def _pass_rate(data: ReportData) -> Section:
    rows = tuple((p.task, p.target, str(p.passed), str(p.total), f"{p.rate:.0%}") for p in data.pass_rates)
    note = "Evaluator verdicts per step and output, over every case and approach of the run."
    table = Table("pass-rate", ("task", "target", "passed", "checks", "pass rate"), rows, numeric=(2, 3, 4))
    caption = "Horizontal bars: share of checks passed per step and output (green: all, amber: at least half, red: fewer)."
    return Section("pass-rate", "Pass rate per step", note, (table,) if rows else (), "pass-rate" if rows else None, caption)
