"""`LLMJudge`: a model grades a value against a rubric.

    steps:
      summarize: [{LLMJudge: "names every breaking change"}]
      headline:  [{LLMJudge: {rubric: "one line, no markdown", threshold: 0.8, model: gpt-4o-mini}}]

The judge calls through the run's `LLMClient` (cassette-backed in a suite run, so judging
records once and replays), at temperature 0, asking for schema-constrained JSON
`{"score": 0..1, "reason": "..."}`; it passes when score >= threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext
from harness.evaluators._common import as_data, clip, verdict
from runner.clients import LLMRequest

SYSTEM = (
    "You grade one output of an automated workflow against a rubric. "
    "Reply with JSON only: {\"score\": <number from 0 to 1>, \"reason\": \"<one sentence>\"}. "
    "Score 1 when the output fully meets the rubric, 0 when it does not meet it at all."
)
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
    "additionalProperties": False,
}
MAX_TOKENS = 300


@dataclass
class LLMJudge(Evaluator):
    """A model scores the value against `rubric`; passes when score >= `threshold`.

    Attributes:
        rubric: what a good value is, in words.
        model: the judge model (default: the run's judge model).
        threshold: the lowest passing score, 0 to 1.
    """

    rubric: str
    model: str | None = None
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if not self.rubric.strip():
            raise ValueError("rubric is empty")
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must be between 0 and 1, got {self.threshold}")

    def request(self, ctx: EvaluatorContext, model: str) -> LLMRequest:
        prompt = f"Rubric:\n{self.rubric}\n\nOutput to grade ({ctx.target}):\n<<<\n{ctx.text()}\n>>>"
        return LLMRequest(
            model=model,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
            temperature=0,
            max_tokens=MAX_TOKENS,
            response_format={"type": "json_schema", "json_schema": {"name": "judgement", "schema": VERDICT_SCHEMA, "strict": True}},
            step_id=f"judge:{ctx.target}",
        )

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        if ctx.llm is None:
            return verdict(ctx, self, False, "LLMJudge needs a model client, and this evaluation has none", error=True)
        model = self.model or ctx.judge_model
        if not model:
            return verdict(ctx, self, False, "LLMJudge has no model: name one (model:) or set the run's judge model", error=True)
        reply = ctx.llm.complete(self.request(ctx, model))
        score, reason, problem = _read(reply.text)
        if problem:
            return verdict(ctx, self, False, f"judge {model} replied {problem}: {clip(reply.text, 200)}", error=True)
        assert score is not None
        passed = score >= self.threshold
        return verdict(ctx, self, passed, f"score {score:g} {'>=' if passed else '<'} threshold {self.threshold:g}: {reason}", score=score)


def _read(text: str) -> tuple[float | None, str, str | None]:
    """(score, reason, None) from a judge's reply, or (None, "", what is wrong with it)."""
    import jsonschema

    data, not_json = as_data(text.strip())
    if not_json:
        return None, "", f"with text that is not JSON ({not_json})"
    errors = list(jsonschema.Draft202012Validator(VERDICT_SCHEMA).iter_errors(data))
    if errors:  # (jsonschema counts a boolean as no number)
        return None, "", f"JSON that is not {{score, reason}} ({errors[0].message})"
    return float(data["score"]), data["reason"], None

