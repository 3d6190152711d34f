"""README "Your first task", followed step by step: `flowtape init` against a real MCP server,
the case filled in, recorded live, replayed, gated; and init's refusals."""

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness._cli.main import app
from harness.goldens import load_task
from harness.scaffold import ScaffoldError, ServerSpec, scaffold

TIME = "time=${BIN}/mcp-server-time --local-timezone UTC"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_the_walkthrough_init_fill_record_test_gate(project, tmp_path):
    made = project("init", "clock", "--server", TIME, "--tool", "convert_time")
    assert made.exit_code == 0, made.output
    task = tmp_path / "goldens/clock"
    for name in ("task.yaml", "workflow.json", "baseline.py", "cases/example.yaml"):
        assert f"wrote goldens/clock/{name}" in made.stdout
    assert "wrote flowtape.toml" in made.stdout and (tmp_path / "goldens/.schema/golden.json").is_file()
    workflow = json.loads((task / "workflow.json").read_text())
    assert workflow["nodes"][0]["type"] == "mcp-time-convert_time"
    assert set(workflow["inputs"]) == {"source_timezone", "time", "target_timezone"}  # the tool's required arguments

    # Step 2: the placeholders say what to fill in; the scaffold loads as it stands.
    case = task / "cases/example.yaml"
    assert "  time: TODO\n" in case.read_text() and case.read_text().startswith("# yaml-language-server: $schema=../../.schema/golden.json")
    load_task(task)
    text = case.read_text().replace("source_timezone: TODO", "source_timezone: Europe/Lisbon")
    text = text.replace("  time: TODO", '  time: "09:30"').replace("target_timezone: TODO", "target_timezone: Asia/Tokyo")
    spec = yaml.safe_load(text)
    spec["outputs"]["difference"] = [{"Equals": "+9.0h"}]
    case.write_text(text.split("steps:")[0] + yaml.safe_dump({k: spec[k] for k in ("steps", "outputs")}))
    workflow["outputs"]["difference"] = {"source": "${call.result.time_difference}"}
    (task / "workflow.json").write_text(json.dumps(workflow, indent=2))
    baseline = (task / "baseline.py").read_text()
    (task / "baseline.py").write_text(baseline.replace('{"result": result}', '{"result": result, "difference": result["time_difference"]}'))

    recorded = project("record", "goldens", "--task", "clock")
    assert recorded.exit_code == 0, recorded.output
    assert (tmp_path / "cassettes/clock/example.ir.yaml").is_file() and (tmp_path / "cassettes/clock/example.code.yaml").is_file()
    replayed = project("test", "goldens", "--task", "clock")
    assert replayed.exit_code == 0, replayed.output
    assert "2 cases: 2 passed, 0 failed" in replayed.stdout
    gated = project("gate")
    assert gated.exit_code == 0, gated.output
    assert "flowtape gate passed" in gated.stdout and "flowtape.toml [gate]" in gated.stdout


def test_init_without_a_server_makes_a_shell_task_that_loads(tmp_path):
    files = scaffold(tmp_path / "goldens", "hello")
    task = load_task(tmp_path / "goldens/hello")
    assert task.spec.approaches == ["ir"] and [p.name for p in files] == ["task.yaml", "workflow.json", "baseline.py", "example.yaml"]
    assert task.cases[0].spec.inputs == {"message": "hello from flowtape"}


def test_init_refuses_what_it_cannot_do(project, tmp_path):
    assert project("init", "clock", "--tool", "x").stderr.strip() == "flowtape: --tool needs --server (the server whose tool the task calls)"
    wrong = project("init", "clock", "--server", TIME, "--tool", "convert_tim")
    assert wrong.exit_code == 2
    assert "no such tool; did you mean 'convert_time'? (tools: get_current_time, convert_time)" in wrong.stderr
    assert not (tmp_path / "goldens/clock").exists()
    assert project("init", "a b").exit_code == 2
    assert "must be lower-case" in project("init", "x", "--server", "Time=mcp-server-time").stderr
    assert project("init", "hello").exit_code == 0
    again = project("init", "hello")
    assert again.exit_code == 2 and "goldens/hello: already exists" in again.stderr
    assert project("init", "hello", "--force").exit_code == 0


def test_a_server_spec_is_split_like_a_shell_command():
    spec = ServerSpec.parse("git=${BIN}/mcp-server-git --repository '/a path'")
    assert (spec.name, spec.command, spec.args) == ("git", "${BIN}/mcp-server-git", ("--repository", "/a path"))
    with pytest.raises(ScaffoldError, match="expected NAME=COMMAND"):
        ServerSpec.parse("mcp-server-git")
