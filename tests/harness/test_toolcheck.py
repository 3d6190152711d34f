"""`flowtape validate goldens/<task>` checks each MCP node against the task's servers and the
tools/list they recorded: tool names (did-you-mean), required arguments, literal argument types."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness._cli.main import app
from harness.toolcheck import check_tools, recorded_tools

ROOT = Path(__file__).resolve().parents[2]
TIME_TOOLS = recorded_tools(ROOT / "cassettes/meeting-times")


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("task", ["git-release-digest", "meeting-times", "review-triage", "shop-sales", "team-memory"])
def test_every_shipped_task_validates_against_its_recorded_tools(task, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = cli("validate", f"goldens/{task}")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"goldens/{task}/workflow.json: valid (")


def node(kind, **params):
    return {"nodes": [{"id": "n", "type": kind, "params": params}]}


def test_a_misspelt_tool_is_named_with_a_did_you_mean():
    problems, _ = check_tools(node("mcp-time-convert_tim", time="10:00"), ["time"], TIME_TOOLS)
    assert problems == ["$.nodes[0] (node n).type: server 'time' has no tool 'convert_tim'; did you mean 'convert_time'? "
                        "(its tools: convert_time, get_current_time)"]


def test_required_arguments_and_literal_types_are_checked():
    problems, _ = check_tools(node("mcp-time-convert_time", time=930, target_timezone="${away}"), ["time"], TIME_TOOLS)
    assert problems == ["$.nodes[0] (node n).params: tool 'time.convert_time' needs 'source_timezone'",
                        "$.nodes[0] (node n).params.time: 930 is not of type 'string'"]  # a template is known only at run time


def test_a_server_with_nothing_recorded_is_a_note_not_an_error():
    problems, notes = check_tools(node("mcp-git-git_lgo"), ["git"], {})
    assert problems == [] and notes == ["no recorded tools/list for server 'git': its tool names are checked once the task is recorded"]


def test_a_workflow_checked_against_a_task_fails_with_every_problem(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    doc = json.loads((ROOT / "goldens/meeting-times/workflow.json").read_text())
    doc["nodes"][1]["type"] = "mcp-time-convert_tim"
    (tmp_path / "wf.json").write_text(json.dumps(doc))
    result = cli("validate", tmp_path / "wf.json", "--task", "goldens/meeting-times")
    assert result.exit_code == 2
    assert "(node convert).type: server 'time' has no tool 'convert_tim'; did you mean 'convert_time'?" in result.stderr
    assert result.stderr.splitlines()[-1] == f"{tmp_path / 'wf.json'}: 1 problem"
