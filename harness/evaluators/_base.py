"""What every evaluator shares: the context it reads and the result it returns.

An evaluator is a small dataclass with one `evaluate(ctx)`. It reads one target of a trace -- a
step (`ctx.step`, its primary value in `ctx.value`) or a declared output (`ctx.value`) -- and
returns `True`/`False`, or an `EvaluationResult` when it has a score or a reason to give. An
evaluator that raises is recorded as a failure of that evaluator, never a crashed suite.

    @dataclass
    class Contains(Evaluator):
        text: str
        def evaluate(self, ctx): return self.text in ctx.text()
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from runner.clients import LLMClient
from runner.trace import StepRecord, Trace

__all__ = ["EvaluationResult", "Evaluator", "EvaluatorContext", "primary_value"]

# The output key that holds what a step of each kind produced, for evaluators that look at one
# value (Contains, Regex, JsonSchema, ...).
PRIMARY_KEYS = {"mcp": "result", "llm": "response", "shell": "stdout", "http": "response", "file": "content", "review": "decision", "route": "route"}


def primary_value(step: StepRecord) -> Any:
    output = step.output or {}
    key = PRIMARY_KEYS.get(step.kind)
    return output.get(key) if key and key in output else output


@dataclass(frozen=True)
class EvaluationResult:
    """One evaluator's verdict on one target. `error` is set when the evaluator itself failed
    (bad arguments, a crash): the verdict is then a failure with the error as its reason."""

    target: str  # "steps.<step_id>" or "outputs.<name>"
    evaluator: str  # the evaluator as written, e.g. "Contains" or "MaxResultTokens"
    passed: bool
    score: float | None = None
    reason: str = ""
    error: bool = False

    def as_row(self) -> dict[str, Any]:
        return {"target": self.target, "evaluator": self.evaluator, "passed": self.passed, "score": self.score, "reason": self.reason, "error": self.error}


@dataclass
class EvaluatorContext:
    """What an evaluator may read.

    Attributes:
        trace: the whole run.
        target: "steps.<id>" or "outputs.<name>".
        step: the step record for a step target (None if the step did not run, or for outputs).
        value: the step's primary value (see PRIMARY_KEYS) or the output's value.
        base_dir: the task folder: `expected_file` and `$ref` paths are relative to it.
        count_tokens: counts tokens of a text with the configured tokenizer.
        tokenizer: the tokenizer's name, for reasons ("o200k_base").
        llm: the model client for model-judged evaluators (cassette-backed in a suite run).
        judge_model: the model LLMJudge uses when it names none.
    """

    trace: Trace
    target: str
    step: StepRecord | None
    value: Any
    base_dir: Path
    count_tokens: Callable[[str], int]
    tokenizer: str = "o200k_base"
    llm: LLMClient | None = None
    judge_model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def text(self, value: Any = None) -> str:
        """The value as text: strings as they are, anything else as JSON."""
        v = self.value if value is None else value
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)


class Evaluator:
    """Base of evaluators (subclasses are dataclasses). `name` defaults to the class name.

    `accepts_absence`: an evaluator that can judge a step that did not run or an output that was
    not produced (StepSkipped, MaxCost, ...); every other evaluator fails on such a target
    without being called."""

    name: ClassVar[str] = ""
    accepts_absence: ClassVar[bool] = False

    def evaluate(self, ctx: EvaluatorContext) -> bool | EvaluationResult:  # pragma: no cover - abstract
        raise NotImplementedError
