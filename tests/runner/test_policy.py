"""Policy the workflow owns, at the executor: contract retries with feedback, fallback models,
evidence checked by code, route and review nodes. The model here is a scripted `LLMClient` so
each rule is pinned exactly (which messages were sent, in what order); the same policies against
the real local model, recorded and replayed, are in tests/harness/test_policy_recorded.py."""

from __future__ import annotations

import json

import pytest

from runner import RunStatus, execute
from runner.clients import LLMRequest, LLMResponse, ReviewDecision, ReviewRequest
from runner.evidence import check_evidence, evidence_problems, normalize
from runner.executor import Runtime
from runner.live.llm import LLMError
from runner.review import GivenDecisions, parse_decisions
from runner.validate import check

SCHEMA = {"type": "object", "properties": {"total": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
          "required": ["total", "tags"]}
DOC = "Invoice INV-2041 from Acme Corp.\nTotal:   1,250.00 EUR, due 2026-01-15."


class Scripted:
    """An LLMClient answering in order (an exception is raised); it keeps every request."""

    def __init__(self, *replies: str | Exception) -> None:
        self.replies, self.requests = list(replies), []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return LLMResponse(text=reply, model=request.model.split("/")[-1], prompt_tokens=10 * len(self.requests), completion_tokens=5)


def extract(retry=None, evidence=None, fallback=None, edges=(), extra_nodes=()):
    node = {"id": "extract", "type": "llm", "params": {"prompt": "Extract from: ${doc}", "output_schema": SCHEMA, "temperature": 0}}
    if retry:
        node["retry"] = retry
    if evidence:
        node["params"]["evidence"] = evidence
    if fallback:
        node["params"]["fallback_models"] = fallback
    nodes = [node, *extra_nodes]
    return {"inputs": {"doc": {"type": "string"}}, "nodes": nodes, "edges": list(edges), "outputs": {"out": "${extract.response ?? ''}"}}


def run(document, client, **runtime):
    return execute(document, {"doc": DOC}, runtime=Runtime(llm=client, default_model="openai/smollm2", **runtime))


GOOD = json.dumps({"total": "1,250.00", "tags": ["invoice"]})
DUPLICATE = json.dumps({"total": "1,250.00", "tags": ["invoice", "invoice"]})


def test_a_broken_contract_is_fed_back_and_fixed_on_the_second_call():
    client = Scripted(DUPLICATE, GOOD)
    trace = run(extract(retry={"on": "contract", "max": 2, "feedback": True}), client)
    assert trace.status is RunStatus.PASSED, trace.error
    step = trace.step("extract")
    assert [(c.attempt, c.outcome) for c in step.calls] == [(1, "contract_failed"), (2, "answered")]
    assert step.calls[0].reply == DUPLICATE and "non-unique elements" in step.calls[0].error
    assert step.calls[1].reason == "contract retry 2 of 2 with the errors fed back"
    first, second = client.requests[0].messages, client.requests[1].messages
    assert second[:-1] == first and second[-1]["role"] == "user" and "non-unique elements" in second[-1]["content"]
    assert step.attempts == 1 and step.llm.prompt_tokens == 30 and step.llm.completion_tokens == 10  # both calls counted
    assert trace.outputs["out"] == json.loads(GOOD)


def test_without_feedback_the_same_request_is_sent_again():
    client = Scripted(DUPLICATE, GOOD)
    trace = run(extract(retry={"on": "contract", "max": 2}), client)
    assert trace.status is RunStatus.PASSED
    assert client.requests[0].messages == client.requests[1].messages


def test_a_contract_still_broken_after_the_last_call_takes_the_contract_failed_edge():
    fallback = {"id": "manual", "type": "shell", "params": {"command": "echo needs a person"}}
    client = Scripted(DUPLICATE, DUPLICATE)
    trace = run(extract(retry={"on": "contract", "max": 2, "feedback": True}, edges=[{"from": "extract", "to": "manual", "action": "contract_failed"}],
                        extra_nodes=[fallback]), client)
    assert trace.status is RunStatus.PASSED, trace.error
    step = trace.step("extract")
    assert step.action == "contract_failed" and "non-unique elements" in step.error
    assert step.output["contract_errors"] == [c.error for c in step.calls] and len(step.calls) == 2
    assert trace.step("manual").output["stdout"].strip() == "needs a person"


def test_without_a_contract_failed_edge_the_node_fails_as_before():
    trace = run(extract(retry={"on": "contract", "max": 2}), Scripted(DUPLICATE, DUPLICATE))
    assert trace.status is RunStatus.FAILED
    assert trace.error.startswith("node 'extract' failed: output_schema: reply violates the schema at tags")
    assert trace.step("extract").action == "error" and len(trace.step("extract").calls) == 2


def test_a_fallback_model_answers_after_a_provider_error_and_the_trace_says_why():
    client = Scripted(LLMError("cannot reach http://127.0.0.1:9/v1: connection refused"), GOOD)
    trace = run(extract(fallback=[{"model": "openai/local", "api_base": "http://127.0.0.1:8080/v1"}]) | {}, client)
    assert trace.status is RunStatus.PASSED, trace.error
    calls = trace.step("extract").calls
    assert [(c.model, c.outcome) for c in calls] == [("openai/smollm2", "provider_error"), ("openai/local", "answered")]
    assert calls[1].reason == "fallback after a provider error from openai/smollm2"
    assert [r.api_base for r in client.requests] == [None, "http://127.0.0.1:8080/v1"]
    assert [r.error_is_answer for r in client.requests] == [True, False]  # a recorder keeps the error a fallback followed


def test_a_fallback_model_takes_over_a_contract_the_first_model_kept_breaking():
    client = Scripted(DUPLICATE, DUPLICATE, GOOD)
    trace = run(extract(retry={"on": "contract", "max": 2}, fallback=["openai/bigger"]), client)
    assert trace.status is RunStatus.PASSED, trace.error
    calls = trace.step("extract").calls
    assert [(c.model, c.attempt, c.outcome) for c in calls] == [("openai/smollm2", 1, "contract_failed"), ("openai/smollm2", 2, "contract_failed"),
                                                                ("openai/bigger", 1, "answered")]
    assert calls[2].reason == "fallback after openai/smollm2 broke the contract 2 times"


def test_every_model_failing_names_each_failure():
    client = Scripted(LLMError("a down"), LLMError("b down"))
    trace = run(extract(fallback=["openai/b"]), client)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "node 'extract' failed: every model failed (openai/smollm2: a down; openai/b: b down)"


EVIDENCE = {"total": {"in": "${doc}"}, "tags": {"in": "${doc}", "match": "exact"}}


def test_claims_found_in_the_input_pass_and_the_evidence_is_in_the_output():
    trace = run(extract(evidence=EVIDENCE), Scripted(json.dumps({"total": "1,250.00 eur", "tags": ["Invoice", "Acme Corp"]})))
    assert trace.status is RunStatus.PASSED, trace.error
    found = trace.step("extract").output["evidence"]
    assert found["total"] == {"value": "1,250.00 eur", "found": True, "match": "normalized", "where": "char 40 of the normalized input"}
    assert found["tags"]["found"] and trace.step("extract").action == "default"


def test_a_claim_without_evidence_is_routed_to_review():
    review = {"id": "check", "type": "review", "params": {"subject": "${extract.evidence}", "reason": "a claim without evidence"}}
    document = extract(evidence=EVIDENCE, edges=[{"from": "extract", "to": "check", "action": "missing_evidence"}], extra_nodes=[review])
    reply = json.dumps({"total": "9,999.00", "tags": ["Invoice"]})
    stopped = run(document, Scripted(reply))
    assert stopped.status is RunStatus.FAILED
    assert stopped.step("extract").action == "missing_evidence"
    assert stopped.step("extract").output["evidence"]["total"]["why"] == 'not in the input (normalized): "9,999.00"'
    assert stopped.error == "node 'check' failed: stopped for review at 'check': no decision (decide with --review check=<approve|reject>)"
    decided = run(document, Scripted(reply), review=GivenDecisions({"check": "reject"}, reviewer="ada", note="total is wrong"))
    assert decided.status is RunStatus.PASSED, decided.error
    record = decided.step("check")
    assert record.action == "reject" and record.review.reviewer == "ada" and record.review.decision == "reject"
    assert record.review.note == "total is wrong" and record.review.decided_at.endswith("+00:00")
    assert record.output["subject"]["total"]["found"] is False


def test_missing_evidence_with_no_edge_for_it_fails_the_node():
    trace = run(extract(evidence=EVIDENCE), Scripted(json.dumps({"total": "9,999.00", "tags": ["Invoice"]})))
    assert trace.status is RunStatus.FAILED
    assert trace.error == ("node 'extract' failed: missing evidence (total: not in the input (normalized): \"9,999.00\"); "
                           "no 'missing_evidence' edge")


@pytest.mark.parametrize(
    ("rule", "reply", "found"),
    [
        ({"in": DOC}, {"v": "acme   CORP"}, True),
        ({"in": DOC, "match": "exact"}, {"v": "acme CORP"}, False),
        ({"in": DOC, "match": "exact"}, {"v": "Acme Corp"}, True),
        ({"in": {"customer": {"id": 42}}, "path": "$.customer.id"}, {"v": "42"}, True),
        ({"in": json.dumps({"customer": {"id": 42}}), "path": "$.customer.id"}, {"v": 42}, True),
        ({"in": {"customer": {"id": 42}}, "path": "$.customer.id"}, {"v": 43}, False),
        ({"in": {"customer": {}}, "path": "$.customer.id"}, {"v": 42}, False),
        ({"in": DOC}, {"v": ["Acme", "INV-2041"]}, True),
        ({"in": DOC}, {"v": ["Acme", "INV-9"]}, False),
        ({"in": DOC}, {"v": ""}, False),
        ({"in": DOC}, {}, False),
        ({"in": DOC}, {"v": None}, False),
    ],
)
def test_evidence_rules(rule, reply, found):
    assert check_evidence({"v": rule}, reply, {})["v"]["found"] is found


def test_evidence_defaults_to_the_prompt_and_says_why_not():
    result = check_evidence({"who": {}}, {"who": "Grace"}, {"prompt": "Ada wrote this."})["who"]
    assert result == {"value": "Grace", "found": False, "match": "normalized", "why": 'not in the input (normalized): "grace"'}
    assert normalize("  Ｔotal\u00a0 1 ") == "total 1"


def test_bad_policy_is_rejected_before_anything_runs():
    bad = extract(retry={"on": "contract", "max": 2}, evidence={"total": {"in": "x", "match": "fuzzy", "where": 1}}, fallback=[3])
    bad["nodes"].append({"id": "gate", "type": "shell", "params": {"command": "true"}, "retry": {"on": "contract"}})
    messages = [d.message for d in check(bad)]
    assert "llm node 'extract': 'total': match is normalized or exact, not 'fuzzy'" in messages
    assert "llm node 'extract': 'total': unknown key 'where' (keys: in, match, path)" in messages
    assert any("each fallback is a model name" in m for m in messages)
    assert "retry on 'contract' needs an llm node with output_schema; 'gate' is a shell node" in messages
    assert evidence_problems({"a..b": {}}) == ["'a..b' is not a field path (like totals.amount or lines[0].sku)"]


ROUTE = {"inputs": {"kind": {"type": "string"}},
         "nodes": [{"id": "by_kind", "type": "route", "params": {"value": "${kind}", "routes": ["invoice", "receipt"]}},
                   {"id": "inv", "type": "shell", "params": {"command": "echo invoice"}},
                   {"id": "rec", "type": "shell", "params": {"command": "echo receipt"}}],
         "edges": [{"from": "by_kind", "to": "inv", "action": "invoice"}, {"from": "by_kind", "to": "rec", "action": "receipt"}]}


def test_a_route_node_sends_a_proposed_value_down_its_declared_edge():
    trace = execute(ROUTE, {"kind": " receipt "})
    assert [(s.step_id, s.action) for s in trace.steps] == [("by_kind", "receipt"), ("rec", "default")]
    other = execute(ROUTE, {"kind": "memo"})
    assert other.status is RunStatus.FAILED and other.error == "node 'by_kind' failed: route: 'memo' is not one of invoice, receipt and there is no default"


def test_an_approval_gate_asks_the_review_client_and_a_rejection_keeps_the_step_from_running(tmp_path):
    target = tmp_path / "side-effect"
    document = {"nodes": [{"id": "wipe", "type": "shell", "params": {"command": f"touch {target}"}, "approval": "required"}]}

    class Rejects:
        def decide(self, request: ReviewRequest) -> ReviewDecision:
            assert request.reason == "approval: required" and request.subject["type"] == "shell"
            return ReviewDecision("reject", "grace", "2026-12-02T07:00:00+00:00")

    trace = execute(document, {}, runtime=Runtime(review=Rejects()))
    assert trace.status is RunStatus.FAILED and not target.exists()
    assert trace.error == "node 'wipe' failed: not approved: grace decided 'reject' at 2026-12-02T07:00:00+00:00; not run"
    assert trace.step("wipe").review.reviewer == "grace"
    approved = execute(document, {}, runtime=Runtime(review=GivenDecisions({"wipe": "approve"}, reviewer="ada")))
    assert approved.status is RunStatus.PASSED and target.exists() and approved.step("wipe").review.reviewer == "ada"


def test_review_decisions_on_the_command_line():
    assert parse_decisions(["check=reject", " gate = approve "]) == {"check": "reject", "gate": "approve"}
    with pytest.raises(ValueError, match="--review takes STEP=DECISION"):
        parse_decisions(["check"])


def test_the_steps_usage_adds_its_calls_up_and_a_cost_is_known_only_when_each_calls_is():
    class Priced(Scripted):
        def __init__(self, *replies, costs):
            super().__init__(*replies)
            self.costs = list(costs)

        def complete(self, request):
            reply = super().complete(request)
            return LLMResponse(text=reply.text, model=reply.model, prompt_tokens=reply.prompt_tokens, completion_tokens=5, cost_usd=self.costs.pop(0))

    known = run(extract(retry={"on": "contract", "max": 2}), Priced(DUPLICATE, GOOD, costs=[0.25, 0.5])).step("extract").llm
    assert (known.prompt_tokens, known.completion_tokens, known.cost_usd) == (30, 10, 0.75)
    unknown = run(extract(retry={"on": "contract", "max": 2}), Priced(DUPLICATE, GOOD, costs=[None, 0.5])).step("extract").llm
    assert unknown.cost_usd is None and unknown.prompt_tokens == 30
