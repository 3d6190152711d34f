"""Models as a dimension: `--model` repeated on record, test and compare runs every case under
each model, each model with its own cassettes, and the ledger keys every case row by model, so
one run holds the same cases under several models and `flowtape compare` sets them side by side.

Only one model is reachable from this machine (SmolLM2-135M on the local llama.cpp server, which
answers whatever model name a request gives). Here it is asked under two names; the harness keys
on the name, so the two are recorded, replayed and accounted apart. That their answers match is
expected: it is one model."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from harness.accounting import Ledger, query
from harness.accounting._schema import SCHEMA_VERSION

TASK = """\
version: 1
description: greet someone
servers: {}
approaches: [ir]
llm: {model: openai/smollm2}
"""
WORKFLOW = {
    "inputs": {"name": {"type": "string"}},
    "nodes": [{"id": "greet", "type": "llm", "params": {"prompt": "Say hello to ${name} in three words.", "temperature": 0, "max_tokens": 12}}],
    "edges": [],
    "outputs": {"reply": {"source": "${greet.response}"}},
}
MODELS = ("openai/smollm2", "openai/smollm2-second-name")


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    task = tmp_path / "suite" / "greet"
    (task / "cases").mkdir(parents=True)
    (task / "task.yaml").write_text(TASK)
    (task / "workflow.json").write_text(json.dumps(WORKFLOW))
    (task / "cases" / "ada.yaml").write_text("version: 1\ninputs: {name: Ada}\noutputs:\n  reply: [{Regex: '\\S'}]\n")
    return tmp_path / "suite"


def test_two_models_are_recorded_replayed_and_compared_apart(suite, tmp_path, cli, monkeypatch, local_model):
    monkeypatch.delenv("CI", raising=False)
    tapes, ledger = tmp_path / "cassettes", tmp_path / "ledger.duckdb"
    models = [arg for m in MODELS for arg in ("--model", m)]
    recorded = cli("record", suite, *models, "--cassettes", tapes, "--llm-api-base", local_model.api_base, "--llm-api-key", local_model.api_key)
    assert recorded.exit_code == 0, recorded.output
    # the task's own model keeps the usual place; the other has a folder of its own
    own, other = tapes / "greet" / "ada.ir.yaml", tapes / "greet" / "models" / "smollm2-second-name" / "ada.ir.yaml"
    assert [yaml.safe_load(p.read_text())["meta"]["llm"]["model"] for p in (own, other)] == list(MODELS)
    assert yaml.safe_load(other.read_text())["interactions"][0]["request"]["model"] == "smollm2-second-name"
    assert "[ir · openai/smollm2-second-name]" in recorded.stdout

    monkeypatch.setenv("CI", "true")
    replayed = cli("test", suite, *models, "--cassettes", tapes, "--ledger", ledger, "--trace-dir", tmp_path / "traces")
    assert replayed.exit_code == 0, replayed.output
    assert "model" in replayed.stdout.splitlines()[0]  # a model column, as there are two
    _, rows = query(ledger, 'SELECT c.model, c.status, count(l.seq) FROM cases c JOIN llm_calls l USING (run_id, task, "case", approach, model) GROUP BY ALL ORDER BY 1')
    assert rows == [(MODELS[0], "passed", 1), (MODELS[1], "passed", 1)]

    # a model with no recordings of its own is a miss naming where they would be
    missing = cli("test", suite, "--model", "openai/another", "--cassettes", tapes, "--ledger", ledger, "--trace-dir", tmp_path / "traces")
    assert missing.exit_code == 2
    assert str(tapes / "greet" / "models" / "another" / "ada.ir.yaml") in missing.output

    compared = cli("compare", suite, "--run", _first_run(ledger), "--ledger", ledger, "--cassettes", tapes, "--sweep-system-tokens", "off")
    assert compared.exit_code == 0, compared.output
    side = compared.stdout.split("\n\n")[0]
    assert side.startswith("models side by side") and all(m in side for m in MODELS)
    assert [line for line in compared.stdout.splitlines() if line.startswith("=== model")] == [f"=== model {m} ===" for m in MODELS]
    _, accounted = query(ledger, "SELECT DISTINCT model FROM context_tokens ORDER BY 1")
    assert accounted == [(m,) for m in MODELS]
    only = cli("compare", suite, "--run", _first_run(ledger), "--ledger", ledger, "--cassettes", tapes, "--model", MODELS[1],
               "--sweep-system-tokens", "off", "--format", "json")
    assert json.loads(only.stdout)["model"] == MODELS[1]
    wrong = cli("compare", suite, "--run", _first_run(ledger), "--ledger", ledger, "--cassettes", tapes, "--model", "openai/nope")
    assert wrong.exit_code == 2 and "--model openai/nope: run" in wrong.stderr

    # the gate judges each model's case on its own and says which
    policy = tmp_path / "flowtape.toml"
    policy.write_text("[gate]\nmax_tokens_per_case = 1\n")
    gated = cli("gate", "--policy", policy, "--ledger", ledger, "--run", _first_run(ledger), "--summary", tmp_path / "summary.md")
    assert gated.exit_code == 1, gated.output
    for model in MODELS:
        assert f"greet/ada [ir · {model}]: tokens" in gated.output
        assert f"| ir · {model} | 1 | 1/1" in (tmp_path / "summary.md").read_text()


def _first_run(ledger: Path) -> str:
    return query(ledger, "SELECT run_id FROM runs ORDER BY started_at LIMIT 1")[1][0][0]


def test_a_ledger_of_schema_1_is_upgraded_in_place_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as db:  # the layout flowtape wrote before models were kept
        db.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        db.execute("INSERT INTO meta VALUES ('format', 'flowtape-ledger'), ('schema_version', '1')")
        db.execute("CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR NOT NULL,"
                   " git_commit VARCHAR, flowtape_version VARCHAR, suite VARCHAR, settings JSON)")
        db.execute("""CREATE TABLE cases (run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR, status VARCHAR,
                      duration_ms DOUBLE, error VARCHAR, trace_path VARCHAR, completed_at TIMESTAMP)""")
        db.execute("""CREATE TABLE steps (run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR, seq INTEGER,
                      step_id VARCHAR, kind VARCHAR, node_type VARCHAR, action VARCHAR, error VARCHAR, attempts INTEGER, duration_ms DOUBLE)""")
        db.execute("""CREATE TABLE llm_calls (run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR, seq INTEGER,
                      step_id VARCHAR, model VARCHAR, prompt_tokens BIGINT, completion_tokens BIGINT, cached_tokens BIGINT,
                      cost_usd DOUBLE, usage_source VARCHAR)""")
        db.execute("""CREATE TABLE tool_calls (run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR, seq INTEGER,
                      step_id VARCHAR, server VARCHAR, tool VARCHAR, request_bytes BIGINT, result_bytes BIGINT, result_tokens BIGINT,
                      tokenizer VARCHAR, is_error BOOLEAN)""")
        db.execute("""CREATE TABLE evaluations (run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR, target VARCHAR,
                      evaluator VARCHAR, passed BOOLEAN, score DOUBLE, reason VARCHAR, error BOOLEAN)""")
        db.execute("INSERT INTO cases VALUES ('r1', 't', 'c', 'ir', 'passed', 5.0, NULL, NULL, NULL)")
        db.execute("INSERT INTO llm_calls VALUES ('r1', 't', 'c', 'ir', 0, 'greet', 'openai/smollm2', 10, 3, NULL, 0.0, 'provider')")
    # a reader upgrades it too (it would otherwise find no `model` column)
    assert query(path, 'SELECT task, "case", approach, model, status FROM cases')[1] == [("t", "c", "ir", "", "passed")]
    assert query(path, "SELECT model, call_model, prompt_tokens FROM llm_calls")[1] == [("", "openai/smollm2", 10)]
    assert query(path, "SELECT value FROM meta WHERE key = 'schema_version'")[1] == [(str(SCHEMA_VERSION),)]
    with duckdb.connect(str(path), read_only=True) as db:
        columns = [r[0] for r in db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'steps' ORDER BY ordinal_position").fetchall()]
    assert columns[:6] == ["run_id", "task", "case", "approach", "model", "seq"]
    Ledger(path).close()  # and a writer opens it as it is
