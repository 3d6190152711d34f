"""A comparison report as a terminal table, markdown, or JSON.

Where an approach does not win, its row says `✗ does not win` as plainly as a win says `wins`,
and each such task gets a one-line note saying why (direct cheaper per run, or on a single run
before the artefact pays back, or a lower pass rate).
"""

from __future__ import annotations

import json
from enum import Enum

from tabulate import tabulate

from harness.compare._report import ApproachSummary, PairComparison, Report

__all__ = ["NOT_WIN", "RenderFormat", "render"]

NOT_WIN = "✗ does not win"
_ALL = "(all tasks)"


class RenderFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def _num(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def _payback(row: ApproachSummary) -> str:
    if row.approach == "direct":
        return "—"
    if not row.vs_direct:
        return "n/a"
    tokens = str(row.payback_runs) if row.payback_runs is not None else "never"
    cost = "n/a" if row.per_run_cost_usd is None else (str(row.payback_runs_cost) if row.payback_runs_cost is not None else "never")
    return f"{tokens} / {cost}"


def _verdict(row: ApproachSummary, mark: str) -> str:
    if row.not_winning:
        return mark
    return "baseline" if row.approach == "direct" else "wins"


def _summary_rows(report: Report, mark: str) -> list[list[str]]:
    rows = []
    for s in report.summaries:
        direct = s.approach == "direct"
        rows.append([
            s.task or _ALL, s.approach, str(s.cases),
            f"{s.passed}/{s.judged} ({s.pass_rate:.0%}) on {s.checks} check{'s' * (s.checks != 1)}" if s.pass_rate is not None else "n/a",
            _num(s.per_run_tokens), _num(s.per_run_cost_usd, "${:.6f}"),
            "—" if direct else _num(s.authoring_tokens), _payback(s),
            "—" if direct else _num(s.saved_median), "—" if direct else _num(s.saved_total),
            _verdict(s, mark),
        ])
    return rows


def _pair_rows(pairs: tuple[PairComparison, ...]) -> list[list[str]]:
    rows = []
    for p in pairs:
        t = p.tokens
        rows.append([
            p.task or _ALL, f"{p.first} − {p.second}", str(t.n) if t else "0",
            _num(t.mean if t else None), f"[{t.low:,.0f}, {t.high:,.0f}]" if t else "n/a",
            str(p.verdicts), *((str(p.b), str(p.c), f"{p.p_value:.4g}") if p.p_value is not None else ("n/a", "n/a", "n/a")),
        ])
    return rows


_SUMMARY_HEADERS = ["task", "approach", "cases", "pass rate", "tokens/run", "cost/run", "authoring tokens",
                    "payback runs (tokens / cost)", "saved/call (median)", "saved (total)", "verdict"]
_PAIR_HEADERS = ["task", "pair (tokens/run difference)", "cases", "mean", "95% bootstrap CI", "judged", "b", "c", "McNemar p"]


def render(report: Report, format: RenderFormat | str = "table") -> str:
    """The report as text: `table` for a terminal, `markdown` for a CI summary or a PR comment,
    `json` for machines (every figure, with `wins` and `not_winning` per row).

    Raises:
        ValueError: an unknown format.
    """
    fmt = RenderFormat(format)
    if fmt is RenderFormat.JSON:
        return json.dumps(report.to_dict(), indent=2, default=str)
    method = (f"run {report.run_id or 'n/a'} · ledger {report.ledger} · paired bootstrap: {report.resamples:,} resamples, "
              f"seed {report.seed} · McNemar: exact, two-sided (b: first passed, second failed; c: the reverse)")
    if fmt is RenderFormat.MARKDOWN:
        out = ["## Approaches", "", method, "",
               tabulate(_summary_rows(report, f"**{NOT_WIN}**"), _SUMMARY_HEADERS, tablefmt="github", disable_numparse=True)]
        if report.pairs:
            out += ["", "## Paired comparisons", "", tabulate(_pair_rows(report.pairs), _PAIR_HEADERS, tablefmt="github", disable_numparse=True)]
        if report.notes:
            out += ["", "## Where an approach does not win", ""] + [f"- {n}" for n in report.notes]
        return "\n".join(out) + "\n"
    out = [method, "", tabulate(_summary_rows(report, NOT_WIN), _SUMMARY_HEADERS, disable_numparse=True)]
    if report.pairs:
        out += ["", tabulate(_pair_rows(report.pairs), _PAIR_HEADERS, disable_numparse=True)]
    if report.notes:
        out += ["", "notes:"] + [f"  {n}" for n in report.notes]
    return "\n".join(out) + "\n"
