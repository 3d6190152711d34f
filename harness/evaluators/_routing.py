"""Routing: which steps ran, and how often the retry policy tried.

    steps:
      summarize: [StepRan, {Attempts: {max: 2}}]
      fallback:  [StepSkipped]        # the error edge was not taken
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
    """The step's retry policy tried at most `max` times, or `exactly` times."""

    max: int | None = None
    exactly: int | None = None

    def __post_init__(self) -> None:
        if self.max is None and self.exactly is None:
            raise ValueError("give max, exactly or both")
        for name in ("max", "exactly"):
            limit = getattr(self, name)
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1, got {limit}")

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        step = target_step(ctx, self)
        if isinstance(step, EvaluationResult):
            return step
        n = step.attempts
        if self.exactly is not None and n != self.exactly:
            return verdict(ctx, self, False, f"{n} attempt(s), expected exactly {self.exactly}")
        if self.max is not None and n > self.max:
            return verdict(ctx, self, False, f"{n} attempt(s) > max {self.max}")
        return verdict(ctx, self, True, f"{n} attempt(s)")
