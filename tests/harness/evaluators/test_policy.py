"""RouteTaken, ModelUsed, EvidenceFound and Attempts of contract: decisions judged at their step."""

from __future__ import annotations

from typing import Any

import pytest

from harness.evaluators import Attempts, EvaluatorContext, EvidenceFound, ModelUsed, RouteTaken, parse_evaluator, registry
from runner.trace import LLMUsage, ModelCall
from tests.harness.evaluators._factories import llm, output_ctx, shell, step, step_ctx, trace

USAGE = LLMUsage(model="smollm2", prompt_tokens=10, completion_tokens=5)
BROKE = ModelCall(model="openai/smollm2", attempt=1, outcome="contract_failed", error="output_schema: reply is not JSON", reply="{", llm=USAGE)
FIXED = ModelCall(model="openai/smollm2", attempt=2, reason="contract retry 2 of 2 with the errors fed back", outcome="answered", llm=USAGE)
DOWN = ModelCall(model="openai/primary", attempt=1, outcome="provider_error", error="cannot reach http://127.0.0.1:9/v1: connection refused")
TOOK_OVER = ModelCall(model="openai/smollm2", attempt=1, reason="fallback after a provider error from openai/primary", outcome="answered", llm=USAGE)

RETRIED = step_ctx(step("extract", "llm", llm=USAGE, action="missing_evidence", calls=[BROKE, FIXED],
                        output={"response": {"total": "1,250.00"}, "evidence": {
                           "total": {"value": "1,250.00", "found": True, "match": "normalized", "where": "char 40"},
                           "invoice_number": {"value": "INV-9", "found": False, "match": "normalized", "why": 'not in the input (normalized): "inv-9"'}}}))
FELL_BACK = step_ctx(llm("ask", "hi", calls=[DOWN, TOOK_OVER]))
PLAIN = step_ctx(llm("ask", "hi", params={"model": "openai/smollm2"}))
NOBODY = step_ctx(llm("ask", "", calls=[DOWN], error="model call failed", action="error"))
ROUTED = step_ctx(step("by_class", "route", {"value": "invoice", "route": "invoice"}, action="invoice"))
REVIEWED = step_ctx(step("check", "review", {"decision": "reject"}, action="reject"))


@pytest.mark.parametrize(
    ("evaluator", "ctx", "passed", "reason"),
    [
        pytest.param(RouteTaken("invoice"), ROUTED, True, "took 'invoice'", id="RouteTaken-route"),
        pytest.param(RouteTaken("receipt"), ROUTED, False, "took 'invoice', expected 'receipt'", id="RouteTaken-other-route"),
        pytest.param(RouteTaken("reject"), REVIEWED, True, "took 'reject'", id="RouteTaken-review-decision"),
        pytest.param(RouteTaken("default"), NOBODY, False, "took 'error', expected 'default' (model call failed)", id="RouteTaken-says-the-error"),
        pytest.param(RouteTaken("x"), step_ctx(None, step_id="gone"), False, "step 'gone' did not run", id="RouteTaken-not-run"),
        pytest.param(RouteTaken("x"), output_ctx(1), False, "RouteTaken does not apply to outputs: it reads a step", id="RouteTaken-output"),
        pytest.param(ModelUsed("openai/smollm2"), FELL_BACK, True, "openai/smollm2 answered (fallback after a provider error from openai/primary)", id="ModelUsed-fallback"),
        pytest.param(ModelUsed("openai/primary"), FELL_BACK, False,
                     "openai/smollm2 answered (fallback after a provider error from openai/primary), expected openai/primary", id="ModelUsed-not-primary"),
        pytest.param(ModelUsed("openai/smollm2"), PLAIN, True, "openai/smollm2 answered (the only model called)", id="ModelUsed-no-policy"),
        pytest.param(ModelUsed("openai/primary"), NOBODY, False, "no model answered (tried openai/primary (provider_error))", id="ModelUsed-none-answered"),
        pytest.param(ModelUsed("m"), step_ctx(shell("s")), False, "ModelUsed does not apply to step 's': it is a shell step, ModelUsed reads llm steps", id="ModelUsed-shell"),
        pytest.param(EvidenceFound(["total"]), RETRIED, True, "found: total", id="EvidenceFound-found"),
        pytest.param(EvidenceFound(), RETRIED, False, 'expected found: invoice_number = "INV-9" not in the input (normalized): "inv-9"', id="EvidenceFound-all"),
        pytest.param(EvidenceFound(["invoice_number"], found=False), RETRIED, True, "missing: invoice_number", id="EvidenceFound-missing"),
        pytest.param(EvidenceFound(["vat"]), RETRIED, False, "no evidence checked for vat (checked: total, invoice_number)", id="EvidenceFound-unknown-field"),
        pytest.param(EvidenceFound(), PLAIN, False, "step 'ask' checked no evidence (its llm node has no `evidence` param, or it failed first)", id="EvidenceFound-none"),
        pytest.param(Attempts(exactly=2, of="contract"), RETRIED, True, "2 contract attempt(s) (1 broke it: output_schema: reply is not JSON)", id="Attempts-contract"),
        pytest.param(Attempts(max=1, of="contract"), RETRIED, False, "2 contract attempt(s) (1 broke it: output_schema: reply is not JSON) > max 1", id="Attempts-contract-max"),
        pytest.param(Attempts(exactly=1, of="contract"), FELL_BACK, True, "1 contract attempt(s)", id="Attempts-contract-provider-errors-not-counted"),
        pytest.param(Attempts(exactly=1, of="contract"), PLAIN, True, "1 contract attempt(s)", id="Attempts-contract-no-policy"),
        pytest.param(Attempts(exactly=1, of="contract"), step_ctx(shell("s")), False,
                     "Attempts of contract does not apply to step 's': it is a shell step, not an llm step", id="Attempts-contract-shell"),
    ],
)
def test_policy(evaluator: Any, ctx: EvaluatorContext, passed: bool, reason: str) -> None:
    result = evaluator.evaluate(ctx)
    assert (result.passed, result.reason) == (passed, reason)


def test_model_used_without_a_model_param_reads_the_runs_default_model() -> None:
    record = llm("ask", "hi")
    run = trace(record).model_copy(update={"model": "openai/smollm2"})
    assert ModelUsed("openai/smollm2").evaluate(step_ctx(record, within=run)).passed


def test_case_files_name_them() -> None:
    reg = registry()
    assert parse_evaluator({"RouteTaken": "invoice"}, reg) == RouteTaken("invoice")
    assert parse_evaluator({"ModelUsed": "openai/smollm2"}, reg) == ModelUsed("openai/smollm2")
    assert parse_evaluator({"EvidenceFound": {"fields": ["total"], "found": False}}, reg) == EvidenceFound(["total"], found=False)
    assert parse_evaluator({"Attempts": {"exactly": 2, "of": "contract"}}, reg) == Attempts(exactly=2, of="contract")


def test_attempts_of_is_retries_or_contract() -> None:
    with pytest.raises(ValueError, match="of is retries or contract, got 'tokens'"):
        Attempts(max=1, of="tokens")
