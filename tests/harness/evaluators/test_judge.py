"""LLMJudge: a model grades a value against a rubric through the run's LLMClient.

The client here is a test double of the `LLMClient` protocol that returns canned replies and keeps
the requests; in a suite run the client is cassette-backed, so judging replays.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.evaluators import LLMJudge
from runner.clients import LLMClient, LLMRequest, LLMResponse
from tests.harness.evaluators._factories import judge, llm, output_ctx, step_ctx

RUBRIC = "One line, names the release's biggest feature, no markdown."


class CannedLLM:
    """Answers every request with the next canned text; keeps the requests it was sent."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        return LLMResponse(text=self.texts.pop(0), model=request.model, prompt_tokens=50, completion_tokens=12)


def reply(score: Any, reason: str = "names the feature") -> str:
    return json.dumps({"score": score, "reason": reason})


def test_the_fake_is_an_llm_client() -> None:
    assert isinstance(CannedLLM(), LLMClient)


@pytest.mark.parametrize(
    ("threshold", "text", "passed", "reason"),
    [
        pytest.param(0.5, reply(0.8), True, "score 0.8 >= threshold 0.5: names the feature", id="above-threshold"),
        pytest.param(0.8, reply(0.8), True, "score 0.8 >= threshold 0.8: names the feature", id="at-threshold"),
        pytest.param(0.5, reply(0.2, "it is two lines"), False, "score 0.2 < threshold 0.5: it is two lines", id="below-threshold"),
        pytest.param(0.5, reply(1), True, "score 1 >= threshold 0.5: names the feature", id="integer-score"),
        pytest.param(0.5, "```json\n" + reply(0.9) + "\n```", True, "score 0.9 >= threshold 0.5: names the feature", id="fenced-reply"),
    ],
)
def test_verdict(threshold: float, text: str, passed: bool, reason: str) -> None:
    ctx = step_ctx(llm("headline", "Release 1.2: faster sync"), llm=CannedLLM(text), judge_model="openai/smollm2")
    result = judge(LLMJudge(RUBRIC, threshold=threshold), ctx)
    assert (result.passed, result.reason, result.error) == (passed, reason, False)
    assert result.score is not None and result.score == float(reason.split()[1])


def test_the_request_asks_for_a_schema_constrained_verdict_at_temperature_0() -> None:
    client = CannedLLM(reply(1))
    judge(LLMJudge(RUBRIC), step_ctx(llm("headline", "Release 1.2: faster sync"), llm=client, judge_model="openai/smollm2"))
    (request,) = client.requests
    assert request.model == "openai/smollm2"
    assert request.step_id == "judge:steps.headline"
    assert request.temperature == 0
    assert request.response_format is not None
    schema = request.response_format["json_schema"]["schema"]
    assert request.response_format["type"] == "json_schema"
    assert schema["required"] == ["score", "reason"]
    assert schema["properties"]["score"] == {"type": "number", "minimum": 0, "maximum": 1}
    prompt = request.messages[-1]["content"]
    assert RUBRIC in prompt and "Release 1.2: faster sync" in prompt


def test_the_evaluator_model_overrides_the_run_judge_model() -> None:
    client = CannedLLM(reply(1))
    judge(LLMJudge(RUBRIC, model="gpt-4o-mini"), output_ctx({"n": 1}, name="digest", llm=client, judge_model="openai/smollm2"))
    assert client.requests[0].model == "gpt-4o-mini"
    assert client.requests[0].step_id == "judge:outputs.digest"
    assert '{"n": 1}' in client.requests[0].messages[-1]["content"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("I think it is good, 8/10", "judge openai/smollm2 replied with text that is not JSON (Expecting value at char 0): I think it is good, 8/10",
                     id="not-json"),
        pytest.param('{"score": 0.8', "judge openai/smollm2 replied with text that is not JSON (Expecting ',' delimiter at char 13): {\"score\": 0.8",
                     id="truncated-json"),
        pytest.param('{"score": 0.8}', "judge openai/smollm2 replied JSON that is not {score, reason} ('reason' is a required property): {\"score\": 0.8}",
                     id="missing-reason"),
        pytest.param(reply(8), "judge openai/smollm2 replied JSON that is not {score, reason} (8 is greater than the maximum of 1): " + reply(8),
                     id="score-out-of-range"),
        pytest.param(reply(True), "judge openai/smollm2 replied JSON that is not {score, reason} (True is not of type 'number'): " + reply(True), id="boolean-score"),
        pytest.param("[0.8]", "judge openai/smollm2 replied JSON that is not {score, reason} ([0.8] is not of type 'object'): [0.8]", id="not-an-object"),
    ],
)
def test_a_malformed_reply_is_an_evaluator_error(text: str, reason: str) -> None:
    result = judge(LLMJudge(RUBRIC), step_ctx(llm("headline", "x"), llm=CannedLLM(text), judge_model="openai/smollm2"))
    assert (result.passed, result.error, result.reason) == (False, True, reason)


def test_without_a_client_the_judge_says_so() -> None:
    result = judge(LLMJudge(RUBRIC), step_ctx(llm("headline", "x"), judge_model="openai/smollm2"))
    assert (result.passed, result.error) == (False, True)
    assert result.reason == "LLMJudge needs a model client, and this evaluation has none"


def test_without_a_model_the_judge_says_so() -> None:
    result = judge(LLMJudge(RUBRIC), step_ctx(llm("headline", "x"), llm=CannedLLM(reply(1))))
    assert (result.passed, result.error) == (False, True)
    assert "LLMJudge has no model" in result.reason


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"rubric": "  "}, "rubric is empty", id="empty-rubric"),
        pytest.param({"rubric": RUBRIC, "threshold": 1.5}, "threshold must be between 0 and 1", id="threshold-above-1"),
    ],
)
def test_bad_arguments_are_refused_when_built(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LLMJudge(**options)
