"""Budgets read from the trace: tokens, cost and time, each reason naming the measured value, where
it came from and the limit.

    steps:
      log:       [{MaxResultTokens: 40000}]                      # an MCP result
      summarize: [{MaxPromptTokens: 2000}, {MaxCompletionTokens: 400}, {MaxCost: 0.01}]
      fetch:     [{MaxDuration: 5}]
    outputs:
      changelog: [{MaxCost: 0.05}, {MaxDuration: 60}]            # on an output: the whole run
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext, primary_value
from harness.evaluators._common import is_output, target_step, verdict


def _within(measured: float, limit: float) -> str:
    return "<=" if measured <= limit else ">"


def _usd(value: float) -> str:
    return f"${value:.6f}".rstrip("0").rstrip(".") if value else "$0"


def result_text(value: Any) -> str:
    """The text a tool result puts before a model: text blocks as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [v if isinstance(v, str) else v["text"] if isinstance(v, dict) and isinstance(v.get("text"), str) else json.dumps(v, ensure_ascii=False)
                 for v in value]
        return "\n".join(parts)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass
class MaxResultTokens(Evaluator):
    """An MCP step's result is at most `tokens` long: the `result_tokens` accounting recorded,
    else counted with the run's tokenizer over the result's text content."""

    tokens: int

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        step = target_step(ctx, self, applies_to="MCP tool steps")
        if isinstance(step, EvaluationResult):
            return step
        if step.tool is None and step.kind != "mcp":
            return verdict(ctx, self, False, f"MaxResultTokens does not apply to step '{step.step_id}': it is a {step.kind} step, not an MCP tool call")
        if step.tool is not None and step.tool.result_tokens is not None:
            measured = step.tool.result_tokens
            how = f"recorded result_tokens, tokenizer {step.tool.tokenizer or 'not named'}"
        else:
            text = result_text(primary_value(step))
            measured = ctx.count_tokens(text)
            how = f"counted with {ctx.tokenizer} over the result's text, {len(text):,} chars"
        return verdict(ctx, self, measured <= self.tokens, f"result tokens {measured:,} ({how}) {_within(measured, self.tokens)} limit {self.tokens:,}")


def _llm_tokens(evaluator: Evaluator, ctx: EvaluatorContext, field: str, limit: int) -> EvaluationResult:
    step = target_step(ctx, evaluator, kinds=("llm",), applies_to="llm steps")
    if isinstance(step, EvaluationResult):
        return step
    label = field.replace("_", " ")
    if step.llm is None:
        return verdict(ctx, evaluator, False, f"step '{step.step_id}' recorded no model usage, so no {label}")
    measured = getattr(step.llm, field)
    if measured is None:
        return verdict(ctx, evaluator, False, f"step '{step.step_id}' has no {label} count (model {step.llm.model})")
    source = f"{step.llm.usage_source}, model {step.llm.model}"
    return verdict(ctx, evaluator, measured <= limit, f"{label} {measured:,} ({source}) {_within(measured, limit)} limit {limit:,}")


@dataclass
class MaxPromptTokens(Evaluator):
    """An llm step's prompt took at most `tokens` (as the provider reported, or counted)."""

    tokens: int

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        return _llm_tokens(self, ctx, "prompt_tokens", self.tokens)


@dataclass
class MaxCompletionTokens(Evaluator):
    """An llm step's completion took at most `tokens`."""

    tokens: int

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        return _llm_tokens(self, ctx, "completion_tokens", self.tokens)


@dataclass
class MaxCost(Evaluator):
    """An llm step's `cost_usd` is at most `usd`; on an output, the whole run's model cost. A cost
    that was not recorded (a model with no price) fails: the budget cannot be checked."""

    usd: float
    accepts_absence: ClassVar[bool] = True  # on an output it reads the run, not the value

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        if is_output(ctx):
            calls = [s for s in ctx.trace.steps if s.llm is not None]
            unknown = [s.step_id for s in calls if s.llm is not None and s.llm.cost_usd is None]
            total = sum(s.llm.cost_usd or 0.0 for s in calls if s.llm is not None)
            if unknown:
                return verdict(ctx, self, False, f"cost not recorded for llm step(s) {', '.join(map(repr, unknown))}; the others total {_usd(total)}, limit {_usd(self.usd)}")
            return verdict(ctx, self, total <= self.usd, f"run cost {_usd(total)} over {len(calls)} llm call(s) {_within(total, self.usd)} limit {_usd(self.usd)}")
        step = target_step(ctx, self, kinds=("llm",), applies_to="llm steps, or an output for the whole run")
        if isinstance(step, EvaluationResult):
            return step
        if step.llm is None or step.llm.cost_usd is None:
            model = f" (model {step.llm.model})" if step.llm else ""
            return verdict(ctx, self, False, f"step '{step.step_id}' has no cost recorded{model}")
        cost = step.llm.cost_usd
        return verdict(ctx, self, cost <= self.usd, f"cost {_usd(cost)} (model {step.llm.model}) {_within(cost, self.usd)} limit {_usd(self.usd)}")


@dataclass
class MaxDuration(Evaluator):
    """A step took at most `seconds` (its `duration_ms`, retries included); on an output, the
    whole run."""

    seconds: float
    accepts_absence: ClassVar[bool] = True  # on an output it reads the run, not the value

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        if is_output(ctx):
            took, what = ctx.trace.duration_ms / 1000, "the run took"
        else:
            step = target_step(ctx, self)
            if isinstance(step, EvaluationResult):
                return step
            took, what = step.duration_ms / 1000, "took"
        return verdict(ctx, self, took <= self.seconds, f"{what} {took:.3f} s {_within(took, self.seconds)} limit {self.seconds:g} s")

