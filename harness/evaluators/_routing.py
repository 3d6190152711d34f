"""Routing: which steps ran, and how often the retry policy tried.

    steps:
      summarize: [StepRan, {Attempts: {max: 2}}]
      fallback:  [StepSkipped]        # the error edge was not taken
      extract:   [{Attempts: {exactly: 2, of: contract}}]   # the reply was checked twice
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext
from harness.evaluators._common import is_output, target_name, target_step, verdict


def _outcome(ctx: EvaluatorContext) -> str:
    step = ctx.step
    assert step is not None
    tries = f"{step.attempts} attempt{'s' * (step.attempts != 1)}"
    return f"{tries}, failed: {step.error}" if step.error else f"{tries}, succeeded"


@dataclass
class StepRan(Evaluator):
    """The step ran (whether it then succeeded or not)."""

    accepts_absence: ClassVar[bool] = True

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        if is_output(ctx):
            return verdict(ctx, self, False, "StepRan does not apply to outputs: it reads a step")
        if ctx.step is None:
            return verdict(ctx, self, False, f"step '{target_name(ctx)}' did not run")
        return verdict(ctx, self, True, f"ran ({_outcome(ctx)})")


@dataclass
class StepSkipped(Evaluator):
    """The step did not run: the route went around it."""

    accepts_absence: ClassVar[bool] = True

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        if is_output(ctx):
            return verdict(ctx, self, False, "StepSkipped does not apply to outputs: it reads a step")
        if ctx.step is None:
            return verdict(ctx, self, True, "did not run")
        return verdict(ctx, self, False, f"step '{ctx.step.step_id}' ran ({_outcome(ctx)})")


@dataclass
class Attempts(Evaluator):
    """The step's retry policy tried at most `max` times, or `exactly` times. With `of: contract`
    it counts an llm step's contract attempts instead: the replies checked against its
    `output_schema`, over every model it tried (`retry: {on: contract}`)."""

    max: int | None = None
    exactly: int | None = None
    of: str = "retries"

    def __post_init__(self) -> None:
        if self.max is None and self.exactly is None:
            raise ValueError("give max, exactly or both")
        for name in ("max", "exactly"):
            limit = getattr(self, name)
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1, got {limit}")
        if self.of not in ("retries", "contract"):
            raise ValueError(f"of is retries or contract, got {self.of!r}")

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        step = target_step(ctx, self)
        if isinstance(step, EvaluationResult):
            return step
        n, what = step.attempts, "attempt(s)"
        if self.of == "contract":
            if step.kind != "llm":
                return verdict(ctx, self, False, f"Attempts of contract does not apply to step '{step.step_id}': it is a {step.kind} step, not an llm step")
            checked = [c for c in step.calls if c.outcome != "provider_error"]
            n, what = (len(checked) if step.calls else int(step.llm is not None)), "contract attempt(s)"
            failed = [c.error for c in checked if c.outcome == "contract_failed"]
            what += f" ({len(failed)} broke it: {failed[-1]})" if failed else ""
        if self.exactly is not None and n != self.exactly:
            return verdict(ctx, self, False, f"{n} {what}, expected exactly {self.exactly}")
        if self.max is not None and n > self.max:
            return verdict(ctx, self, False, f"{n} {what} > max {self.max}")
        return verdict(ctx, self, True, f"{n} {what}")
