"""A comparison report as a terminal table, markdown, or JSON.

Figures per case come first; per-task rows follow only as labelled aggregates ("mean of 2
cases"), never as one case's figure. The orchestrator's tokens are given read and written apart,
and the llm nodes' own tokens (their model's tokenizer) in a column of their own, never added to
them. A statistic the sample cannot support is printed as "n too small (n=...)" in its place.

Where an approach does not win, its row says `✗ does not win` as plainly as a win says `wins`,
and each such task gets a one-line note saying why (direct cheaper per run, or on a single run
before the artefact pays back, or a lower pass rate); a verdict that flips within the plausible
range of a modelled constant says "depends on ...".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum

from tabulate import tabulate

from harness.compare._report import ApproachSummary, CaseFigures, PairComparison, Report

__all__ = ["NOT_WIN", "RenderFormat", "approach_label", "render"]

NOT_WIN = "✗ does not win"
_ALL = "(all tasks)"


class RenderFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def approach_label(approach: str, modelled: bool) -> str:
    """`direct (modelled)` for a modelled approach: never mistaken for a measured run."""
    return f"{approach} (modelled)" if modelled else approach


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
    said = mark if row.not_winning else ("baseline" if row.approach == "direct" else "wins")
    return "; ".join([said, *row.depends_on])


def _saved_per_call(row: ApproachSummary) -> str:
    if row.approach == "direct" or not row.tool_calls:
        return "—"
    if row.saved_median is not None:
        return f"median {row.saved_median:,.0f} of {row.tool_calls} calls"
    calls = f"{row.tool_calls} call{'s' * (row.tool_calls != 1)}"
    return f"{', '.join(f'{v:,}' for v in row.saved_values)} ({calls}: no median)"


def _in_out(read: float | None, written: float | None) -> str:
    return "n/a" if read is None or written is None else f"{read:,.0f} + {written:,.0f}"


_MEASURED_HEADERS = ["task", "case", "run", "turns", "modelled (read + written)", "measured: sent + written, recounted", "model error",
                     "provider usage (the model's tokenizer)"]


def _measured_rows(report: Report) -> list[list[str]]:
    """direct per case where it ran for real: the modelled figure beside the measured run."""
    rows = []
    for f in report.cases:
        if f.approach != "direct" or f.measured_turns is None:
            continue
        error = f.model_error
        rows.append([f.task, f.case, "n/a" if f.passed is None else ("passed" if f.passed else "failed"), str(f.measured_turns),
                     _in_out(f.per_run_input, f.per_run_output), _in_out(f.measured_input, f.measured_output),
                     "n/a" if error is None else f"{error:+.0%}", _in_out(f.provider_input, f.provider_output)])
    return rows


_AUTHORING_HEADERS = ["task", "approach", "model", "turns", "valid artefact", "modelled (hand-written)", "measured: read + written, recounted",
                      "model error", "provider usage (the model's tokenizer)"]


def _authoring_rows(report: Report) -> list[list[str]]:
    return [[a.task, a.approach, a.model, str(a.turns), "yes" if a.valid else "no", _num(a.modelled_tokens),
             _in_out(a.measured_input, a.measured_output), "n/a" if a.model_error is None else f"{a.model_error:+.0%}",
             _in_out(a.provider_input, a.provider_output)] for a in report.authoring]


def _case_rows(report: Report) -> list[list[str]]:
    rows = []
    for f in report.cases:
        gap = f.gap
        rows.append([
            f.task, f.case, approach_label(f.approach, f.modelled),
            "n/a" if f.passed is None else ("passed" if f.passed else "failed") + f" ({f.checks} check{'s' * (f.checks != 1)})",
            _in_out(f.per_run_input, f.per_run_output), _num(f.per_run_cost_usd, "${:.6f}"),
            _num(f.llm_node_tokens),
            "—" if f.approach == "direct" else _in_out(f.authoring_input, f.authoring_output),
            "—" if gap is None else f"{gap.gap:,} = {gap.calls:,} + {gap.rest:,}",
        ])
    return rows


def _call_rows(cases: tuple[CaseFigures, ...]) -> list[list[str]]:
    rows = []
    for f in cases:
        for c in f.calls:
            rows.append([f.task, f.case, f.approach, c.step_id, f"{c.server}.{c.tool}",
                         f"{c.saved_input:,}", f"{c.saved_output:,}", _num(c.saved_cost_usd, "${:.6f}")])
    return rows


def _summary_rows(report: Report, mark: str) -> list[list[str]]:
    rows = []
    for s in report.summaries:
        direct = s.approach == "direct"
        rows.append([
            s.task or _ALL, approach_label(s.approach, s.modelled), f"mean of {s.cases} case{'s' * (s.cases != 1)}",
            f"{s.passed}/{s.judged} ({s.pass_rate:.0%}) on {s.checks} check{'s' * (s.checks != 1)}" if s.pass_rate is not None else "n/a",
            _in_out(s.per_run_input, s.per_run_output), _num(s.per_run_cost_usd, "${:.6f}"), _num(s.llm_node_tokens),
            "—" if direct else _num(s.authoring_tokens), _payback(s),
            _saved_per_call(s),
            "—" if direct or s.gap_calls is None else f"{s.gap_calls:,.0f} + {s.gap_rest:,.0f}",
            _verdict(s, mark),
        ])
    return rows


def _pair_rows(pairs: tuple[PairComparison, ...]) -> list[list[str]]:
    rows = []
    for p in pairs:
        t = p.tokens
        interval = f"[{t.low:,.0f}, {t.high:,.0f}]" if t else (p.tokens_note or "n/a")
        mcnemar = f"{p.p_value:.4g}" if p.p_value is not None else (p.mcnemar_note or "n/a")
        rows.append([p.task or _ALL, f"{p.first} − {p.second}", str(p.tokens_n), _num(p.tokens_mean), interval,
                     str(p.verdicts), str(p.b), str(p.c), mcnemar])
    return rows


_CASE_HEADERS = ["task", "case", "approach", "pass", "tokens/run (read + written)", "cost/run", "llm-node tokens/run",
                 "authoring (read + written)", "gap to direct/run = calls + rest"]
_CALL_HEADERS = ["task", "case", "approach", "step", "tool", "saved read/run", "saved written/run", "saved $/run"]
_SUMMARY_HEADERS = ["task", "approach", "aggregate", "pass rate", "tokens/run (read + written)", "cost/run", "llm-node tokens/run",
                    "authoring tokens", "payback runs (tokens / cost)", "saved per call", "gap to direct: calls + rest", "verdict"]
_PAIR_HEADERS = ["task", "pair (tokens/run difference)", "cases", "mean", "95% bootstrap CI", "judged", "b", "c", "McNemar p"]

_LEGEND = ("tokens: the orchestrator's (tiktoken), read + written, priced apart (output costs more); llm-node tokens are the "
           "workflow's own model calls, counted by that model's tokenizer and never added to them; cost/run is both, in USD. "
           "direct (modelled): its token and cost figures are modelled from the other approaches' recorded calls; its pass "
           "rate is that of its real, recorded runs where the task runs direct (n/a where it does not), and the table of "
           "measured runs sets the model beside what those runs sent and wrote. "
           "gap to direct = the calls' savings + the rest (system prompt, schemas and request re-read by direct's later turns, "
           "its final answer, less what returns under the approach that no call's data reaches).")


def _sensitivity(report: Report) -> list[str]:
    if not report.swept:
        return []
    ranges = ", ".join(f"{name} {low:,}..{high:,}" for name, (low, high) in report.swept.items())
    if not report.flips:
        return [f"swept {ranges}: no verdict flips within these ranges"]
    return [f"swept {ranges}:"] + [f"{f.task or 'all tasks'} · {f.approach}: {f.start()}; {f.describe()}" for f in report.flips]


def render(report: Report, format: RenderFormat | str = "table") -> str:
    """The report as text: `table` for a terminal, `markdown` for a CI summary or a PR comment,
    `json` for machines (every figure, with `wins` and `not_winning` per row, and "n too small
    (n=...)" where a statistic is withheld).

    Raises:
        ValueError: an unknown format.
    """
    fmt = RenderFormat(format)
    if fmt is RenderFormat.JSON:
        return json.dumps(report.to_dict(), indent=2, default=str)
    method = (f"run {report.run_id or 'n/a'} · ledger {report.ledger} · paired bootstrap: {report.resamples:,} resamples, "
              f"seed {report.seed}, from 10 paired cases · McNemar: exact, two-sided, from 6 discordant pairs "
              f"(b: first passed, second failed; c: the reverse)")
    sensitivity = _sensitivity(report)
    if fmt is RenderFormat.MARKDOWN:
        out = ["## Approaches", "", method, "", _LEGEND, "", "### Per case", "",
               tabulate(_case_rows(report), _CASE_HEADERS, tablefmt="github", disable_numparse=True)]
        calls = _call_rows(report.cases)
        if calls:
            out += ["", "### Per tool call (against direct, per run)", "", tabulate(calls, _CALL_HEADERS, tablefmt="github", disable_numparse=True)]
        out += ["", "### Per task (aggregates over its cases)", "",
                tabulate(_summary_rows(report, f"**{NOT_WIN}**"), _SUMMARY_HEADERS, tablefmt="github", disable_numparse=True)]
        measured = _measured_rows(report)
        if measured:
            out += ["", "### direct: modelled beside the measured runs", "",
                    tabulate(measured, _MEASURED_HEADERS, tablefmt="github", disable_numparse=True)]
        if report.authoring:
            out += ["", "### Authoring: modelled beside the recorded `flowtape author` runs", "",
                    tabulate(_authoring_rows(report), _AUTHORING_HEADERS, tablefmt="github", disable_numparse=True)]
        if report.pairs:
            out += ["", "### Paired comparisons", "", tabulate(_pair_rows(report.pairs), _PAIR_HEADERS, tablefmt="github", disable_numparse=True)]
        if sensitivity:
            out += ["", "### Sensitivity to the modelled constants", ""] + [f"- {line}" for line in sensitivity]
        if report.notes:
            out += ["", "### Where an approach does not win", ""] + [f"- {n}" for n in report.notes]
        return "\n".join(out) + "\n"
    out = [method, _LEGEND, "", "per case:", tabulate(_case_rows(report), _CASE_HEADERS, disable_numparse=True)]
    calls = _call_rows(report.cases)
    if calls:
        out += ["", "per tool call (against direct, per run):", tabulate(calls, _CALL_HEADERS, disable_numparse=True)]
    out += ["", "per task (aggregates over its cases):", tabulate(_summary_rows(report, NOT_WIN), _SUMMARY_HEADERS, disable_numparse=True)]
    measured = _measured_rows(report)
    if measured:
        out += ["", "direct, modelled beside the measured runs:", tabulate(measured, _MEASURED_HEADERS, disable_numparse=True)]
    if report.authoring:
        out += ["", "authoring, modelled beside the recorded `flowtape author` runs:", tabulate(_authoring_rows(report), _AUTHORING_HEADERS, disable_numparse=True)]
    if report.pairs:
        out += ["", tabulate(_pair_rows(report.pairs), _PAIR_HEADERS, disable_numparse=True)]
    if sensitivity:
        out += ["", "sensitivity:"] + [f"  {line}" for line in sensitivity]
    if report.notes:
        out += ["", "notes:"] + [f"  {n}" for n in report.notes]
    return "\n".join(out) + "\n"


_MODELS_HEADERS = ["approach", "model", "cases", "passed", "pass rate", "orchestrator tokens/run", "llm-node tokens/run", "USD/run"]


def _models_rows(reports: Sequence[Report]) -> list[list[str]]:
    """Every approach under every model, over all tasks: the same cases side by side."""
    rows = []
    for approach in dict.fromkeys(a for r in reports for a in r.approaches):
        for report in reports:
            row = next((s for s in report.summaries if s.task is None and s.approach == approach), None)
            if row is None:
                continue
            rate = "—" if row.pass_rate is None else f"{row.pass_rate:.0%}"
            rows.append([approach_label(approach, row.modelled), report.model or "(not recorded)", str(row.cases),
                         f"{row.passed}/{row.judged}" if row.judged else "—", rate, _num(row.per_run_tokens),
                         _num(row.llm_node_tokens), "—" if row.per_run_cost_usd is None else f"{row.per_run_cost_usd:.6f}"])
    return rows


def render_models(reports: Sequence[Report], format: RenderFormat | str = "table") -> str:
    """One report per model of a run. One model: `render` as it is. Several: the approaches
    under each model side by side, then each model's report under its name (`json`: an object
    with `models`, one report each)."""
    if len(reports) == 1:
        return render(reports[0], format)
    fmt = RenderFormat(format)
    if fmt is RenderFormat.JSON:
        return json.dumps({"models": [r.to_dict() for r in reports]}, indent=2, default=str)
    side = _models_rows(reports)
    if fmt is RenderFormat.MARKDOWN:
        out = ["## Models side by side (all tasks)", "", tabulate(side, _MODELS_HEADERS, tablefmt="github", disable_numparse=True)]
        for report in reports:
            out += ["", f"# Model {report.model}", "", render(report, fmt).rstrip("\n")]
        return "\n".join(out) + "\n"
    out = ["models side by side (all tasks):", tabulate(side, _MODELS_HEADERS, disable_numparse=True)]
    for report in reports:
        out += ["", f"=== model {report.model} ===", render(report, fmt).rstrip("\n")]
    return "\n".join(out) + "\n"
