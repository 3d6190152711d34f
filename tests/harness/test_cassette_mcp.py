"""MCP through a cassette: record real servers, replay with no server, misses, new episodes,
unused recordings, and a secret a server echoes back."""

import os
import shutil
import sys
from pathlib import Path

import pytest

from harness.cassettes import Cassette, CassetteMiss, LeakedSecretError
from harness.cassettes._mcp import CassetteMCPClient
from runner import RunStatus, Runtime, execute
from runner.live.mcp import parse_mcp_config

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = ROOT / ".tools/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
TIME = {"time": {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]}}


def convert(*times):
    nodes = [{"id": f"at{t.replace(':', '')}", "type": "mcp-time-convert_time",
              "params": {"source_timezone": "UTC", "time": t, "target_timezone": "Asia/Tokyo"}} for t in times]
    edges = [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {"ir_version": "0.1.0", "nodes": nodes, "edges": edges,
            "outputs": {n["id"]: "${" + n["id"] + ".result.target.datetime}" for n in nodes}}


def run(doc, path, mode=None, servers=TIME):
    cassette = Cassette.open(path, mode)
    with CassetteMCPClient(parse_mcp_config({"mcpServers": servers}), cassette) as client:
        trace = execute(doc, runtime=Runtime(mcp=client))
    cassette.save({"servers": client.server_meta()})
    return trace, cassette


def same_steps(a, b):
    keep = ("step_id", "kind", "node_type", "params", "output", "action", "error", "attempts", "llm", "tool")
    return [s.model_dump(include=set(keep)) for s in a.steps] == [s.model_dump(include=set(keep)) for s in b.steps]


@pytest.fixture
def server_on_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")


def test_record_then_replay_with_the_server_gone_gives_the_identical_trace(tmp_path, monkeypatch, server_on_path):
    path = tmp_path / "time.yaml"
    live, cassette = run(convert("12:00", "18:30"), path, "once")
    assert live.status is RunStatus.PASSED and path.exists()
    # The client lists tools before the first call (a misspelt tool is an error before any call);
    # the SDK reuses that list to check structured results against the tool's schema.
    assert [i.method for i in cassette.interactions] == ["initialize", "tools/list", "tools/call", "tools/call"]
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the server's command no longer exists
    assert shutil.which("mcp-server-time") is None
    replayed, again = run(convert("12:00", "18:30"), path)
    assert replayed.status is RunStatus.PASSED
    assert replayed.outputs == live.outputs and same_steps(replayed, live)
    assert replayed.step("at1200").tool.result_bytes == live.step("at1200").tool.result_bytes > 100
    assert again.unused() == []


def test_a_new_request_in_mode_none_is_a_miss_naming_step_and_difference(tmp_path, monkeypatch, server_on_path):
    path = tmp_path / "time.yaml"
    run(convert("12:00"), path, "once")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    doc = convert("12:00")
    doc["nodes"][0]["params"]["time"] = "13:00"
    trace, _ = run(doc, path)
    assert trace.status is RunStatus.FAILED
    error = trace.step("at1200").error
    assert error.startswith("CassetteMiss: ") and "no recording for step 'at1200' (mcp time tools/call)" in error
    assert 'differing at arguments.time (from char 2: recorded "12:00", now "13:00")' in error


def test_new_episodes_replays_the_old_and_records_the_new_with_a_real_handshake(tmp_path, server_on_path):
    path = tmp_path / "time.yaml"
    run(convert("12:00"), path, "once")
    trace, cassette = run(convert("12:00", "06:15"), path, "new_episodes")
    assert trace.status is RunStatus.PASSED, trace.error
    assert trace.outputs["at0615"].endswith("T15:15:00+09:00")
    assert [(i.step, i.method) for i in cassette.interactions] == [(None, "initialize"), (None, "tools/list"), ("at1200", "tools/call"), ("at0615", "tools/call")]
    replayed, again = run(convert("12:00", "06:15"), path, "none", servers={"time": {"command": "/nonexistent/server"}})
    assert replayed.outputs == trace.outputs and again.unused() == []


def test_recordings_a_run_did_not_use_are_reported(tmp_path, server_on_path):
    path = tmp_path / "time.yaml"
    run(convert("12:00", "18:30"), path, "once")
    _, cassette = run(convert("12:00"), path, "none")
    assert [(i.step, i.request["arguments"]["time"]) for i in cassette.unused()] == [("at1830", "18:30")]


def test_server_env_values_are_redacted_in_the_cassette(tmp_path, server_on_path):
    servers = {"time": {**TIME["time"], "env": {"TZ_TOKEN": "tok-abcdef-123", "LANG": "C"}}}
    run(convert("12:00"), tmp_path / "time.yaml", "once", servers=servers)
    text = (tmp_path / "time.yaml").read_text()
    assert "tok-abcdef-123" not in text and "TZ_TOKEN: <redacted>" in text and "LANG: <redacted>" in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_secret_a_server_echoes_back_is_refused_and_nothing_is_written(tmp_path):
    assert EVERYTHING.exists(), "run scripts/install_tools.sh (scripts/setup.sh does)"
    servers = {"everything": {"command": "node", "args": [str(EVERYTHING), "stdio"], "env": {"PLANTED_TOKEN": "planted-secret-4242"}}}
    doc = {"ir_version": "0.1.0", "nodes": [{"id": "env", "type": "mcp-everything-get-env", "params": {}}], "outputs": {"env": "${env.result}"}}
    cassette = Cassette.open(tmp_path / "env.yaml", "once")
    with CassetteMCPClient(parse_mcp_config({"mcpServers": servers}), cassette) as client:
        trace = execute(doc, runtime=Runtime(mcp=client))
    assert trace.status is RunStatus.PASSED and "planted-secret-4242" in str(trace.outputs["env"])
    with pytest.raises(LeakedSecretError, match=r"env\.yaml: refusing to save: a secret appears at \$\.interactions\[\d+\]\.response\.result\.content\[0\]\.text \(value of PLANTED_TOKEN\)"):
        cassette.save()
    assert not (tmp_path / "env.yaml").exists()


def test_a_cassette_miss_is_an_error_type_of_its_own():
    assert issubclass(CassetteMiss, LookupError)


def test_streamable_http_servers_record_and_replay_too(tmp_path, http_url):
    doc = {"ir_version": "0.1.0", "nodes": [{"id": "sum", "type": "mcp-adder-add", "params": {"a": 2, "b": 40}}], "outputs": {"sum": "${sum.result.result}"}}
    path = tmp_path / "http.yaml"
    live, _ = run(doc, path, "once", servers={"adder": {"url": http_url}})
    assert live.outputs == {"sum": 42}
    replayed, cassette = run(doc, path, "none", servers={"adder": {"url": "http://127.0.0.1:9/mcp"}})
    assert replayed.outputs == {"sum": 42} and same_steps(replayed, live) and cassette.unused() == []
