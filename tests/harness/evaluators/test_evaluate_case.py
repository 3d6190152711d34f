"""evaluate_case: every evaluator of a case on its target of a trace, failures kept as data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.evaluators import (
    Contains,
    EvaluationResult,
    Evaluator,
    EvaluatorContext,
    JsonSchema,
    LLMJudge,
    MaxCost,
    MaxDuration,
    MaxResultTokens,
    StepRan,
    StepSkipped,
    case_passed,
    evaluate_case,
    registry,
    parse_evaluator,
)
from runner.clients import LLMRequest, LLMResponse
from tests.harness.evaluators._factories import llm, mcp, shell, trace, words

RUN = trace(
    mcp("log", "feat: a\nfix: b", result_tokens=12, tokenizer="o200k_base"),
    shell("count", "first try", attempts=1),
    shell("count", "2"),  # a loop ran it again: the last record is the one judged
    llm("headline", '{"headline": "Two changes"}', cost_usd=0.001),
    outputs={"features": 1, "headline": "Two changes"},
    duration_ms=2_000,
)


def run(steps: dict[str, list[Evaluator]], outputs: dict[str, list[Evaluator]] | None = None, **options: Any) -> list[EvaluationResult]:
    options = {"base_dir": Path("."), "count_tokens": words, **options}
    return evaluate_case(RUN, steps, outputs or {}, **options)


def rows(results: list[EvaluationResult]) -> list[tuple[str, str, bool, str]]:
    return [(r.target, r.evaluator, r.passed, r.reason) for r in results]


def test_results_come_in_case_order_steps_then_outputs() -> None:
    results = run(
        {"headline": [Contains("Two")], "log": [MaxResultTokens(40_000), Contains("feat:")]},
        {"headline": [Contains("Two")], "features": [MaxCost(0.01)]},
    )
    assert [(r.target, r.evaluator) for r in results] == [
        ("steps.headline", "Contains"),
        ("steps.log", "MaxResultTokens"),
        ("steps.log", "Contains"),
        ("outputs.headline", "Contains"),
        ("outputs.features", "MaxCost"),
    ]
    assert case_passed(results)


def test_a_step_is_judged_on_its_last_record() -> None:
    (result,) = run({"count": [Contains("2")]})
    assert result.passed and result.reason == "found at char 0"
    (result,) = run({"count": [Contains("first")]})
    assert not result.passed


def test_a_step_that_did_not_run_fails_all_but_routing_evaluators() -> None:
    results = run({"fallback": [StepSkipped(), Contains("x"), StepRan(), MaxDuration(1)]})
    assert rows(results) == [
        ("steps.fallback", "StepSkipped", True, "did not run"),
        ("steps.fallback", "Contains", False, "step 'fallback' did not run"),
        ("steps.fallback", "StepRan", False, "step 'fallback' did not run"),
        ("steps.fallback", "MaxDuration", False, "step 'fallback' did not run"),
    ]


def test_an_output_that_was_not_produced_fails_all_but_run_budgets() -> None:
    results = run({}, {"changelog": [Contains("x"), StepRan(), MaxDuration(5), MaxCost(0.01)]})
    assert rows(results) == [
        ("outputs.changelog", "Contains", False, "output 'changelog' was not produced"),
        ("outputs.changelog", "StepRan", False, "StepRan does not apply to outputs: it reads a step"),
        ("outputs.changelog", "MaxDuration", True, "the run took 2.000 s <= limit 5 s"),
        ("outputs.changelog", "MaxCost", True, "run cost $0.001 over 1 llm call(s) <= limit $0.01"),
    ]
    assert not case_passed(results)


@dataclass
class Divides(Evaluator):
    by: int

    def evaluate(self, ctx: EvaluatorContext) -> bool:
        return int(ctx.value) / self.by > 0


@dataclass
class Counts(Evaluator):
    def evaluate(self, ctx: EvaluatorContext) -> Any:
        return 3


@dataclass
class Mislabels(Evaluator):
    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        return EvaluationResult(target="somewhere", evaluator="Other", passed=True, score=0.5, reason="fine")


def test_an_evaluator_that_raises_is_an_error_result_and_the_rest_still_run() -> None:
    results = run({"count": [Divides(0), Divides(2), Counts()]})
    assert [(r.passed, r.error, r.reason) for r in results] == [
        (False, True, "ZeroDivisionError: division by zero"),
        (True, False, ""),
        (False, True, "TypeError: Counts.evaluate returned int, expected bool or EvaluationResult"),
    ]


def test_a_result_is_labelled_with_its_target_and_evaluator() -> None:
    (result,) = run({"count": [Mislabels()]})
    assert result.as_row() == {"target": "steps.count", "evaluator": "Mislabels", "passed": True, "score": 0.5, "reason": "fine", "error": False}


def test_files_are_read_from_base_dir(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "headline.json").write_text(json.dumps({"type": "object", "required": ["headline"]}))
    (ok,) = run({"headline": [JsonSchema({"$ref": "schemas/headline.json"})]}, base_dir=tmp_path)
    assert ok.passed, ok.reason
    (missing,) = run({"headline": [JsonSchema({"$ref": "schemas/headline.json"})]}, base_dir=tmp_path / "elsewhere")
    assert (missing.passed, missing.error) == (False, True)
    assert missing.reason.startswith("FileNotFoundError: schema 'schemas/headline.json' not found in ")


class Judge:
    """An LLMClient test double: a fixed verdict, or a failure like a cassette miss."""

    def __init__(self, text: str | None) -> None:
        self.text = text
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        if self.text is None:
            raise LookupError(f"no recording for step '{request.step_id}'")
        return LLMResponse(text=self.text, model=request.model)


def test_the_judge_uses_the_client_and_model_given() -> None:
    client = Judge('{"score": 0.9, "reason": "short and clear"}')
    (result,) = run({}, {"headline": [LLMJudge("a short headline")]}, llm=client, judge_model="openai/smollm2")
    assert (result.passed, result.score, result.reason) == (True, 0.9, "score 0.9 >= threshold 0.5: short and clear")
    assert (client.requests[0].model, client.requests[0].step_id) == ("openai/smollm2", "judge:outputs.headline")


def test_a_judge_call_that_fails_is_an_error_result() -> None:
    (result,) = run({"headline": [LLMJudge("a short headline")]}, llm=Judge(None), judge_model="m")
    assert (result.passed, result.error, result.reason) == (False, True, "LookupError: no recording for step 'judge:steps.headline'")


@pytest.mark.parametrize(
    ("results", "passed"),
    [
        pytest.param([], True, id="no-evaluations"),
        pytest.param([EvaluationResult("steps.a", "E", True)], True, id="all-pass"),
        pytest.param([EvaluationResult("steps.a", "E", True), EvaluationResult("steps.a", "F", False)], False, id="one-fails"),
        pytest.param([EvaluationResult("steps.a", "E", False, error=True)], False, id="an-error"),
    ],
)
def test_case_passed(results: list[EvaluationResult], passed: bool) -> None:
    assert case_passed(results) is passed


def test_a_parsed_case_end_to_end() -> None:
    reg = registry()
    steps = {"log": [{"Contains": "feat:"}, {"MaxResultTokens": 10}], "fallback": ["StepSkipped"]}
    outputs = {"features": [{"Equals": 1}, {"NumberRange": {"min": 1, "max": 50}}]}
    results = run({k: [parse_evaluator(e, reg) for e in v] for k, v in steps.items()},
                  {k: [parse_evaluator(e, reg) for e in v] for k, v in outputs.items()})
    assert [(r.target, r.evaluator, r.passed) for r in results] == [
        ("steps.log", "Contains", True),
        ("steps.log", "MaxResultTokens", False),
        ("steps.fallback", "StepSkipped", True),
        ("outputs.features", "Equals", True),
        ("outputs.features", "NumberRange", True),
    ]
    assert results[1].reason == "result tokens 12 (recorded result_tokens, tokenizer o200k_base) > limit 10"
