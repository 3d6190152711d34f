"""`mcp-<server>-<tool>` nodes through the runner, against real MCP servers over stdio."""

import subprocess
import sys
from pathlib import Path

import pytest

from runner import InvalidWorkflow, RunStatus, Runtime, execute
from runner.live.mcp import LiveMCPClient, parse_mcp_config

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def mcp():
    config = parse_mcp_config({"mcpServers": {
        "time": {"command": str(BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]},
        "git-repo": {"command": str(BIN / "mcp-server-git")},
    }})
    with LiveMCPClient(config) as client:
        yield client


def test_mcp_node_calls_the_tool_and_records_the_call(mcp, tmp_path):
    doc = {
        "ir_version": "0.1.0",
        "nodes": [
            {"id": "convert", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo", "timeout": 20}},
            {"id": "show", "type": "shell", "params": {"command": "echo ${convert.result.target.datetime}"}},
        ],
        "edges": [{"from": "convert", "to": "show"}],
        "outputs": {"tokyo": "${convert.result.target.timezone}", "shown": "${show.stdout}"},
    }
    trace = execute(doc, runtime=Runtime(mcp=mcp), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED, trace.error
    assert trace.outputs["tokyo"] == "Asia/Tokyo"
    assert trace.outputs["shown"].endswith("T21:00:00+09:00")
    step = trace.step("convert")
    assert step.kind == "mcp" and step.params["time"] == "12:00"
    assert step.tool.server == "time" and step.tool.tool == "convert_time" and not step.tool.is_error
    assert step.tool.request_bytes > 40 and step.tool.result_bytes > step.tool.request_bytes


def test_a_server_name_with_a_hyphen_and_text_results(mcp, tmp_path):
    repo = tmp_path / "repo"
    env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    (repo / "f.txt").write_text("x")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "feat: first"], check=True, env=env)
    doc = {"ir_version": "0.1.0", "inputs": {"repo": {"type": "string"}},
           "nodes": [{"id": "log", "type": "mcp-git-repo-git_log", "params": {"repo_path": "${repo}", "max_count": 5}}],
           "outputs": {"log": "${log.result}"}}
    trace = execute(doc, {"repo": str(repo)}, runtime=Runtime(mcp=mcp), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED, trace.error
    assert "feat: first" in trace.outputs["log"]
    assert trace.step("log").tool.server == "git-repo"


def test_a_tool_error_fails_the_node_and_takes_the_error_edge(mcp, tmp_path):
    doc = {"ir_version": "0.1.0",
           "nodes": [{"id": "bad", "type": "mcp-time-get_current_time", "params": {"timezone": "Not/AZone"}},
                     {"id": "fallback", "type": "shell", "params": {"command": "echo fallback"}}],
           "edges": [{"from": "bad", "to": "fallback", "action": "error"}],
           "outputs": {"out": "${fallback.stdout}"}}
    trace = execute(doc, runtime=Runtime(mcp=mcp), base_dir=tmp_path)
    assert trace.outputs == {"out": "fallback"}
    bad = trace.step("bad")
    assert bad.action == "error" and bad.tool.is_error and "Not/AZone" in bad.error


def test_unknown_server_is_a_validation_error_naming_the_configured_ones(mcp, tmp_path):
    doc = {"ir_version": "0.1.0", "nodes": [{"id": "x", "type": "mcp-clock-now", "params": {}}]}
    with pytest.raises(InvalidWorkflow, match=r"no MCP server for 'mcp-clock-now' \(servers: git-repo, time\)"):
        execute(doc, runtime=Runtime(mcp=mcp), base_dir=tmp_path)
