"""The live MCP client against real servers: mcp-server-time and mcp-server-git over stdio, and a
tiny MCPServer over streamable HTTP. No SDK mocks: these tests are what proves the SDK wiring."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runner.clients import MCPClient, MCPError
from runner.live.mcp import LiveMCPClient, MCPConfigError, ServerConfig, load_mcp_config, parse_mcp_config

BIN = Path(sys.executable).parent
TIME_SERVER = {"command": str(BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]}


def configs(**servers: dict[str, Any]) -> dict[str, ServerConfig]:
    return parse_mcp_config({"mcpServers": servers}, source="test")


@pytest.fixture(scope="module")
def time_client():
    with LiveMCPClient(configs(time=TIME_SERVER), startup_timeout=20) as client:
        yield client


# -- stdio: mcp-server-time ------------------------------------------------------------------


def test_time_server_lists_tools(time_client: LiveMCPClient) -> None:
    assert isinstance(time_client, MCPClient)
    assert time_client.servers() == ["time"]
    tools = {tool.name: tool for tool in time_client.list_tools("time")}
    assert set(tools) == {"get_current_time", "convert_time"}
    schema = tools["convert_time"].input_schema
    assert schema["type"] == "object"
    assert set(schema["required"]) == {"source_timezone", "time", "target_timezone"}
    assert tools["convert_time"].description == "Convert time between timezones"


def test_time_server_converts(time_client: LiveMCPClient) -> None:
    # UTC and Tokyo have no DST, so only the date part depends on the day the test runs.
    args = {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
    result = time_client.call_tool("time", "convert_time", args, step_id="s1")
    assert result.is_error is False
    assert [block["type"] for block in result.content] == ["text"]
    structured = result.structured_content
    assert structured is not None
    assert json.loads(result.content[0]["text"]) == structured
    assert structured["time_difference"] == "+9.0h"
    assert structured["source"]["datetime"].endswith("T12:00:00+00:00")
    assert structured["target"]["datetime"].endswith("T21:00:00+09:00")
    assert structured["target"]["timezone"] == "Asia/Tokyo"
    sent = {"name": "convert_time", "arguments": args}
    assert result.request_bytes == len(json.dumps(sent, separators=(",", ":")).encode())
    # The result carries the payload twice (text block + structuredContent), plus the envelope.
    assert result.result_bytes > len(result.content[0]["text"].encode()) > 0


def test_bad_argument_is_an_error_result(time_client: LiveMCPClient) -> None:
    args = {"source_timezone": "UTC", "time": "25:99", "target_timezone": "Asia/Tokyo"}
    result = time_client.call_tool("time", "convert_time", args)
    assert result.is_error is True
    assert result.structured_content is None
    assert "Invalid time format" in result.content[0]["text"]


def test_unknown_tool_is_an_mcp_error_before_any_call(time_client: LiveMCPClient) -> None:
    # Checked against tools/list, not left to the server: some servers answer an unknown tool
    # with ordinary text, which would pass as a result.
    with pytest.raises(MCPError, match=r"^server 'time' has no tool 'no_such_tool' \(its tools: get_current_time, convert_time\)$"):
        time_client.call_tool("time", "no_such_tool", {})
    with pytest.raises(MCPError, match=r"has no tool 'convert_tim'; did you mean 'convert_time'\?"):
        time_client.call_tool("time", "convert_tim", {})


def test_unknown_server_names_the_known_ones(time_client: LiveMCPClient) -> None:
    with pytest.raises(MCPError, match=r"unknown MCP server 'nope' \(configured: time\)"):
        time_client.list_tools("nope")
    with pytest.raises(MCPError, match="'nope'"):
        time_client.call_tool("nope", "convert_time", {})


# -- stdio: mcp-server-git -------------------------------------------------------------------


def git_repo(path: Path) -> tuple[Path, str]:
    """A one-commit repository with fixed identity and dates, so its hash never changes."""
    env = {
        "PATH": os.environ["PATH"], "HOME": str(path), "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_AUTHOR_DATE": "2024-01-02T03:04:05+00:00",
        "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_COMMITTER_DATE": "2024-01-02T03:04:05+00:00",
    }
    repo = path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("hello\n")
    for cmd in (["init", "-q", "-b", "main"], ["add", "README.md"], ["commit", "-q", "-m", "initial commit"]):
        subprocess.run(["git", *cmd], cwd=repo, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return repo, head.stdout.strip()


def test_git_server_log_and_status(tmp_path: Path) -> None:
    repo, head = git_repo(tmp_path)
    (repo / "notes.txt").write_text("untracked\n")
    server = {"command": str(BIN / "mcp-server-git"), "args": ["--repository", str(repo)]}
    with LiveMCPClient(configs(git=server), startup_timeout=20) as client:
        assert {"git_log", "git_status"} <= {tool.name for tool in client.list_tools("git")}
        log = client.call_tool("git", "git_log", {"repo_path": str(repo), "max_count": 5})
        assert not log.is_error
        text = "\n".join(block["text"] for block in log.content)
        assert f"Commit: {head}" in text
        assert "Author: Ada" in text
        assert "Date: 2024-01-02 03:04:05+00:00" in text
        assert "Message: initial commit" in text
        status = client.call_tool("git", "git_status", {"repo_path": str(repo)})
        assert not status.is_error
        assert "On branch main" in status.content[0]["text"]
        assert "notes.txt" in status.content[0]["text"]
        outside = client.call_tool("git", "git_status", {"repo_path": str(tmp_path)})
        assert outside.is_error and "outside the allowed repository" in outside.content[0]["text"]


# -- startup failures and lifecycle ----------------------------------------------------------


def test_missing_command_fails_fast_with_one_line() -> None:
    with LiveMCPClient(configs(ghost={"command": "flowtape-no-such-server", "args": ["--x"]})) as client:
        started = time.monotonic()
        with pytest.raises(MCPError) as info:
            client.list_tools("ghost")
        assert time.monotonic() - started < 5
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("MCP server 'ghost' failed to start (command: flowtape-no-such-server --x): ")
    assert "FileNotFoundError" in message


def test_crashing_server_reports_its_stderr() -> None:
    crash = {"command": TIME_SERVER["command"], "args": ["--local-timezone", "Nowhere/Bogus"]}
    with LiveMCPClient(configs(crash=crash), startup_timeout=20) as client:
        with pytest.raises(MCPError) as info:
            client.call_tool("crash", "get_current_time", {"timezone": "UTC"})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("MCP server 'crash' failed to start (command: ")
    assert "invalid --local-timezone 'Nowhere/Bogus'" in message


def test_silent_server_times_out() -> None:
    # Reads stdin until EOF and never answers `initialize`: only the timeout ends the wait.
    mute = {"command": sys.executable, "args": ["-c", "import sys; sys.stdin.read()"]}
    with LiveMCPClient(configs(mute=mute), startup_timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(MCPError, match=r"'mute' failed to start .*no answer within 0\.5 s"):
            client.list_tools("mute")
        assert time.monotonic() - started < 5


def test_close_stops_the_server_process_and_is_idempotent(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    wrapper = {"command": "sh", "args": ["-c", f'echo $$ > "{pid_file}"; exec "$0" "$@"', *[TIME_SERVER["command"]],
                                         *TIME_SERVER["args"]]}
    client = LiveMCPClient(configs(time=wrapper))
    assert client.list_tools("time")
    pid = int(pid_file.read_text())
    os.kill(pid, 0)  # alive while the session is open
    client.close()
    with pytest.raises(ProcessLookupError):  # exited and reaped: no orphan, no zombie
        os.kill(pid, 0)
    client.close()
    with pytest.raises(MCPError, match="closed"):
        client.list_tools("time")


def test_close_without_use_starts_nothing() -> None:
    client = LiveMCPClient(configs(time=TIME_SERVER))
    client.close()
    client.close()


def test_wrap_streams_sees_the_traffic() -> None:
    class Tap:
        def __init__(self, inner: Any, log: list[str]) -> None:
            self.inner, self.log = inner, log

        async def send(self, item: Any) -> None:
            self.log.append(getattr(item.message, "method", None) or "response")
            await self.inner.send(item)

        async def aclose(self) -> None:
            await self.inner.aclose()

        async def __aenter__(self) -> Tap:
            return self

        async def __aexit__(self, *exc: object) -> None:
            await self.aclose()

    class Tapping(LiveMCPClient):
        sent: list[str] = []

        def wrap_streams(self, server: str, read: Any, write: Any) -> tuple[Any, Any]:
            assert server == "time"
            return read, Tap(write, self.sent)

    with Tapping(configs(time=TIME_SERVER)) as client:
        client.list_tools("time")
        client.list_tools("time")  # cached: no second request
    assert Tapping.sent == ["initialize", "notifications/initialized", "tools/list"]


# -- streamable HTTP -------------------------------------------------------------------------

def test_streamable_http_server(http_url: str) -> None:
    servers = configs(adder={"type": "http", "url": http_url, "headers": {"X-Flowtape": "test"}})
    with LiveMCPClient(servers, startup_timeout=10) as client:
        [tool] = client.list_tools("adder")
        assert (tool.name, tool.description) == ("add", "Add two integers")
        assert tool.input_schema["required"] == ["a", "b"]
        result = client.call_tool("adder", "add", {"a": 2, "b": 40})
        assert not result.is_error
        assert result.content == [{"type": "text", "text": "42"}]
        assert result.structured_content == {"result": 42}
        bad = client.call_tool("adder", "add", {"a": "two", "b": 40})
        assert bad.is_error


def test_unreachable_url_fails_fast() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LiveMCPClient(configs(gone={"url": f"http://127.0.0.1:{port}/mcp"}), startup_timeout=5) as client:
        with pytest.raises(MCPError, match=rf"'gone' failed to start \(url: http://127.0.0.1:{port}/mcp\)"):
            client.list_tools("gone")


# -- config parsing --------------------------------------------------------------------------


def test_load_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWTAPE_TEST_TOKEN", "s3cret")
    monkeypatch.delenv("FLOWTAPE_TEST_UNSET", raising=False)
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {
        "git": {"command": "mcp-server-git", "args": ["-r", "."], "cwd": "/tmp",
                "env": {"TOKEN": "Bearer ${FLOWTAPE_TEST_TOKEN}!", "MODE": "${FLOWTAPE_TEST_UNSET:-dev}", "PLAIN": "x"}},
        "typed": {"type": "stdio", "command": "srv"},
        "remote": {"type": "streamable-http", "url": "https://example.com/mcp",
                   "headers": {"Authorization": "Bearer ${FLOWTAPE_TEST_TOKEN}"}},
    }}))
    loaded = load_mcp_config(path)
    assert list(loaded) == ["git", "typed", "remote"]
    assert loaded["git"] == ServerConfig("git", "stdio", command="mcp-server-git", args=("-r", "."), cwd="/tmp",
                                         env={"TOKEN": "Bearer s3cret!", "MODE": "dev", "PLAIN": "x"})
    assert loaded["typed"].transport == "stdio" and loaded["typed"].args == ()
    assert loaded["remote"] == ServerConfig("remote", "http", url="https://example.com/mcp",
                                            headers={"Authorization": "Bearer s3cret"})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], 'cfg: needs a "mcpServers" object at the top level'),
        ({"servers": {}}, 'cfg: needs a "mcpServers" object at the top level'),
        ({"mcpServers": {"git": "mcp-server-git"}}, "cfg: mcpServers.git: must be an object"),
        ({"mcpServers": {"git": {"args": []}}}, 'cfg: mcpServers.git: needs "command" or "url"'),
        ({"mcpServers": {"x": {"command": "a", "url": "http://h"}}}, 'cfg: mcpServers.x: needs "command" or "url", not both'),
        ({"mcpServers": {"git": {"command": ""}}}, "cfg: mcpServers.git.command: must be a non-empty string"),
        ({"mcpServers": {"git": {"command": "g", "args": "-r ."}}}, "cfg: mcpServers.git.args: must be a list of strings"),
        ({"mcpServers": {"git": {"command": "g", "env": {"N": 1}}}}, "cfg: mcpServers.git.env: must be an object of strings"),
        ({"mcpServers": {"r": {"url": "ftp://h"}}}, "cfg: mcpServers.r.url: must be an http(s) URL"),
        ({"mcpServers": {"r": {"type": "sse", "url": "http://h"}}}, "cfg: mcpServers.r.type: unsupported transport 'sse'"),
        ({"mcpServers": {"r": {"type": "stdio", "url": "http://h"}}}, "cfg: mcpServers.r.type: 'stdio' needs \"command\""),
        ({"mcpServers": {"r": {"type": "http", "command": "c"}}}, "cfg: mcpServers.r.type: 'http' needs \"url\""),
        ({"mcpServers": {"git": {"command": "g", "env": {"TOKEN": "${FLOWTAPE_TEST_UNSET}"}}}},
         "cfg: mcpServers.git.env.TOKEN: environment variable FLOWTAPE_TEST_UNSET is not set"),
        ({"mcpServers": {"r": {"url": "http://h", "headers": {"A": "x${FLOWTAPE_TEST_UNSET}"}}}},
         "cfg: mcpServers.r.headers.A: environment variable FLOWTAPE_TEST_UNSET is not set"),
    ],
)
def test_parse_errors_are_one_line(data: Any, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWTAPE_TEST_UNSET", raising=False)
    with pytest.raises(MCPConfigError) as info:
        parse_mcp_config(data, source="cfg")
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(MCPConfigError, match=rf"^{re.escape(str(missing))}: cannot read: No such file or directory$"):
        load_mcp_config(missing)
    broken = tmp_path / "mcp.json"
    broken.write_text('{"mcpServers": {\n  "git": {"command": "g",}\n}}')
    with pytest.raises(MCPConfigError) as info:
        load_mcp_config(broken)
    assert str(info.value).startswith(f"{broken}: invalid JSON at line 2 column ")
    assert "\n" not in str(info.value)
    shaped = tmp_path / "shaped.json"
    shaped.write_text('{"mcpServers": {"git": {}}}')
    with pytest.raises(MCPConfigError, match=rf'^{re.escape(str(shaped))}: mcpServers.git: needs "command" or "url"$'):
        load_mcp_config(shaped)


def test_importing_the_module_does_not_import_mcp() -> None:
    code = "import sys, runner.live.mcp; sys.exit(any(m == 'mcp' or m.startswith('mcp.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
