"""Compare approaches on the same cases from the ledger: per case first (pass, the orchestrator's
tokens per run read and written, cost, the llm nodes' own tokens apart, authoring, the per-run gap
to direct as its calls' savings plus the rest), then per task as labelled means over its cases,
and paired tests between every two approaches where the sample allows one.

    report = compare("reports/ledger.duckdb")           # the latest run with cases or context rows
    print(render(report, "markdown"))

A case passes when its run passed and no evaluator failed (the ledger's `cases.status` is the
run's own status; `evaluations` holds the verdicts). Per-run and authoring figures come from
`context_tokens` (see `harness.accounting.context`), savings from `savings_per_tool_call`.

`direct` is modelled today (every one of its components is `modelled`): each case says so
(`CaseFigures.modelled`), and the renderer labels it `direct (modelled)`. A measured direct run
would be a case of its own beside it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.accounting import query
from harness.accounting.context import LLM_NODES, SavingsBreakdown, runs_to_pay_back
from harness.compare._stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    MIN_BOOTSTRAP_PAIRS,
    MIN_DISCORDANT_PAIRS,
    BootstrapInterval,
    mcnemar_exact,
    paired_bootstrap,
    too_small,
)

__all__ = ["ApproachSummary", "CallSaving", "CaseFigures", "Flip", "MIN_MEDIAN_CALLS", "PairComparison", "Report", "compare", "verdicts"]

MIN_MEDIAN_CALLS = 3  # below this a "median" is a mean or one value: the values are given instead

_ORDER = ("direct", "code", "ir")


@dataclass(frozen=True)
class CallSaving:
    """One tool call's saving against direct, read and written apart, and priced at the
    orchestrator model (input and output at their own prices; None: unknown)."""

    step_id: str
    server: str
    tool: str
    saved_input: int
    saved_output: int
    saved_cost_usd: float | None = None

    @property
    def saved(self) -> int:
        return self.saved_input + self.saved_output


@dataclass(frozen=True)
class CaseFigures:
    """One (case, approach) as the ledger has it; None where the ledger has nothing.

    `per_run_*` tokens are the orchestrator's (tiktoken), read (`input`) and written (`output`);
    `llm_node_*` the workflow's own model calls, counted by that model's tokenizer, never summed
    with them. `per_run_cost_usd` is both, in USD. `gap` (not for direct) is the per-run gap to
    direct's figure for the same case, as the calls' savings plus the rest."""

    task: str
    case: str
    approach: str
    passed: bool | None = None
    checks: int = 0  # golden checks (evaluations) the case was judged on
    modelled: bool = False  # every component modelled (direct today)
    per_run_tokens: int | None = None
    per_run_input: int | None = None
    per_run_output: int | None = None
    per_run_cost_usd: float | None = None
    llm_node_tokens: int | None = None
    llm_node_cost_usd: float | None = None
    authoring_tokens: int | None = None
    authoring_input: int | None = None
    authoring_output: int | None = None
    authoring_cost_usd: float | None = None
    saved: tuple[int, ...] = ()
    calls: tuple[CallSaving, ...] = ()
    gap: SavingsBreakdown | None = None
    # direct only, where the case has a measured direct run (`direct_measured`): its turns, what
    # was really sent and written recounted with the orchestrator's tokenizer, and the provider's
    # usage in the model's own tokenizer
    measured_turns: int | None = None
    measured_input: int | None = None
    measured_output: int | None = None
    provider_input: int | None = None
    provider_output: int | None = None

    @property
    def model_error(self) -> float | None:
        """How far the modelled direct figure is from the measured run, relative to the
        measurement (`+0.25`: the model says 25% more tokens than were sent and written)."""
        if self.measured_input is None or self.measured_output is None or self.per_run_tokens is None:
            return None
        measured = self.measured_input + self.measured_output
        return None if measured == 0 else self.per_run_tokens / measured - 1


@dataclass(frozen=True)
class ApproachSummary:
    """One approach on one task (`task` None: every task): an aggregate over `cases` cases,
    never one case's figure.

    `per_run_*` are means over cases. `authoring_*` are per artefact: for a task the mean over its
    cases (one IR or script serves every case of a task); over every task, the sum of the tasks'.
    `payback_runs*` compare with `direct` on the cases both have figures for (None: never, or no
    direct to compare with: see `vs_direct`). `saved_median` is given from `MIN_MEDIAN_CALLS`
    calls; below that, `saved_values` lists them. `gap_calls` + `gap_rest` = the mean per-run gap
    to direct. `not_winning` says why this approach does not win here, one reason each; empty when
    it does. `depends_on` names a modelled constant within whose plausible range the verdict flips.
    """

    task: str | None
    approach: str
    cases: int
    judged: int = 0
    passed: int = 0
    checks: int = 0  # golden checks over the judged cases
    modelled: bool = False
    pass_rate: float | None = None
    per_run_tokens: float | None = None
    per_run_input: float | None = None
    per_run_output: float | None = None
    per_run_cost_usd: float | None = None
    llm_node_tokens: float | None = None
    authoring_tokens: float | None = None
    authoring_cost_usd: float | None = None
    vs_direct: bool = False
    payback_runs: int | None = None
    payback_runs_cost: int | None = None
    tool_calls: int = 0
    saved_median: float | None = None
    saved_values: tuple[int, ...] = ()
    saved_total: int | None = None
    gap_calls: float | None = None
    gap_rest: float | None = None
    not_winning: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()

    @property
    def wins(self) -> bool:
        return not self.not_winning


@dataclass(frozen=True)
class AuthoringFigures:
    """A recorded `flowtape author` run beside the modelled authoring cost of the same task and
    approach (the hand-written artefact and the reads before it, mean over the task's cases)."""

    task: str
    approach: str
    model: str
    turns: int
    valid: bool
    modelled_tokens: float | None
    measured_input: int | None
    measured_output: int | None
    provider_input: int | None
    provider_output: int | None

    @property
    def model_error(self) -> float | None:
        if self.modelled_tokens is None or self.measured_input is None or self.measured_output is None:
            return None
        measured = self.measured_input + self.measured_output
        return None if measured == 0 else self.modelled_tokens / measured - 1


@dataclass(frozen=True)
class PairComparison:
    """Two approaches on the cases both ran (`task` None: every task).

    `tokens_mean`: the mean per-run token difference first - second over `tokens_n` paired cases;
    `tokens` its bootstrap interval, only from `MIN_BOOTSTRAP_PAIRS` pairs (`tokens_note` says
    "n too small (n=...)" otherwise). McNemar: `b` cases the first passed and the second failed,
    `c` the reverse, among `verdicts` cases judged under both; `p_value` only from
    `MIN_DISCORDANT_PAIRS` discordant pairs (`mcnemar_note` otherwise).
    """

    task: str | None
    first: str
    second: str
    tokens: BootstrapInterval | None
    verdicts: int
    b: int
    c: int
    p_value: float | None
    tokens_n: int = 0
    tokens_mean: float | None = None
    tokens_note: str | None = None
    mcnemar_note: str | None = None


@dataclass(frozen=True)
class Flip:
    """A verdict that changes within the plausible range of a modelled constant.

    `constant` is `system_prompt_tokens` or `calls_per_turn`; `wins_at` the values (in the swept
    range) where the approach wins, `loses_at` where it does not; `flips_at` the first value at
    which the verdict differs from the one at the lowest value swept."""

    task: str | None
    approach: str
    constant: str
    low: int
    high: int
    flips_at: int
    wins_below: bool  # the verdict at `low`

    def describe(self) -> str:
        if self.constant == "system_prompt_tokens":
            return f"depends on system prompt size (flips at ~{self.flips_at:,} tokens)"
        return f"depends on the turn structure (flips at {self.flips_at} tool calls per turn)"

    def start(self) -> str:
        """The verdict at the low end of the range: `does not win at 200 tokens`."""
        verdict = "wins" if self.wins_below else "does not win"
        if self.constant == "system_prompt_tokens":
            return f"{verdict} at {self.low:,} tokens"
        return f"{verdict} with {self.low} tool call{'s' * (self.low != 1)} per turn"


@dataclass(frozen=True)
class Report:
    ledger: str
    run_id: str | None
    approaches: tuple[str, ...]
    tasks: tuple[str, ...]
    summaries: tuple[ApproachSummary, ...]
    pairs: tuple[PairComparison, ...]
    notes: tuple[str, ...]
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    cases: tuple[CaseFigures, ...] = field(default=(), repr=False)
    flips: tuple[Flip, ...] = ()
    swept: dict[str, tuple[int, int]] = field(default_factory=dict)  # constant -> (low, high) swept
    authoring: tuple[AuthoringFigures, ...] = ()
    model: str = ""  # the model the compared cases ran with (a run may hold several: one report each)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for row, summary in zip(data["summaries"], self.summaries):
            row["wins"] = summary.wins
        for row, case in zip(data["cases"], self.cases):
            row["model_error"] = case.model_error
            if case.gap is not None:
                row["gap"].update(gap=case.gap.gap, calls=case.gap.calls, rest=case.gap.rest,
                                  rest_input=case.gap.rest_input, rest_output=case.gap.rest_output)
        for row, pair in zip(data["pairs"], self.pairs):
            row["interval"] = [pair.tokens.low, pair.tokens.high] if pair.tokens else pair.tokens_note
            row["mcnemar"] = pair.p_value if pair.p_value is not None else pair.mcnemar_note
        for row, written in zip(data["authoring"], self.authoring):
            row["model_error"] = written.model_error
        for row, flip in zip(data["flips"], self.flips):
            row["says"] = flip.describe()
        return data


def _tables(path: Path) -> set[str]:
    _, rows = query(path, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")
    return {r[0] for r in rows}


def _latest_run(path: Path, tables: set[str]) -> str | None:
    sources = ["SELECT run_id FROM cases"] + (["SELECT run_id FROM context_tokens"] if "context_tokens" in tables else [])
    _, rows = query(path, f"""SELECT k.run_id FROM ({' UNION '.join(sources)}) k LEFT JOIN runs r USING (run_id)
                              ORDER BY r.started_at DESC NULLS LAST, k.run_id DESC LIMIT 1""")
    return rows[0][0] if rows else None


def _load(path: Path, run_id: str, tables: set[str], model: str) -> list[CaseFigures]:
    found: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(dict)
    mine = "coalesce(model, '') = ?"  # the cases run with `model` ('' on rows from before models were kept)
    _, verdicts = query(path, f"""
        SELECT c.task, c."case", c.approach, c.status = 'passed' AND NOT EXISTS (
            SELECT 1 FROM evaluations e WHERE e.run_id = c.run_id AND e.task IS NOT DISTINCT FROM c.task
              AND e."case" IS NOT DISTINCT FROM c."case" AND e.approach = c.approach AND e.model IS NOT DISTINCT FROM c.model
              AND NOT coalesce(e.passed, false))
        FROM cases c WHERE c.run_id = ? AND {mine.replace('model', 'c.model')}""", [run_id, model])
    for task, case, approach, passed in verdicts:
        found[(task, case, approach)]["passed"] = bool(passed)
    _, counts = query(path, f'SELECT task, "case", approach, count(*) FROM evaluations WHERE run_id = ? AND {mine} GROUP BY ALL', [run_id, model])
    for task, case, approach, checks in counts:
        if (task, case, approach) in found:
            found[(task, case, approach)]["checks"] = int(checks)
    if "context_tokens" in tables:
        _, sums = query(path, f"""
            SELECT task, "case", approach, phase, component = '{LLM_NODES}', sum(tokens), sum(input_tokens), sum(output_tokens),
                   CASE WHEN count(cost_usd) = count(*) THEN sum(cost_usd) END, bool_and(basis = 'modelled')
            FROM context_tokens WHERE run_id = ? AND {mine} GROUP BY ALL ORDER BY ALL""", [run_id, model])
        for task, case, approach, phase, llm_nodes, tokens, read, written, cost, modelled in sums:
            values = found[(task, case, approach)]
            if llm_nodes:
                values["llm_node_tokens"], values["llm_node_cost_usd"] = int(tokens), cost
                continue
            values.update({f"{phase}_tokens": int(tokens), f"{phase}_cost_usd": cost,
                           f"{phase}_input": None if read is None else int(read), f"{phase}_output": None if written is None else int(written)})
            values["modelled"] = bool(modelled) and values.get("modelled", True)
        for values in found.values():  # cost per run: the orchestrator's and the llm nodes' USD
            if "per_run_cost_usd" in values and "llm_node_cost_usd" in values:
                both = (values["per_run_cost_usd"], values["llm_node_cost_usd"])
                values["per_run_cost_usd"] = None if None in both else both[0] + both[1]
    if "tool_call_savings" in tables:
        _, saved = query(path, f"""SELECT task, "case", approach, step_id, server, tool, direct_tokens - approach_tokens,
                                          direct_output_tokens, saved_cost_usd
                                   FROM tool_call_savings WHERE run_id = ? AND {mine} ORDER BY task, "case", approach, seq""", [run_id, model])
        for task, case, approach, step_id, server, tool, total, written, usd in saved:
            values = found[(task, case, approach)]
            values["saved"] = (*values.get("saved", ()), int(total))
            out = int(written) if written is not None else 0
            values["calls"] = (*values.get("calls", ()), CallSaving(step_id, server, tool, int(total) - out, out, usd))
    if "direct_measured" in tables:
        _, measured = query(path, f"""SELECT task, "case", turns, provider_input, provider_output, recount_input, recount_output
                                      FROM direct_measured WHERE run_id = ? AND {mine}""", [run_id, model])
        for task, case, turns, p_in, p_out, r_in, r_out in measured:
            found[(task, case, "direct")].update(measured_turns=turns, provider_input=p_in, provider_output=p_out,
                                                measured_input=r_in, measured_output=r_out)
    figures = [CaseFigures(task or "", case or "", approach, **values) for (task, case, approach), values in sorted(found.items(), key=str)]
    return _with_gaps(figures)


def _with_gaps(figures: list[CaseFigures]) -> list[CaseFigures]:
    """Each case's per-run gap to direct's figure for the same case: its calls' savings + the rest."""
    direct = {(f.task, f.case): f for f in figures if f.approach == "direct"}
    out = []
    for f in figures:
        d = direct.get((f.task, f.case))
        known = (f.per_run_input, f.per_run_output, d.per_run_input if d else None, d.per_run_output if d else None)
        if f.approach == "direct" or d is None or None in known:
            out.append(f)
            continue
        gap = SavingsBreakdown(d.per_run_input - f.per_run_input, d.per_run_output - f.per_run_output,  # type: ignore[operator]
                               sum(c.saved_input for c in f.calls), sum(c.saved_output for c in f.calls))
        out.append(replace(f, gap=gap))
    return out


def _mean(values: Sequence[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else statistics.fmean(values)  # type: ignore[arg-type]


def _total(values: Sequence[float | None]) -> float | None:
    return None if not values or None in values else float(sum(values))  # type: ignore[arg-type]


def _tokens(value: float) -> str:
    return f"{value:,.0f}"


def _usd(value: float) -> str:
    return f"${value:.6f}"


_UNITS = (("tokens", "per_run_tokens"), ("cost", "per_run_cost_usd"))


def _authoring(f: CaseFigures, unit: str) -> float | None:
    if f.authoring_tokens is None:  # no authoring rows: nothing to write (direct)
        return 0.0
    return float(f.authoring_tokens) if unit == "tokens" else f.authoring_cost_usd


@dataclass
class _Payback:
    """Whether an approach pays back against direct: per unit, [authoring, per run, direct per
    run], each the mean over a task's paired cases, summed over the tasks added (None once a
    figure is unknown)."""

    paired: int = 0
    totals: dict[str, list[float] | None] = field(default_factory=lambda: {"tokens": [0.0, 0.0, 0.0], "cost": [0.0, 0.0, 0.0]})

    def add(self, mine: list[CaseFigures], direct: dict[str, CaseFigures]) -> None:
        both = [(f, direct[f.case]) for f in mine
                if f.case in direct and f.per_run_tokens is not None and direct[f.case].per_run_tokens is not None]
        if not both:
            return
        self.paired += len(both)
        for unit, run in _UNITS:
            means = (_mean([_authoring(f, unit) for f, _ in both]), _mean([_authoring(d, unit) for _, d in both]),
                     _mean([getattr(f, run) for f, _ in both]), _mean([getattr(d, run) for _, d in both]))
            totals = self.totals[unit]
            if totals is None or None in means:
                self.totals[unit] = None
                continue
            authoring, direct_authoring, per_run, direct_per_run = means
            self.totals[unit] = [totals[0] + authoring - direct_authoring, totals[1] + per_run, totals[2] + direct_per_run]  # type: ignore[operator]

    def figures(self, unit: str) -> list[float] | None:
        return self.totals[unit] if self.paired else None

    def runs(self, unit: str) -> int | None:
        figures = self.figures(unit)
        return None if figures is None else runs_to_pay_back(figures[0], figures[2] - figures[1])

    def reasons(self) -> list[str]:
        """Why direct beats the approach here: per run (never pays back), or on a single run
        (pays back after n). Tokens and cost are one reason when they agree, two otherwise."""
        found = {}
        for unit, _ in _UNITS:
            figures, runs = self.figures(unit), self.runs(unit)
            if figures is not None and (runs is None or runs > 1):
                found[unit] = (runs, figures)
        if not found:
            return []

        def said(unit: str) -> str:
            runs, (authoring, per_run, direct) = found[unit]
            if unit == "tokens":
                return f"{_tokens(direct)} tokens vs {_tokens(per_run)}" if runs is None else \
                    f"{_tokens(direct)} tokens vs {_tokens(authoring)} to author + {_tokens(per_run)} per run"
            return f"{_usd(direct)} vs {_usd(per_run)}" if runs is None else \
                f"{_usd(direct)} vs {_usd(authoring)} to author + {_usd(per_run)} per run"

        def reason(runs: int | None, text: str, on: str = "") -> str:
            if runs is None:
                return f"direct is cheaper per run{on}: {text}"
            return f"direct is cheaper{on} for a single run: {text}; pays back after {runs} runs"

        if len(found) == 2 and found["tokens"][0] == found["cost"][0]:
            return [reason(found["tokens"][0], f"{said('tokens')} ({said('cost')})")]
        return [reason(found[u][0], said(u), "" if u == "tokens" else " on cost") for u in found]


def _summary(task: str | None, approach: str, figures: list[CaseFigures], payback: _Payback | None) -> ApproachSummary:
    judged = [f.passed for f in figures if f.passed is not None]
    with_context = [f for f in figures if f.per_run_tokens is not None]
    saved = [s for f in figures for s in f.saved]
    by_task: dict[str, list[CaseFigures]] = defaultdict(list)
    for f in with_context:
        by_task[f.task].append(f)
    # one artefact per task: the mean over its cases, summed over tasks
    authoring = {unit: [_mean([_authoring(f, unit) for f in group]) for group in by_task.values()] for unit, _ in _UNITS}
    gaps = [f.gap for f in with_context if f.gap is not None]
    mine = approach != "direct"
    return ApproachSummary(
        task=task, approach=approach, cases=len(figures), judged=len(judged), passed=sum(judged),
        checks=sum(f.checks for f in figures if f.passed is not None),
        modelled=bool(with_context) and all(f.modelled for f in with_context),
        pass_rate=sum(judged) / len(judged) if judged else None,
        per_run_tokens=_mean([f.per_run_tokens for f in with_context]),
        per_run_input=_mean([f.per_run_input for f in with_context]),
        per_run_output=_mean([f.per_run_output for f in with_context]),
        per_run_cost_usd=_mean([f.per_run_cost_usd for f in with_context]),
        llm_node_tokens=_mean([f.llm_node_tokens for f in with_context]) if any(f.llm_node_tokens is not None for f in with_context) else None,
        authoring_tokens=_total(authoring["tokens"]),
        authoring_cost_usd=_total(authoring["cost"]),
        vs_direct=payback is not None and payback.paired > 0,
        payback_runs=payback.runs("tokens") if payback else None,
        payback_runs_cost=payback.runs("cost") if payback else None,
        tool_calls=len(saved),
        saved_median=statistics.median(saved) if mine and len(saved) >= MIN_MEDIAN_CALLS else None,
        saved_values=tuple(saved) if mine and len(saved) < MIN_MEDIAN_CALLS else (),
        saved_total=sum(saved) if saved and mine else None,
        gap_calls=statistics.fmean([g.calls for g in gaps]) if gaps and mine else None,
        gap_rest=statistics.fmean([g.rest for g in gaps]) if gaps and mine else None,
        not_winning=tuple(payback.reasons()) if payback else (),
    )


def _with_pass_reasons(rows: list[ApproachSummary]) -> list[ApproachSummary]:
    judged = [r for r in rows if r.pass_rate is not None]
    out = []
    for row in rows:
        reasons = list(row.not_winning)
        if row.pass_rate is not None:
            better = max((r for r in judged if r.approach != row.approach), key=lambda r: r.pass_rate or 0.0, default=None)
            if better is not None and (better.pass_rate or 0.0) > row.pass_rate:
                reasons.append(f"lower pass rate than {better.approach}: {row.pass_rate:.0%} vs {better.pass_rate:.0%}")
        out.append(replace(row, not_winning=tuple(reasons)))
    return out


def _pairs(task: str | None, approaches: Sequence[str], figures: dict[str, dict[tuple[str, str], CaseFigures]],
           resamples: int, seed: int) -> list[PairComparison]:
    out = []
    for i, first in enumerate(approaches):
        for second in approaches[i + 1:]:
            a, b = figures.get(first, {}), figures.get(second, {})
            keys = sorted(k for k in a.keys() & b.keys() if task is None or k[0] == task)
            tokens = [(a[k].per_run_tokens, b[k].per_run_tokens) for k in keys if a[k].per_run_tokens is not None and b[k].per_run_tokens is not None]
            verdicts = [(a[k].passed, b[k].passed) for k in keys if a[k].passed is not None and b[k].passed is not None]
            if not tokens and not verdicts:
                continue
            enough = len(tokens) >= MIN_BOOTSTRAP_PAIRS
            interval = paired_bootstrap([x for x, _ in tokens], [y for _, y in tokens], resamples=resamples, seed=seed) if enough else None
            only_first = sum(1 for x, y in verdicts if x and not y)
            only_second = sum(1 for x, y in verdicts if y and not x)
            discordant = only_first + only_second
            tested = bool(verdicts) and discordant >= MIN_DISCORDANT_PAIRS
            out.append(PairComparison(
                task, first, second, interval, len(verdicts), only_first, only_second,
                mcnemar_exact(only_first, only_second) if tested else None,
                tokens_n=len(tokens),
                tokens_mean=statistics.fmean([x - y for x, y in tokens]) if tokens else None,
                tokens_note=None if enough else too_small(len(tokens)),
                mcnemar_note=None if tested else too_small(discordant, "discordant pairs") if verdicts else None,
            ))
    return out


def verdicts(figures: Sequence[CaseFigures], approaches: Sequence[str] | None = None) -> dict[tuple[str | None, str], bool]:
    """Whether each approach wins against direct on cost and tokens, per task and overall (task
    None), from per-case figures alone (pass rates aside): what a sensitivity sweep recomputes."""
    chosen = tuple(approaches) if approaches is not None else _order(f.approach for f in figures)
    by_approach: dict[str, dict[tuple[str, str], CaseFigures]] = defaultdict(dict)
    for f in figures:
        by_approach[f.approach][(f.task, f.case)] = f
    tasks = sorted({f.task for f in figures})
    found: dict[tuple[str | None, str], bool] = {}
    for approach in chosen:
        if approach == "direct":
            continue
        overall = _Payback()
        for task in tasks:
            mine = [f for (t, _), f in sorted(by_approach[approach].items()) if t == task]
            if not mine:
                continue
            direct = {f.case: f for (t, _), f in by_approach["direct"].items() if t == task}
            payback = _Payback()
            payback.add(mine, direct)
            overall.add(mine, direct)
            if payback.paired:
                found[(task, approach)] = not payback.reasons()
        if overall.paired:
            found[(None, approach)] = not overall.reasons()
    return found


def _order(approaches: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(approaches), key=lambda a: (_ORDER.index(a) if a in _ORDER else len(_ORDER), a)))


def compare(
    ledger_path: Path | str,
    run_id: str | None = None,
    approaches: Sequence[str] | None = None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    flips: Sequence[Flip] = (),
    swept: dict[str, tuple[int, int]] | None = None,
    model: str | None = None,
) -> Report:
    """Compare the approaches of one run of the ledger, per task and over every task, for the
    cases run with one model.

    Args:
        ledger_path: the DuckDB ledger.
        run_id: the run (default: the latest with cases or context rows).
        approaches: which to compare (default: every one the run has), in this order.
        resamples, seed: of the paired bootstrap (10,000 resamples, seed 0).
        flips, swept: a sensitivity sweep's verdict flips and the ranges swept
            (`harness.compare.sweep`); each flip is named on its row and in the notes.
        model: the cases run with this model (default: the run's first model, in name order;
            `run_models` lists them).

    Raises:
        FileNotFoundError: no ledger at `ledger_path`.
        LedgerError: not a ledger, or a writer has it open.
    """
    path = Path(ledger_path)
    tables = _tables(path)
    run_id = run_id or _latest_run(path, tables)
    if model is None:
        _, found = query(path, "SELECT min(coalesce(model, '')) FROM cases WHERE run_id = ?", [run_id]) if run_id else (None, [])
        model = (found[0][0] if found else None) or ""
    loaded = _load(path, run_id, tables, model) if run_id else []
    chosen = tuple(approaches) if approaches is not None else _order(f.approach for f in loaded)
    loaded = [f for f in loaded if f.approach in chosen]
    tasks = tuple(sorted({f.task for f in loaded}))
    by_approach: dict[str, dict[tuple[str, str], CaseFigures]] = defaultdict(dict)
    for f in loaded:
        by_approach[f.approach][(f.task, f.case)] = f

    summaries: list[ApproachSummary] = []
    pairs: list[PairComparison] = []
    notes: list[str] = []
    overall_payback = {a: _Payback() for a in chosen}
    for task in (*tasks, None):
        rows = []
        for approach in chosen:
            mine = [f for (t, _), f in sorted(by_approach[approach].items()) if task is None or t == task]
            if not mine:
                continue
            payback = None
            if approach != "direct" and "direct" in chosen:
                if task is None:
                    payback = overall_payback[approach]
                else:
                    direct = {f.case: f for (t, _), f in by_approach["direct"].items() if t == task}
                    payback = _Payback()
                    payback.add(mine, direct)
                    overall_payback[approach].add(mine, direct)
            rows.append(_summary(task, approach, mine, payback))
        rows = _with_pass_reasons(rows)
        rows = [replace(r, depends_on=tuple(f.describe() for f in flips if f.task == task and f.approach == r.approach)) for r in rows]
        summaries += rows
        pairs += _pairs(task, chosen, by_approach, resamples, seed)
        judged_rows = [r for r in rows if r.judged]
        if len({r.checks for r in judged_rows}) > 1:
            counts = ", ".join(f"{r.approach} {r.checks}" for r in judged_rows)
            notes.append(f"{task or 'all tasks'}: pass rates rest on different numbers of golden checks ({counts}): "
                         "a pass under fewer checks says less")
        losing = [f"{r.approach} does not win: {'; '.join(r.not_winning)}" for r in rows if r.not_winning]
        if losing:
            notes.append(f"{task or 'all tasks'}: " + " | ".join(losing))
        for r in rows:
            for said in r.depends_on:
                notes.append(f"{task or 'all tasks'}: {r.approach} {'wins' if r.wins else 'does not win'} at the settings given, but its verdict {said}")
    direct_rows = [s for s in summaries if s.approach == "direct" and s.task is None]
    if direct_rows and direct_rows[0].judged == 0:
        notes.append("direct: modelled from the recorded calls of the other approaches; it has no pass/fail of its own")
    errors = [f.model_error for f in loaded if f.approach == "direct" and f.model_error is not None]
    if errors:
        passed = sum(1 for f in loaded if f.approach == "direct" and f.measured_turns is not None and f.passed)
        notes.append(f"direct: run for real on {len(errors)} case(s) ({passed} passed); the model's per-run tokens against what those "
                     f"runs sent and wrote: median error {statistics.median(errors):+.0%} (from {min(errors):+.0%} to {max(errors):+.0%}). "
                     "The runs' turns are not the model's turns (a run retries, stops early, answers without calling): "
                     "the error measures the model against this model's behaviour, not against an ideal agent")
    authoring = _authoring_rows(path, run_id, tables, loaded) if run_id else []
    if authoring:
        valid = sum(a.valid for a in authoring)
        notes.append(f"authoring: {len(authoring)} recorded `flowtape author` run(s), {valid} with a valid artefact; the modelled authoring "
                     "figure counts the hand-written artefact, the measured one what the model read and wrote trying")
    return Report(str(path), run_id, chosen, tasks, tuple(summaries), tuple(pairs), tuple(notes), resamples, seed, tuple(loaded),
                  tuple(flips), dict(swept or {}), tuple(authoring), model)


def _authoring_rows(path: Path, run_id: str, tables: set[str], loaded: Sequence[CaseFigures]) -> list[AuthoringFigures]:
    if "authoring_measured" not in tables:
        return []
    _, rows = query(path, """SELECT task, approach, model, turns, valid, provider_input, provider_output, recount_input, recount_output
                             FROM authoring_measured WHERE run_id = ? ORDER BY ALL""", [run_id])
    out = []
    for task, approach, model, turns, valid, p_in, p_out, r_in, r_out in rows:
        modelled = _mean([f.authoring_tokens for f in loaded if f.task == task and f.approach == approach])
        out.append(AuthoringFigures(task, approach, model, int(turns), bool(valid), modelled, r_in, r_out, p_in, p_out))
    return out
