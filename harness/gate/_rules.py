"""The policy's rules applied to a run (and its baseline): one `Failure` per violation.

The golden checks count too: an approach whose pass rate is below its `min_pass_rate` (default
1.0, so by default every case must pass) fails the gate with one failure per failing target
(step or output) of each failing case; when the rate holds, the failing cases are allowed and
listed as notes.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from harness.gate._figures import CaseFigures, CaseKey, RunFigures, StepFigures
from harness.gate._policy import Limit, Policy, lookup, lookup_pattern
from harness.gate._schemas import ServerSchema

__all__ = ["Failure", "Verdicts", "evaluate", "format_value"]

EPSILON = 1e-9
Bound = Literal["max", "min"]


def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "unknown"
    if metric in ("tokens", "schema_tokens"):
        return f"{value:,.0f}"
    if metric == "cost_usd":
        return f"${value:,.6f}"
    if metric == "duration_ms":
        return f"{value:,.1f} ms"
    if metric in ("pass_rate", "savings"):
        return f"{value:.1%}"
    return f"{value:g}"


def _change_text(change: float | None) -> str:
    if change is None:
        return ""
    return " (new)" if math.isinf(change) else f" ({change:+.1%})"


@dataclass(frozen=True)
class Failure:
    """One violated rule. `threshold` is the bound the value broke (for a regression, the
    baseline plus what the limit allows); `bound` says whether it is a maximum or a minimum."""

    rule: str
    metric: str
    value: float | None
    threshold: float | None
    baseline: float | None = None
    task: str | None = None
    case: str | None = None
    approach: str | None = None
    model: str | None = None
    step: str | None = None
    server: str | None = None
    bound: Bound = "max"
    detail: str = ""
    show_model: bool = False  # the run holds several models: say which

    @property
    def key(self) -> CaseKey | None:
        return (self.task, self.case, self.approach, self.model or "") if self.task and self.case and self.approach else None

    @property
    def change(self) -> float | None:
        """(value - baseline) / baseline; +-inf from a zero baseline; None when either is unknown."""
        if self.value is None or self.baseline is None:
            return None
        if self.baseline == 0:
            return 0.0 if self.value == 0 else math.copysign(math.inf, self.value)
        return (self.value - self.baseline) / abs(self.baseline)

    @property
    def severity(self) -> float | None:
        """The relative change in the bad direction (growth of a maximum, drop of a minimum)."""
        change = self.change
        return None if change is None else (change if self.bound == "max" else -change)

    @property
    def excess(self) -> float:
        """How far past its threshold the value is, relative to the threshold."""
        if self.value is None or self.threshold is None:
            return math.inf
        if self.threshold == 0:
            return math.inf if self.value != 0 else 0.0
        return (self.value - self.threshold) / abs(self.threshold) * (1 if self.bound == "max" else -1)

    @property
    def where(self) -> str:
        if self.server is not None:
            return f"server {self.server}"
        text = f"{self.task}/{self.case} " if self.task and self.case else ""
        label = f"{self.approach} · {self.model}" if self.show_model and self.model else self.approach
        text += f"[{label}]" if label else "run"
        return text + (f" step {self.step}" if self.step else "")

    @property
    def message(self) -> str:
        """`task/case [approach] step s: metric value > threshold (rule); baseline b (+x%) -- detail`"""
        if self.value is None and self.threshold is None:
            return f"{self.where}: {self.detail}"
        op = ">" if self.bound == "max" else "<"
        value = format_value(self.metric, self.value)
        text = f"{self.where}: {self.metric} {value} {op} {format_value(self.metric, self.threshold)} ({self.rule})"
        if self.value is None:
            text = f"{self.where}: {self.metric} unknown, {'limit' if self.bound == 'max' else 'minimum'} {format_value(self.metric, self.threshold)} ({self.rule})"
        text += f"; baseline {format_value(self.metric, self.baseline)}{_change_text(self.change)}" if self.baseline is not None else "; baseline n/a"
        return text + (f" -- {self.detail}" if self.detail else "")


def sort_failures(failures: list[Failure]) -> list[Failure]:
    """Largest regression against the baseline first (by relative change); those without a
    baseline after, the furthest past their threshold first."""
    return sorted(failures, key=lambda f: (f.severity is None, -(f.severity or 0.0), -f.excess, f.where, f.rule))


@dataclass
class Verdicts:
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    allowed: dict[CaseKey, list[str]] = field(default_factory=dict)  # golden failures min_pass_rate allows


def _rule(table: str, key: str) -> str:
    return f"{table}.{key}" if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'{table}."{key}"'


def _checks(case: CaseFigures) -> list[tuple[str | None, str]]:
    """(step, what failed) per failing target of the case, plus its run error."""
    by_target: dict[str, list[str]] = defaultdict(list)
    for target, evaluator, reason in case.failed_checks:
        by_target[target].append(f"{evaluator}: {reason}" if reason else evaluator)
    out: list[tuple[str | None, str]] = []
    if case.status != "passed":
        out.append((None, f"case {case.status}" + (f": {case.error}" if case.error else "")))
    for target, reasons in by_target.items():
        step = target.removeprefix("steps.") if target.startswith("steps.") else None
        out.append((step, f"golden check failed: {target} {'; '.join(reasons)}"))
    return out


def _golden(policy: Policy, run: RunFigures, base: RunFigures | None, out: Verdicts) -> None:
    for approach, model in run.arms():  # a pass rate per approach and model
        rate = run.pass_rate(approach, model=model)
        entry = lookup(policy.min_pass_rate, approach)
        rule, minimum = (_rule("min_pass_rate", entry[0]), entry[1]) if entry else ("default min_pass_rate", 1.0)
        failing = [c for c in run.cases.values() if c.approach == approach and c.model == model and not c.passed]
        if not failing or rate is None:
            continue
        base_rate = base.pass_rate(approach, model=model) if base else None
        if rate + EPSILON >= minimum:
            for case in failing:
                out.allowed[case.key] = [what for _, what in _checks(case)]
            out.notes.append(f"{len(failing)} {run.label(approach, model)} case(s) failed golden checks, allowed by {rule} = {minimum:g} "
                             f"(pass rate {rate:.1%})")
            continue
        for case in failing:
            for step, what in _checks(case):
                out.failures.append(Failure(rule, "pass_rate", rate, minimum, base_rate, case.task, case.case, approach, model, step,
                                            bound="min", detail=what))


def _limits(policy: Policy, run: RunFigures, base: RunFigures | None, out: Verdicts) -> None:
    for key, case in run.cases.items():
        was = base.cases.get(key) if base else None
        for table_name, metric, value, old in (("max_tokens_per_case", "tokens", case.tokens, was.tokens if was else None),
                                               ("max_cost_per_case", "cost_usd", case.cost_usd, was.cost_usd if was else None)):
            entry = lookup(getattr(policy, table_name), case.approach)
            if entry and (value is None or value > entry[1] + EPSILON):
                detail = "a model call has no known price" if value is None else ""
                out.failures.append(Failure(_rule(table_name, entry[0]), metric, value, entry[1], old, *key, detail=detail))
        for step in case.steps.values():
            old_step = was.steps.get(step.step_id) if was else None
            entry = lookup_pattern(policy.max_tokens_per_step, step.step_id)
            if entry and step.tokens > entry[1]:
                out.failures.append(Failure(_rule("max_tokens_per_step", entry[0]), "tokens", step.tokens, entry[1],
                                            old_step.tokens if old_step else None, *key, step.step_id))
            entry = lookup_pattern(policy.max_cost_per_step, step.step_id)
            if entry and step.has_llm and (step.cost_usd is None or step.cost_usd > entry[1] + EPSILON):
                out.failures.append(Failure(_rule("max_cost_per_step", entry[0]), "cost_usd", step.cost_usd, entry[1],
                                            old_step.cost_usd if old_step else None, *key, step.step_id,
                                            detail="a model call has no known price" if step.cost_usd is None else ""))


_GROWING: tuple[tuple[str, str, Callable[[CaseFigures | StepFigures], float | None]], ...] = (
    ("tokens", "tokens", lambda f: f.tokens),
    ("cost", "cost_usd", lambda f: f.cost_usd),
    ("duration", "duration_ms", lambda f: f.duration_ms),
)


def _grew(limit: Limit, rule: str, metric: str, now: float | None, was: float | None, key: CaseKey, step: str | None, out: Verdicts) -> None:
    if now is None or was is None:
        return
    ceiling = was + limit.allowed(was)
    if now > ceiling + EPSILON:
        out.failures.append(Failure(rule, metric, now, ceiling, was, *key, step, detail=f"allowed growth: {limit.describe()}"))


def _regressions(policy: Policy, run: RunFigures, base: RunFigures | None, out: Verdicts) -> None:
    limits = policy.max_regression
    if limits is None:
        return
    if base is None:
        out.notes.append("no baseline: max_regression not checked (record one with flowtape gate --update-baseline, or pass --baseline)")
        return
    common = run.cases.keys() & base.cases.keys()
    new = sorted(run.cases.keys() - base.cases.keys())
    gone = sorted(base.cases.keys() - run.cases.keys())
    if new:
        out.notes.append(f"{len(new)} case(s) not in the baseline, not compared: " + ", ".join(f"{t}/{c} [{run.label(a, m)}]" for t, c, a, m in new))
    if gone:
        out.notes.append(f"{len(gone)} baseline case(s) did not run: " + ", ".join(f"{t}/{c} [{base.label(a, m)}]" for t, c, a, m in gone))
    for name, metric, read in _GROWING:
        limit: Limit | None = getattr(limits, name)
        if limit is None:
            continue
        rule = f"max_regression.{name}"
        for key in sorted(common):
            now, was = run.cases[key], base.cases[key]
            _grew(limit, rule, metric, read(now), read(was), key, None, out)
            for step_id in now.steps.keys() & was.steps.keys():
                a, b = now.steps[step_id], was.steps[step_id]
                if (name == "tokens" and a.tokens == b.tokens == 0) or (name == "cost" and not (a.has_llm or b.has_llm)):
                    continue
                _grew(limit, rule, metric, read(a), read(b), key, step_id, out)
    if limits.pass_rate is not None:
        for approach, model in run.arms():
            pairs = {(t, c) for t, c, a, m in common if a == approach and m == model}
            now, was = run.pass_rate(approach, pairs, model), base.pass_rate(approach, pairs, model)
            if now is None or was is None:
                continue
            floor = was - limits.pass_rate.allowed(was)
            if now + EPSILON < floor:
                for task, case in sorted(pairs):
                    key = (task, case, approach, model)
                    if base.cases[key].passed and not run.cases[key].passed:
                        out.failures.append(Failure("max_regression.pass_rate", "pass_rate", now, floor, was, *key, bound="min",
                                                    detail=f"passed in the baseline, fails now; allowed drop: {limits.pass_rate.describe()}"))


def _savings(policy: Policy, run: RunFigures, base: RunFigures | None, out: Verdicts) -> None:
    for index, rule in enumerate(policy.required_savings):
        name = f"required_savings[{index}]"
        pairs = sorted({(t, c, m) for t, c, a, m in run.context if a == rule.approach and rule.covers(t)}
                       & {(t, c, m) for t, c, a, m in run.context if a == rule.over})
        if not pairs:
            out.failures.append(Failure(name, "savings", None, None, approach=rule.approach,
                                        detail=f"{name}: no case has context figures for both {rule.approach} and {rule.over} in this run"))
            continue
        for task, case, model in pairs:
            mine, theirs = run.context[(task, case, rule.approach, model)], run.context[(task, case, rule.over, model)]
            if theirs <= 0:
                continue
            saved = 1 - mine / theirs
            old = None
            if base and (task, case, rule.approach, model) in base.context and base.context.get((task, case, rule.over, model)):
                old = 1 - base.context[(task, case, rule.approach, model)] / base.context[(task, case, rule.over, model)]
            if saved + EPSILON < rule.at_least:
                out.failures.append(Failure(name, "savings", saved, rule.at_least, old, task, case, rule.approach, model, bound="min",
                                            detail=f"{rule.approach} over {rule.over}: {mine:,} vs {theirs:,} orchestrator context tokens per run"))


def _schemas(policy: Policy, schemas: dict[str, ServerSchema] | None, old: dict[str, int] | None, out: Verdicts) -> None:
    if not policy.max_schema_tokens or schemas is None:
        return
    for server, schema in sorted(schemas.items()):
        entry = lookup(policy.max_schema_tokens, server)
        if entry and schema.tokens > entry[1]:
            out.failures.append(Failure(_rule("max_schema_tokens", entry[0]), "schema_tokens", schema.tokens, entry[1],
                                        (old or {}).get(server), server=server,
                                        detail=f"{schema.tools} tools, tools/list recorded in {schema.cassette}"))
    for server in sorted(set(policy.max_schema_tokens) - set(schemas) - {"*"}):
        out.notes.append(f"max_schema_tokens.{server}: no cassette of this run lists server '{server}'")


def evaluate(policy: Policy, run: RunFigures, base: RunFigures | None = None, schemas: dict[str, ServerSchema] | None = None,
             base_schemas: dict[str, int] | None = None) -> Verdicts:
    """Every rule of `policy` on `run`, against `base` where a rule compares. Failures come
    sorted, the largest regression first."""
    out = Verdicts()
    if run.status != "completed":
        out.failures.append(Failure("run", "status", None, None, detail=f"run {run.run_id} is {run.status}: not every case completed"))
    _golden(policy, run, base, out)
    _limits(policy, run, base, out)
    _regressions(policy, run, base, out)
    _savings(policy, run, base, out)
    _schemas(policy, schemas, base_schemas, out)
    if len(run.models()) > 1:
        out.failures = [replace(f, show_model=True) for f in out.failures]
    out.failures = sort_failures(out.failures)
    return out
