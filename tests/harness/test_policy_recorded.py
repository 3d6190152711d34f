"""The workflow's policies against the real local model (SmolLM2 on llama.cpp), recorded with
`flowtape run --cassette` and replayed in CI with no model reachable: a contract the model broke,
fed back and fixed on the second call; a fallback model answering after the first model's
endpoint refused the connection; and the shipped doc-intake task's recorded review decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from runner.trace import Trace

DEAD = "http://127.0.0.1:9/v1"  # nothing listens here: a replay that reached the network would fail
DOCUMENT = "Invoice INV-2041 from Acme Corp. Consulting services in November. Total: 1,250.00 EUR, due 2026-01-15."
CONTRACT = {"type": "object", "properties": {"invoice_number": {"type": "string"}, "total": {"type": "string"}, "currency": {"type": "string"}},
            "required": ["invoice_number", "total"], "dependentRequired": {"total": ["currency"]}}


def workflow(tmp_path: Path, params: dict, retry: dict | None = None) -> Path:
    node = {"id": "extract", "type": "llm", "params": {"prompt": "Extract the invoice number and the total from this invoice.\n\n${document}",
                                                       "temperature": 0, "max_tokens": 80, "output_schema": CONTRACT, **params}}
    if retry:
        node["retry"] = retry
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"inputs": {"document": {"type": "string"}}, "nodes": [node], "outputs": {"fields": "${extract.response}"}}))
    return path


def run(cli, wf: Path, tape: Path, traces: Path, api_base: str) -> tuple[int, Trace]:
    result = cli("run", wf, "-i", f"document={DOCUMENT}", "--cassette", tape, "--trace-dir", traces, "--format", "json",
                 "--llm-api-base", api_base, "--llm-api-key", "sk-local-no-key", "--model", "openai/smollm2")
    payload = json.loads(result.stdout)
    return result.exit_code, Trace.model_validate_json(Path(payload["trace"]).read_text())


@pytest.mark.local_model
def test_a_broken_contract_fed_back_is_fixed_on_the_second_call_and_replays(cli, fresh_model, tmp_path, monkeypatch):
    wf, tape, traces = workflow(tmp_path, {}, {"on": "contract", "max": 2, "feedback": True}), tmp_path / "tape.yaml", tmp_path / "traces"
    code, live = run(cli, wf, tape, traces, fresh_model.api_base)
    assert code == 0, live.error
    calls = live.step("extract").calls
    # SmolLM2 leaves out the currency its total depends on; told so, it adds one.
    assert [(c.attempt, c.outcome) for c in calls] == [(1, "contract_failed"), (2, "answered")]
    assert calls[0].error == "output_schema: reply violates the schema at (root): 'currency' is a dependency of 'total'"
    assert "currency" not in json.loads(calls[0].reply) and "currency" in live.outputs["fields"]
    recorded = [i for i in yaml.safe_load(tape.read_text())["interactions"] if i["kind"] == "llm"]
    assert len(recorded) == 2  # each attempt a call of its own
    fed_back = recorded[1]["request"]["messages"]
    assert fed_back[:-1] == recorded[0]["request"]["messages"] and calls[0].error in fed_back[-1]["content"]
    monkeypatch.setenv("CI", "true")
    code, replay = run(cli, wf, tape, traces, DEAD)
    assert code == 0, replay.error
    assert replay.outputs == live.outputs
    assert [(c.attempt, c.outcome, c.reply) for c in replay.step("extract").calls] == [(c.attempt, c.outcome, c.reply) for c in calls]


@pytest.mark.local_model
def test_a_fallback_model_answers_after_a_provider_error_and_replays(cli, fresh_model, tmp_path, monkeypatch):
    # The node's own endpoint refuses the connection (a provider that is down); the fallback is
    # the run's model server, under the same contract policy as above.
    wf = workflow(tmp_path, {"api_base": DEAD, "model": "openai/primary", "fallback_models": ["openai/smollm2"]},
                  {"on": "contract", "max": 2, "feedback": True})
    tape, traces = tmp_path / "tape.yaml", tmp_path / "traces"
    code, live = run(cli, wf, tape, traces, fresh_model.api_base)
    assert code == 0, live.error
    calls = live.step("extract").calls
    assert [(c.model, c.attempt, c.outcome) for c in calls] == [("openai/primary", 1, "provider_error"), ("openai/smollm2", 1, "contract_failed"),
                                                                ("openai/smollm2", 2, "answered")]
    assert calls[0].error == f"cannot reach {DEAD}: connection refused"
    assert calls[1].reason == "fallback after a provider error from openai/primary"
    stored = [(i["kind"], i["server"], i["method"]) for i in yaml.safe_load(tape.read_text())["interactions"]]
    assert stored == [("llm", "openai/primary", "error")] + [("llm", "smollm2", "POST /v1/chat/completions")] * 2
    monkeypatch.setenv("CI", "true")
    code, replay = run(cli, wf, tape, traces, DEAD)
    assert code == 0, replay.error
    assert [(c.model, c.outcome, c.error, c.reason) for c in replay.step("extract").calls] == [(c.model, c.outcome, c.error, c.reason) for c in calls]
    assert replay.outputs == live.outputs


def test_a_replay_miss_is_not_taken_for_a_provider_error(cli, tmp_path, monkeypatch):
    """With nothing recorded, the first model's call is a cassette miss: the node fails at once,
    naming it, rather than trying its fallback as if the provider had failed."""
    wf = workflow(tmp_path, {"fallback_models": ["openai/other"]})
    tape, traces = tmp_path / "tape.yaml", tmp_path / "traces"
    tape.write_text("version: 1\nmeta: {}\ninteractions: []\n")
    monkeypatch.setenv("CI", "true")
    code, trace = run(cli, wf, tape, traces, DEAD)
    assert code == 1
    assert "no recording for step 'extract'" in trace.error and trace.step("extract").calls == []


ROOT = Path(__file__).resolve().parents[2]


def doc_intake():
    from harness.goldens import load_suite

    [task] = load_suite(ROOT / "goldens", task=["doc-intake"])
    return task


def test_the_shipped_doc_intake_replays_its_recorded_review_decisions(monkeypatch):
    """Each case of the shipped task replays in CI and passes its checks; a case that reached the
    checkpoint takes the decision recorded with it: who, what and when are the recording's."""
    from harness.cassettes import Cassette
    from harness.goldens import cassette_path
    from harness.suite import run_case

    monkeypatch.setenv("CI", "true")
    task = doc_intake()
    decided = {}
    for case in task.cases:
        run = run_case(task, case, cassettes=ROOT / "cassettes", mode="none", ci=True, evaluate=True)
        assert run.passed, [(r.target, r.evaluator, r.reason) for r in run.evaluations if not r.passed] or run.trace.error
        assert run.unused == []
        recorded = [i.response for i in Cassette.open(cassette_path(ROOT / "cassettes", task, case, "ir"), "none").interactions if i.kind == "review"]
        steps = {s.step_id: s for s in run.trace.steps}
        if "check" in steps:
            review = steps["check"].review
            assert [review.model_dump()] == recorded and review.reviewer == "flowtape maintainer"
            decided[case.name] = review.decision
        else:
            assert recorded == []
    # every route: both extractors, evidence found and missing, a contract used up, both decisions
    assert decided == {"invoice-acme": "reject", "invoice-northwind": "approve", "receipt-bakery": "reject", "receipt-cafe": "reject"}


def test_a_checkpoint_with_no_recorded_decision_is_a_replay_miss(tmp_path, monkeypatch):
    from harness.cassettes import Cassette
    from harness.goldens import cassette_path
    from harness.suite import run_case

    monkeypatch.setenv("CI", "true")
    task = doc_intake()
    [case] = [c for c in task.cases if c.name == "invoice-acme"]
    source = Cassette.open(cassette_path(ROOT / "cassettes", task, case, "ir"), "none")
    kept = cassette_path(tmp_path, task, case, "ir")
    kept.parent.mkdir(parents=True)
    data = yaml.safe_load(source.path.read_text())
    data["interactions"] = [i for i in data["interactions"] if i["kind"] != "review"]  # the decision left out, nothing else touched
    kept.write_text(yaml.safe_dump(data))
    run = run_case(task, case, cassettes=tmp_path, mode="none", ci=True)
    assert run.trace.status.value == "failed"
    assert "no recording for step 'check' (review human decide)" in run.trace.step("check").error


def test_a_review_decision_is_written_step_equals_decision(cli, tmp_path):
    for args in (("record", ROOT / "goldens", "--task", "doc-intake", "--cassettes", tmp_path),
                 ("run", ROOT / "goldens/doc-intake/workflow.json", "-i", "document=x", "--trace-dir", tmp_path)):
        result = cli(*args, "--review", "check")
        assert result.exit_code == 2, result.output
        assert result.stderr == "flowtape: --review takes STEP=DECISION (like check=approve), got 'check'\n"
    assert not list(tmp_path.iterdir())  # nothing recorded, nothing run
