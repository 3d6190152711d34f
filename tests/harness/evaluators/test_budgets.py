"""Token, cost and time budgets read from the trace; each reason names the measure and the limit."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from harness.evaluators import EvaluatorContext, MaxCompletionTokens, MaxCost, MaxDuration, MaxPromptTokens, MaxResultTokens
from runner.trace import LLMUsage
from tests.harness.evaluators._factories import judge, llm, mcp, output_ctx, shell, step, step_ctx, trace

LOG = "Message: feat(api): add x\nMessage: fix(ui): y"  # 7 words, 45 chars


@pytest.mark.parametrize(
    ("record", "limit", "passed", "reason"),
    [
        pytest.param(mcp("log", LOG, result_tokens=30_000, tokenizer="o200k_base"), 40_000, True,
                     "result tokens 30,000 (recorded result_tokens, tokenizer o200k_base) <= limit 40,000", id="recorded-within"),
        pytest.param(mcp("log", LOG, result_tokens=41_234, tokenizer="o200k_base"), 40_000, False,
                     "result tokens 41,234 (recorded result_tokens, tokenizer o200k_base) > limit 40,000", id="recorded-over"),
        pytest.param(mcp("log", LOG), 7, True, "result tokens 7 (counted with words over the result's text, 45 chars) <= limit 7", id="counted-within"),
        pytest.param(mcp("log", LOG), 6, False, "result tokens 7 (counted with words over the result's text, 45 chars) > limit 6", id="counted-over"),
        pytest.param(mcp("list", [{"type": "text", "text": "a b"}, "c d e"]), 4, False,
                     "result tokens 5 (counted with words over the result's text, 9 chars) > limit 4", id="counted-over-text-blocks"),
        pytest.param(mcp("search", {"entities": ["Ada Lovelace"]}), 3, True,
                     "result tokens 3 (counted with words over the result's text, 30 chars) <= limit 3", id="counted-structured-as-json"),
    ],
)
def test_max_result_tokens(record: Any, limit: int, passed: bool, reason: str) -> None:
    result = judge(MaxResultTokens(limit), step_ctx(record))
    assert (result.passed, result.reason) == (passed, reason)


def test_max_result_tokens_with_tiktoken_o200k_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.find_spec("litellm")
    assert spec and spec.submodule_search_locations
    bundled = Path(spec.submodule_search_locations[0]) / "litellm_core_utils" / "tokenizers"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(bundled))  # litellm ships o200k_base: no download
    import tiktoken

    encoding = tiktoken.get_encoding("o200k_base")
    ctx = step_ctx(mcp("log", LOG), count_tokens=lambda text: len(encoding.encode(text)))
    ctx.tokenizer = "o200k_base"
    measured = len(encoding.encode(LOG))
    assert 7 < measured < 45
    assert judge(MaxResultTokens(measured), ctx).reason == f"result tokens {measured} (counted with o200k_base over the result's text, 45 chars) <= limit {measured}"
    assert not judge(MaxResultTokens(measured - 1), ctx).passed


LLM_TOKENS = [
    pytest.param(MaxPromptTokens(200), llm("headline", prompt_tokens=150), True, "prompt tokens 150 (provider, model openai/smollm2) <= limit 200", id="prompt-within"),
    pytest.param(MaxPromptTokens(100), llm("headline", prompt_tokens=150), False, "prompt tokens 150 (provider, model openai/smollm2) > limit 100", id="prompt-over"),
    pytest.param(MaxCompletionTokens(120), llm("headline", completion_tokens=40), True, "completion tokens 40 (provider, model openai/smollm2) <= limit 120", id="completion-within"),
    pytest.param(MaxCompletionTokens(20), llm("headline", completion_tokens=1_500), False, "completion tokens 1,500 (provider, model openai/smollm2) > limit 20", id="completion-over"),
    pytest.param(MaxCompletionTokens(20), llm("headline", completion_tokens=None), False, "step 'headline' has no completion tokens count (model openai/smollm2)", id="completion-not-reported"),
    pytest.param(MaxPromptTokens(20), step("headline", "llm", {"response": "x"}), False, "step 'headline' recorded no model usage, so no prompt tokens", id="prompt-no-usage"),
    pytest.param(MaxPromptTokens(20), shell("count", "3"), False,
                 "MaxPromptTokens does not apply to step 'count': it is a shell step, MaxPromptTokens reads llm steps", id="prompt-on-a-shell-step"),
]


@pytest.mark.parametrize(("evaluator", "record", "passed", "reason"), LLM_TOKENS)
def test_llm_token_budgets(evaluator: Any, record: Any, passed: bool, reason: str) -> None:
    result = judge(evaluator, step_ctx(record))
    assert (result.passed, result.reason) == (passed, reason)


def test_counted_usage_says_so() -> None:
    record = llm("headline", prompt_tokens=7)
    record.llm = LLMUsage(model="m", prompt_tokens=7, usage_source="tokenizer")
    assert judge(MaxPromptTokens(10), step_ctx(record)).reason == "prompt tokens 7 (tokenizer, model m) <= limit 10"


RUN = trace(llm("a", cost_usd=0.002), shell("b"), llm("c", cost_usd=0.0005), outputs={"headline": "x"}, duration_ms=61_500)


@pytest.mark.parametrize(
    ("evaluator", "ctx", "passed", "reason"),
    [
        pytest.param(MaxCost(0.01), step_ctx(llm("a", cost_usd=0.002)), True, "cost $0.002 (model openai/smollm2) <= limit $0.01", id="step-within"),
        pytest.param(MaxCost(0.001), step_ctx(llm("a", cost_usd=0.002)), False, "cost $0.002 (model openai/smollm2) > limit $0.001", id="step-over"),
        pytest.param(MaxCost(0.01), step_ctx(llm("a")), False, "step 'a' has no cost recorded (model openai/smollm2)", id="step-no-price"),
        pytest.param(MaxCost(0.01), step_ctx(shell("b")), False,
                     "MaxCost does not apply to step 'b': it is a shell step, MaxCost reads llm steps, or an output for the whole run", id="shell-step"),
        pytest.param(MaxCost(0.003), output_ctx("x", name="headline", within=RUN), True, "run cost $0.0025 over 2 llm call(s) <= limit $0.003", id="run-within"),
        pytest.param(MaxCost(0.002), output_ctx("x", name="headline", within=RUN), False, "run cost $0.0025 over 2 llm call(s) > limit $0.002", id="run-over"),
        pytest.param(MaxCost(1), output_ctx("x", within=trace(llm("a", cost_usd=0.5), llm("z"))), False,
                     "cost not recorded for llm step(s) 'z'; the others total $0.5, limit $1", id="run-with-an-unpriced-call"),
        pytest.param(MaxCost(0), output_ctx("x", within=trace(shell("b"))), True, "run cost $0 over 0 llm call(s) <= limit $0", id="run-without-llm-calls"),
    ],
)
def test_max_cost(evaluator: MaxCost, ctx: EvaluatorContext, passed: bool, reason: str) -> None:
    result = judge(evaluator, ctx)
    assert (result.passed, result.reason) == (passed, reason)


@pytest.mark.parametrize(
    ("evaluator", "ctx", "passed", "reason"),
    [
        pytest.param(MaxDuration(5), step_ctx(shell("now", duration_ms=1_234)), True, "took 1.234 s <= limit 5 s", id="step-within"),
        pytest.param(MaxDuration(1), step_ctx(shell("now", duration_ms=1_234)), False, "took 1.234 s > limit 1 s", id="step-over"),
        pytest.param(MaxDuration(60), output_ctx("x", within=RUN), False, "the run took 61.500 s > limit 60 s", id="run-over"),
        pytest.param(MaxDuration(90), output_ctx("x", within=RUN), True, "the run took 61.500 s <= limit 90 s", id="run-within"),
    ],
)
def test_max_duration(evaluator: MaxDuration, ctx: EvaluatorContext, passed: bool, reason: str) -> None:
    result = judge(evaluator, ctx)
    assert (result.passed, result.reason) == (passed, reason)


@pytest.mark.parametrize(
    ("evaluator", "ctx", "reason"),
    [
        pytest.param(MaxResultTokens(10), step_ctx(shell("count")), "MaxResultTokens does not apply to step 'count': it is a shell step, not an MCP tool call", id="result-tokens-on-shell"),
        pytest.param(MaxResultTokens(10), output_ctx("x"), "MaxResultTokens does not apply to outputs: it reads a step (MCP tool steps)", id="result-tokens-on-output"),
        pytest.param(MaxPromptTokens(10), output_ctx("x"), "MaxPromptTokens does not apply to outputs: it reads a step (llm steps)", id="prompt-tokens-on-output"),
        pytest.param(MaxCompletionTokens(10), step_ctx(mcp("log")), "MaxCompletionTokens does not apply to step 'log': it is a mcp step, MaxCompletionTokens reads llm steps", id="completion-tokens-on-mcp"),
        pytest.param(MaxDuration(1), step_ctx(None, step_id="gone"), "step 'gone' did not run", id="duration-of-a-skipped-step"),
    ],
)
def test_budgets_that_do_not_apply_fail_saying_so(evaluator: Any, ctx: EvaluatorContext, reason: str) -> None:
    result = judge(evaluator, ctx)
    assert (result.passed, result.reason) == (False, reason)
