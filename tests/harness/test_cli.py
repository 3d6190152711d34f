"""`flowtape validate` and `flowtape run` as a user meets them: exit codes, messages, formats."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness._cli.main import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture
def workflow(tmp_path):
    doc = {
        "ir_version": "0.1.0",
        "inputs": {"who": {"type": "string"}, "n": {"type": "integer", "required": False, "default": 1}, "tags": {"type": "array", "required": False, "default": []}},
        "nodes": [{"id": "hi", "type": "shell", "params": {"command": "printf 'hi %s x%s %s' ${who} ${n} ${tags}"}}],
        "outputs": {"greeting": {"source": "${hi.stdout}"}, "n": {"source": "${n}"}},
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(doc))
    return path


def test_validate_ok(cli, workflow):
    result = cli("validate", workflow)
    assert result.exit_code == 0
    assert result.stdout == f"{workflow}: valid (1 nodes)\n"


def test_validate_reports_every_problem_and_exits_2(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "shel"}], "edgez": []}))
    result = cli("validate", bad)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert f"{bad}: $.edgez: unknown top-level key 'edgez'; did you mean 'edges'?" in lines
    assert f"{bad}: $.nodes[0].type (node a): unknown node type 'shel'; did you mean 'shell'?" in lines
    assert lines[-1] == f"{bad}: 2 problems"
    assert "Traceback" not in result.output


def test_run_text_and_typed_inputs(cli, workflow, tmp_path):
    result = cli("run", workflow, "-i", "who=ada lovelace", "-i", "n=3", "-i", 'tags=["a"]', "--trace-dir", tmp_path / "t")
    assert result.exit_code == 0, result.output
    assert result.stdout == 'greeting: hi ada lovelace x3 ["a"]\nn: 3\n'
    assert "passed · 1 steps" in result.stderr


def test_run_json_format_and_trace_file(cli, workflow, tmp_path):
    result = cli("run", workflow, "-i", "who=x", "--format", "json", "--trace-dir", tmp_path / "t")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["status"] == "passed" and payload["outputs"] == {"greeting": "hi x x1 []", "n": 1}
    trace = json.loads(Path(payload["trace"]).read_text())
    assert trace["run_id"] == payload["run_id"] and trace["steps"][0]["step_id"] == "hi"


def test_run_failure_exits_1_naming_the_node(cli, tmp_path):
    path = tmp_path / "fail.json"
    path.write_text(json.dumps({"ir_version": "0.1.0", "nodes": [{"id": "boom", "type": "shell", "params": {"command": "echo no >&2; exit 3"}}]}))
    result = cli("run", path, "--format", "json", "--trace-dir", tmp_path / "t")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["status"] == "failed" and payload["error"] == "node 'boom' failed: Command failed with exit code 3: no"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "{dir}/absent.json"], "flowtape: {dir}/absent.json: no such workflow file"),
        (["run", "{dir}"], "flowtape: {dir}: is a directory, expected a workflow JSON file"),
        (["run", "{dir}/broken.json"], "flowtape: {dir}/broken.json:1:16: invalid JSON: Expecting value"),
        (["run", "{wf}", "-i", "who"], "flowtape: -i 'who': expected NAME=VALUE"),
        (["run", "{wf}", "-i", "who=x", "-i", "n=three"], "flowtape: -i n: expected integer as JSON, got 'three' ({wf}: $.inputs.n)"),
        (["run", "{wf}"], "{wf}: $.inputs.who: missing required input 'who'"),
        (["run", "{wf}", "-i", "who=x", "-i", "nn=1"], "{wf}: $.inputs.nn: unknown input 'nn'; did you mean 'n'?"),
        (["run", "{wf}", "-i", "who=x", "--mcp-config", "{dir}/absent.json"], "flowtape: {dir}/absent.json"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(cli, workflow, tmp_path, args, message):
    (tmp_path / "broken.json").write_text('{"ir_version": }')
    fill = {"dir": tmp_path, "wf": workflow}
    result = cli(*[a.format(**fill) for a in args])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0].startswith(message.format(**fill))
    assert "Traceback" not in result.output and result.stdout == ""


def test_help_does_not_import_litellm_or_mcp():
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sys; sys.argv=['flowtape','--help']; from harness._cli.main import main; main()"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "COLUMNS": "100"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Usage: flowtape" in out.stdout
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "harness._cli.main" in imported  # importtime did report our own imports
    heavy = sorted(m for m in imported if m.split(".")[0] in ("litellm", "mcp", "openai", "httpx"))
    assert heavy == []


def test_console_script_runs_the_example(tmp_path):
    exe = Path(sys.executable).with_name("flowtape")
    out = subprocess.run([exe, "run", ROOT / "examples/changelog.json", "-i", f"repo={ROOT}", "-i", "limit=3", "--format", "json", "--trace-dir", tmp_path],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["status"] == "passed" and payload["outputs"]["summary_file"].endswith("example-changelog.txt")


def test_warnings_are_shown_but_do_not_fail(cli, tmp_path):
    path = tmp_path / "orphan.json"
    path.write_text(json.dumps({"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "shell", "params": {"command": "echo a"}},
                                                                {"id": "b", "type": "shell", "params": {"command": "echo b"}}],
                                "outputs": {"a": "${a.stdout}"}}))
    warning = f"{path}: $.nodes[1] (node b): warning: node 'b' is never reached from start node 'a' and will not run"
    result = cli("validate", path)
    assert result.exit_code == 0 and result.stderr.splitlines() == [warning]
    result = cli("run", path, "--trace-dir", tmp_path / "t")
    assert result.exit_code == 0 and result.stdout == "a: a\n" and result.stderr.splitlines()[0] == warning


def test_run_with_mcp_config_against_a_real_server(cli, tmp_path):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"time": {"command": str(Path(sys.executable).with_name("mcp-server-time")), "args": ["--local-timezone", "UTC"]}}}))
    path = tmp_path / "tz.json"
    path.write_text(json.dumps({"ir_version": "0.1.0", "inputs": {"t": {"type": "string"}},
                                "nodes": [{"id": "c", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "Europe/Lisbon"}}],
                                "outputs": {"dst": "${c.result.is_dst ?? c.result.target.is_dst}"}}))
    assert cli("validate", path, "--mcp-config", config).exit_code == 0
    result = cli("run", path, "-i", "t=09:30", "--mcp-config", config, "--format", "json", "--trace-dir", tmp_path / "t")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    trace = json.loads(Path(payload["trace"]).read_text())
    assert trace["steps"][0]["tool"]["server"] == "time" and trace["steps"][0]["output"]["result"]["target"]["timezone"] == "Europe/Lisbon"
    bad = cli("validate", path, "--mcp-config", config.with_name("absent.json"))
    assert bad.exit_code == 2 and "absent.json" in bad.stderr


def test_an_unwritable_trace_dir_is_bad_input_not_a_traceback(cli, workflow, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli("run", workflow, "-i", "who=x", "--trace-dir", blocker / "traces")
    assert result.exit_code == 2 and result.stderr.startswith(f"flowtape: {blocker / 'traces'}: cannot write the trace")


def test_version_prints_the_installed_version(cli):
    from importlib.metadata import version

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout == f"flowtape {version('flowtape')}\n"


def test_a_tool_the_server_does_not_list_is_bad_input_before_anything_runs(cli, tmp_path):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"time": {"command": str(Path(sys.executable).with_name("mcp-server-time")), "args": ["--local-timezone", "UTC"]}}}))
    path = tmp_path / "tz.json"
    path.write_text(json.dumps({"ir_version": "0.1.0", "nodes": [
        {"id": "mark", "type": "write-file", "params": {"file_path": "ran.txt", "content": "x"}},
        {"id": "c", "type": "mcp-time-get_current_tme", "params": {"timezone": "UTC"}},
        {"id": "d", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": 930, "target_timezone": "Europe/Lisbon"}}],
        "edges": [{"from": "mark", "to": "c"}, {"from": "c", "to": "d"}]}))
    expected = [f"{path}: $.nodes[1] (node c).type: server 'time' has no tool 'get_current_tme'; did you mean 'get_current_time'? (its tools: convert_time, get_current_time)",
                f"{path}: $.nodes[2] (node d).params.time: 930 is not of type 'string'"]
    checked = cli("validate", path, "--mcp-config", config)
    assert checked.exit_code == 2 and checked.stderr.splitlines()[:2] == expected
    ran = cli("run", path, "--mcp-config", config, "--trace-dir", tmp_path / "t")
    assert ran.exit_code == 2 and ran.stderr.splitlines()[:2] == expected and "nothing ran" in ran.stderr
    assert not (tmp_path / "ran.txt").exists() and not (tmp_path / "t").exists()
