"""What `flowtape author` saves is an approach variant that `flowtape record` records and
`flowtape test` runs and judges: `ir@<model>` (goldens/<task>/authored/<model>/workflow.json) and
`code@<model>` (…/baseline.py), each with its own cassette `<case>.<approach>@<model>.yaml`, its
own ledger rows, judged on the golden outputs (an authored workflow's nodes are its own, so the
golden's step checks, which name the hand-written nodes, are not applied to it).

The artefacts here are written by the test: the local SmolLM2 did not author a valid one for the
shipped tasks (that failure is recorded under cassettes/<task>/authored/). The recording is real:
mcp-server-time, started by `flowtape record`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from harness.accounting.context import context_cost
from harness.gate import PolicyError, load_policy
from harness.goldens import GoldenError, load_suite, select_units
from runner import RunStatus, Trace

ROOT = Path(__file__).resolve().parents[2]
CASE = "dubai-singapore"

# What a model might write for meeting-times: its own node ids, no current-time lookup.
AUTHORED = {
    "inputs": {"home": {"type": "string"}, "away": {"type": "string"}, "time": {"type": "string"}},
    "nodes": [
        {"id": "conv", "type": "mcp-time-convert_time", "params": {"source_timezone": "${home}", "time": "${time}", "target_timezone": "${away}"}},
        {"id": "say", "type": "shell", "params": {"command": "printf '%s in %s is %s later in %s' ${time} ${home} ${conv.result.time_difference} ${away}"}},
    ],
    "edges": [{"from": "conv", "to": "say"}],
    "outputs": {"summary": {"source": "${say.stdout}"}, "difference": {"source": "${conv.result.time_difference}"},
                "away_dst": {"source": "${conv.result.target.is_dst}"}},
}


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """meeting-times with one case, and an authored variant by the model `tiny`."""
    task = tmp_path / "suite" / "meeting-times"
    (task / "cases").mkdir(parents=True)
    for name in ("task.yaml", "workflow.json", "baseline.py"):
        shutil.copy(ROOT / "goldens" / "meeting-times" / name, task / name)
    shutil.copy(ROOT / "goldens" / "meeting-times" / "cases" / f"{CASE}.yaml", task / "cases")
    (task / "authored" / "tiny").mkdir(parents=True)
    (task / "authored" / "tiny" / "workflow.json").write_text(json.dumps(AUTHORED, indent=1))
    return tmp_path / "suite"


def test_an_authored_artefact_is_a_unit_of_the_suite(suite):
    tasks = load_suite(suite)
    assert tasks[0].authored == ("ir@tiny",)
    units = [a for _, _, a in select_units(tasks)]
    assert units == ["ir", "code", "direct", "ir@tiny"]
    assert [a for _, _, a in select_units(tasks, "ir@tiny")] == ["ir@tiny"]
    assert tasks[0].artefact_path("ir@tiny") == suite / "meeting-times" / "authored" / "tiny" / "workflow.json"
    # a script the model wrote is a code variant, found beside it
    (suite / "meeting-times" / "authored" / "tiny" / "baseline.py").write_text("print('{}')\n")
    assert load_suite(suite)[0].authored == ("ir@tiny", "code@tiny")


@pytest.mark.parametrize(("name", "message"), [
    ("ir@small", "--approach ir@small: no selected task has ir@small (no <task>/authored/small/workflow.json; `flowtape author --approach ir` writes one)"),
    ("direct@tiny", "--approach 'direct@tiny': not an approach"),
    ("ir@a/b", "--approach 'ir@a/b': not an approach"),
])
def test_an_authored_variant_that_is_not_there_is_named(suite, name, message):
    with pytest.raises(GoldenError) as caught:
        select_units(load_suite(suite), name)
    assert str(caught.value).startswith(message)


def test_an_authored_workflow_is_recorded_replayed_and_judged_on_outputs(suite, tmp_path, cli, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    tapes, ledger = tmp_path / "cassettes", tmp_path / "ledger.duckdb"
    recorded = cli("record", suite, "--approach", "ir@tiny", "--cassettes", tapes)
    assert recorded.exit_code == 0, recorded.output
    tape = tapes / "meeting-times" / f"{CASE}.ir@tiny.yaml"
    assert tape.is_file() and f"-> {tape}" in recorded.stdout
    assert "convert_time" in tape.read_text()

    monkeypatch.setenv("CI", "true")
    replayed = cli("test", suite, "--approach", "ir@tiny", "--cassettes", tapes, "--ledger", ledger, "--trace-dir", tmp_path / "traces")
    assert replayed.exit_code == 0, replayed.output
    with duckdb.connect(str(ledger), read_only=True) as db:
        assert db.execute('SELECT approach, status FROM cases').fetchall() == [("ir@tiny", "passed")]
        # outputs judged (3), the golden's step checks (now, convert: nodes of the hand-written IR) not applied
        targets = sorted(t for (t,) in db.execute("SELECT DISTINCT target FROM evaluations").fetchall())
        assert targets == ["outputs.away_dst", "outputs.difference", "outputs.summary"]
        assert db.execute("SELECT step_id FROM tool_calls").fetchall() == [("conv",)]

    # The model's artefact changes so that an output is wrong: the same recording, judged failing.
    wrong = json.loads(json.dumps(AUTHORED).replace("later in", "earlier in"))
    (suite / "meeting-times" / "authored" / "tiny" / "workflow.json").write_text(json.dumps(wrong))
    again = cli("test", suite, "--approach", "ir@tiny", "--cassettes", tapes, "--ledger", ledger, "--trace-dir", tmp_path / "traces")
    assert again.exit_code == 1
    assert f"meeting-times/{CASE} [ir@tiny] outputs.summary Regex" in again.stdout


def test_an_authored_workflow_is_costed_as_ir_and_labelled_as_itself(suite):
    trace = Trace(run_id="r", task="meeting-times", case=CASE, approach="ir@tiny", workflow_hash="", status=RunStatus.PASSED,
                  inputs={"home": "Asia/Dubai"}, outputs={"difference": "+4.0h"})
    cost = context_cost(trace, {}, artefact=json.dumps(AUTHORED))
    assert cost.approach == "ir@tiny"
    written = next(c for c in cost.components if c.name == "ir")
    assert written.basis == "modelled" and written.output_tokens > 0  # a model wrote it; a person did not
    golden = context_cost(trace.model_copy(update={"approach": "ir"}), {}, artefact=json.dumps(AUTHORED))
    assert next(c for c in golden.components if c.name == "ir").basis == "hand-written"


def test_a_gate_policy_may_name_an_authored_variant_or_fall_back_to_its_approach(tmp_path):
    from harness.gate._policy import lookup

    policy = tmp_path / "flowtape.toml"
    policy.write_text('[gate]\nmin_pass_rate = {ir = 1.0, "ir@tiny" = 0.0}\n')
    loaded = load_policy(policy)
    assert lookup(loaded.policy.min_pass_rate, "ir@tiny") == ("ir@tiny", 0.0)
    assert lookup(loaded.policy.min_pass_rate, "ir@other") == ("ir", 1.0)
    policy.write_text('[gate]\nmin_pass_rate = {"direct@tiny" = 0.0}\n')
    with pytest.raises(PolicyError, match="unknown approach 'direct@tiny'"):
        load_policy(policy)
