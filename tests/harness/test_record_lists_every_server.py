"""A task's cassette holds the `tools/list` of every server its task.yaml connects, used or not
(what a direct agent is offered is every connected server's tools), and a replay accounts for
those recordings instead of calling them unused."""

import json
from pathlib import Path

import pytest
import yaml

from harness.goldens import load_suite
from harness.suite import run_case

WORKFLOW = {"ir_version": "0.1.0", "inputs": {"t": {"type": "string"}},
            "nodes": [{"id": "c", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "Asia/Tokyo"}}],
            "outputs": {"diff": "${c.result.time_difference}"}}
BASELINE = """import json
from flowtape_tools import inputs, time
print(json.dumps({"diff": time.convert_time(source_timezone="UTC", time=inputs["t"], target_timezone="Asia/Tokyo")["time_difference"]}))
"""
TASK = """version: 1
description: uses time; git is connected but never called
servers:
  time: {command: '${BIN}/mcp-server-time', args: [--local-timezone, UTC]}
  git: {command: '${BIN}/mcp-server-git', args: [--repository, '${FIXTURES}/repo']}
approaches: [ir, code]
"""


def _suite(tmp_path: Path) -> Path:
    folder = tmp_path / "suite" / "tz"
    (folder / "cases").mkdir(parents=True)
    (folder / "task.yaml").write_text(TASK)
    (folder / "workflow.json").write_text(json.dumps(WORKFLOW))
    (folder / "baseline.py").write_text(BASELINE)
    (folder / "cases" / "ten.yaml").write_text("version: 1\ninputs: {t: '10:00'}\noutputs: {diff: [{Equals: '+9.0h'}]}\n")
    return folder.parent


def _listed(tape: Path) -> list[str]:
    return [i["server"] for i in yaml.safe_load(tape.read_text())["interactions"] if i["method"] == "tools/list"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The suite recorded live once (outside CI) for the two tests that read the recording."""
    from typer.testing import CliRunner

    from harness._cli.main import app

    suite = _suite(tmp_path_factory.mktemp("record-every-server"))
    out = suite.parent / "cassettes"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CI", raising=False)
        done = CliRunner().invoke(app, ["record", str(suite), "--cassettes", str(out)])
    assert done.exit_code == 0, done.output
    return suite, out


def test_recording_lists_the_tools_of_a_server_the_workflow_never_calls(recorded):
    _, out = recorded
    for approach in ("ir", "code"):
        tape = out / "tz" / f"ten.{approach}.yaml"
        assert sorted(_listed(tape)) == ["git", "time"], approach
        git = next(i for i in yaml.safe_load(tape.read_text())["interactions"] if i["method"] == "tools/list" and i["server"] == "git")
        assert "git_log" in [t["name"] for t in git["response"]["result"]["tools"]]
        calls = [i for i in yaml.safe_load(tape.read_text())["interactions"] if i["method"] == "tools/call"]
        assert [i["server"] for i in calls] == ["time"]


def test_replay_uses_the_unused_servers_listings_and_starts_nothing(cli, recorded, tmp_path, monkeypatch):
    suite, out = recorded
    monkeypatch.setenv("CI", "true")
    [task] = load_suite(suite)
    gone = task.spec.model_copy(update={"servers": {name: {"command": f"/nonexistent/{name}"} for name in task.spec.servers}})
    for approach in ("ir", "code"):
        run = run_case(task.__class__(task.name, task.folder, gone, task.cases), task.cases[0], cassettes=out, mode="none",
                       ci=True, evaluate=True, approach=approach)
        assert run.passed, (approach, run.trace.error)
        assert run.unused == [] and run.live_starts == 0, (approach, [(i.server, i.method) for i in run.unused])
    replayed = cli("test", suite, "--cassettes", out, "--strict", "--ledger", tmp_path / "ledger.duckdb", "--trace-dir", tmp_path / "traces")
    assert replayed.exit_code == 0, replayed.output


def test_an_unused_server_that_does_not_start_means_the_recording_did_not_complete(cli, tmp_path):
    suite, out = _suite(tmp_path), tmp_path / "cassettes"
    task = suite / "tz" / "task.yaml"
    task.write_text(task.read_text().replace("mcp-server-git", "mcp-server-gone"))
    done = cli("record", suite, "--cassettes", out, "--approach", "ir")
    assert done.exit_code == 1, done.output
    assert "[1/1] tz/ten [ir]: did not complete (listing every connected server's tools failed: " in done.stdout
    assert not (out / "tz" / "ten.ir.yaml").exists()
