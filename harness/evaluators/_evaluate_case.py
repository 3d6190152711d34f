"""Judging a trace: every evaluator of a case on its step or output, failures kept as data.

    results = evaluate_case(trace, case.steps, case.outputs, base_dir=task.folder,
                            count_tokens=lambda text: len(text.split()))
    case_passed(results), [r.as_row() for r in results if not r.passed]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext, primary_value
from harness.evaluators._common import evaluator_name
from runner.clients import LLMClient
from runner.trace import StepRecord, Trace


def evaluate_case(trace: Trace, steps: Mapping[str, list[Evaluator]], outputs: Mapping[str, list[Evaluator]], *, base_dir: Path,
                  count_tokens: Callable[[str], int], tokenizer: str = "o200k_base", llm: LLMClient | None = None,
                  judge_model: str | None = None) -> list[EvaluationResult]:
    """Run every evaluator on its target and return one result each: steps in the order given,
    then outputs.

    A step target reads the last record of that step id (its primary value); a step that did
    not run, or a declared output the trace does not have, fails every evaluator on it with
    that reason, except evaluators that accept absence (`StepSkipped`, `StepRan`, and `MaxCost`
    / `MaxDuration`, which read the run on an output). An evaluator that raises becomes a failed
    result with `error=True` and the exception as its reason: one bad evaluator never stops a case.
    """
    shared = {"base_dir": Path(base_dir), "count_tokens": count_tokens, "tokenizer": tokenizer, "llm": llm, "judge_model": judge_model}
    results: list[EvaluationResult] = []
    for step_id, evaluators in steps.items():
        step = _last(trace, step_id)
        ctx = EvaluatorContext(trace=trace, target=f"steps.{step_id}", step=step, value=primary_value(step) if step else None, **shared)
        results += _run_all(ctx, evaluators, None if step else f"step '{step_id}' did not run")
    for name, evaluators in outputs.items():
        ctx = EvaluatorContext(trace=trace, target=f"outputs.{name}", step=None, value=trace.outputs.get(name), **shared)
        results += _run_all(ctx, evaluators, None if name in trace.outputs else f"output '{name}' was not produced")
    return results


def case_passed(results: Iterable[EvaluationResult]) -> bool:
    """Whether every evaluation passed (a case with none passes)."""
    return all(r.passed for r in results)


def _last(trace: Trace, step_id: str) -> StepRecord | None:
    try:
        return trace.step(step_id)
    except KeyError:
        return None


def _run_all(ctx: EvaluatorContext, evaluators: list[Evaluator], absent: str | None) -> list[EvaluationResult]:
    out = []
    for evaluator in evaluators:
        name = evaluator_name(evaluator)
        if absent and not getattr(evaluator, "accepts_absence", False):
            out.append(EvaluationResult(target=ctx.target, evaluator=name, passed=False, reason=absent))
            continue
        try:
            out.append(_as_result(ctx, name, evaluator.evaluate(ctx)))
        except Exception as err:  # an evaluator's crash is its failure, never the suite's
            out.append(EvaluationResult(target=ctx.target, evaluator=name, passed=False, reason=f"{type(err).__name__}: {err}", error=True))
    return out


def _as_result(ctx: EvaluatorContext, name: str, outcome: Any) -> EvaluationResult:
    if isinstance(outcome, EvaluationResult):
        return dataclasses.replace(outcome, target=ctx.target, evaluator=name)
    if isinstance(outcome, bool):
        return EvaluationResult(target=ctx.target, evaluator=name, passed=outcome)
    raise TypeError(f"{name}.evaluate returned {type(outcome).__name__}, expected bool or EvaluationResult")
