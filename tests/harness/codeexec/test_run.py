"""`run_code`: a baseline script's tool, model and discovery calls become the trace's steps and its
printed JSON the outputs; against test doubles of the client protocols, against the real
`mcp-server-time`, and replayed from a cassette with no server on the machine."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.cassettes import Cassette
from harness.cassettes._mcp import CassetteMCPClient
from harness.codeexec import SandboxError, _jail, run_code, script_hash
from runner import RunStatus, Runtime
from runner.clients import LLMRequest, LLMResponse, MCPError, ToolCallResult, ToolInfo
from runner.live.mcp import LiveMCPClient, parse_mcp_config

BIN = Path(sys.executable).parent
WEATHER = [
    ToolInfo("get-forecast", "Forecast for a city.\nSecond line.", {
        "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}),
    ToolInfo("alerts", "Weather alerts.", {"type": "object", "properties": {}}),
]


class FakeMCP:
    """An `MCPClient` double: answers from a dict, remembers every call."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers, self.calls = answers, []

    def servers(self) -> list[str]:
        return ["weather"]

    def list_tools(self, server: str) -> list[ToolInfo]:
        return list(WEATHER)

    def call_tool(self, server: str, tool: str, arguments: dict[str, Any], *, step_id: str | None = None) -> ToolCallResult:
        self.calls.append((server, tool, arguments, step_id))
        answer = self.answers[tool]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        pass


class FakeLLM:
    def __init__(self, text: str) -> None:
        self.text, self.requests = text, []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        return LLMResponse(text=self.text, model=request.model, prompt_tokens=11, completion_tokens=3, cost_usd=0.0)


def text_result(text: str, is_error: bool = False) -> ToolCallResult:
    return ToolCallResult(content=[{"type": "text", "text": text}], is_error=is_error, request_bytes=40, result_bytes=90)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "baseline.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_calls_become_steps_and_printed_json_the_outputs(tmp_path):
    mcp = FakeMCP({"get-forecast": text_result('{"high": 21, "sky": "clear"}'),
                   "alerts": ToolCallResult(content=[{"type": "text", "text": "[]"}], structured_content={"alerts": []}, request_bytes=30, result_bytes=50)})
    llm = FakeLLM("Sunny.")
    path = write(tmp_path, """
        import json
        from flowtape_tools import inputs, llm, search_tools, weather
        print(search_tools("forecast"), file=__import__("sys").stderr)
        forecast = weather.get_forecast(inputs["city"])
        alerts = weather.alerts()
        print(json.dumps({"high": forecast["high"], "alerts": alerts["alerts"], "note": llm(f"Say: {forecast['sky']}", max_tokens=8)}))
    """)
    trace = run_code(path, {"city": "Lisbon"}, Runtime(mcp=mcp, llm=llm, default_model="openai/test"), task="t", case="c")
    assert trace.status is RunStatus.PASSED, trace.error
    assert (trace.approach, trace.task, trace.case, trace.inputs) == ("code", "t", "c", {"city": "Lisbon"})
    assert trace.workflow_hash == script_hash(path.read_text())
    assert trace.outputs == {"high": 21, "alerts": [], "note": "Sunny."}
    assert [s.step_id for s in trace.steps] == ["discover-1:search_tools", "call-1:weather.get-forecast", "call-2:weather.alerts", "call-3:llm", "stdout"]
    assert mcp.calls == [("weather", "get-forecast", {"city": "Lisbon"}, "call-1:weather.get-forecast"),
                         ("weather", "alerts", {}, "call-2:weather.alerts")]
    found, forecast, alerts, note, stdout = trace.steps
    assert (found.kind, found.node_type, found.params) == ("code", "code-search_tools", {"query": "forecast"})
    assert found.output == {"result": ["weather.get-forecast: Forecast for a city."]}
    assert (forecast.kind, forecast.node_type, forecast.params) == ("mcp", "mcp-weather-get-forecast", {"city": "Lisbon"})
    assert forecast.output == {"result": {"high": 21, "sky": "clear"}}  # JSON text, parsed
    assert forecast.tool.model_dump(exclude_none=True) == {"server": "weather", "tool": "get-forecast", "request_bytes": 40, "result_bytes": 90, "is_error": False}
    assert alerts.output == {"result": {"alerts": []}}  # structured content first
    assert (note.kind, note.output, note.params) == ("llm", {"response": "Sunny."}, {"prompt": "Say: clear", "max_tokens": 8})
    assert (note.llm.model, note.llm.prompt_tokens, note.llm.completion_tokens) == ("openai/test", 11, 3)
    assert llm.requests[0].step_id == "call-3:llm" and llm.requests[0].messages == [{"role": "user", "content": "Say: clear"}]
    assert stdout.kind == "code" and json.loads(stdout.output["stdout"]) == trace.outputs
    assert "weather.get-forecast" in stdout.output["stderr"] and stdout.output["exit_code"] == 0


def test_text_on_stdout_is_kept_as_stdout(tmp_path):
    trace = run_code(write(tmp_path, "print('hello')\nprint([1, 2])"), {}, Runtime(mcp=FakeMCP({})))
    assert trace.status is RunStatus.PASSED and trace.outputs == {"stdout": "hello\n[1, 2]"}


def test_a_tool_error_fails_the_script_and_the_trace_names_the_call(tmp_path):
    mcp = FakeMCP({"get-forecast": text_result("unknown city 'Atlantis'", is_error=True), "alerts": MCPError("server 'weather' went away")})
    path = write(tmp_path, """
        from flowtape_tools import ToolError, weather
        try:
            weather.alerts()
        except ToolError as err:
            print("alerts:", err, file=__import__("sys").stderr)
        weather.get_forecast("Atlantis", days=2)
    """)
    trace = run_code(path, {}, Runtime(mcp=mcp))
    assert trace.status is RunStatus.FAILED
    alerts, forecast, _ = trace.steps
    assert alerts.error == "server 'weather' went away" and alerts.tool is None and alerts.action == "error"
    assert forecast.error == "weather.get-forecast returned an error: unknown city 'Atlantis'"
    assert forecast.output == {"error": "unknown city 'Atlantis'"} and forecast.tool.is_error
    assert trace.error == ("script exited with code 1: flowtape_tools.ToolError: weather.get-forecast returned an error: "
                           "unknown city 'Atlantis'; after call 'call-2:weather.get-forecast' failed")


def test_timeout_and_memory_are_named(tmp_path):
    slow = run_code(write(tmp_path, "while True: pass"), {}, Runtime(), timeout=0.5)
    assert slow.status is RunStatus.FAILED and slow.error == "timeout after 0.5 s"
    assert slow.step("stdout").output["ended"] == "timeout"
    hungry = run_code(write(tmp_path, "x = bytearray(2 * 1024 ** 3)"), {}, Runtime(), memory_mb=256)
    assert hungry.status is RunStatus.FAILED and hungry.error == "memory cap of 256 MB exceeded: MemoryError"


def test_llm_output_schema_is_a_contract(tmp_path):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    body = f"""
        import json
        from flowtape_tools import LLMError, llm
        try:
            print(json.dumps({{"value": llm("count", output_schema={schema!r})}}))
        except LLMError as err:
            print(json.dumps({{"error": str(err)}}))
    """
    good = run_code(write(tmp_path, body), {}, Runtime(llm=FakeLLM('{"n": 3}')))
    assert good.outputs == {"value": {"n": 3}}
    assert good.steps[0].output == {"response": {"n": 3}}
    bad = run_code(write(tmp_path, body), {}, Runtime(llm=FakeLLM('{"n": "three"}')))
    assert bad.outputs == {"error": "output_schema: reply violates the schema at n: 'three' is not of type 'integer'"}
    assert bad.steps[0].error == bad.outputs["error"] and bad.steps[0].llm.prompt_tokens == 11


def test_tools_that_cannot_be_listed_are_an_error_and_nothing_runs(tmp_path):
    class Broken(FakeMCP):
        def list_tools(self, server):
            raise MCPError("MCP server 'weather' failed to start")

    marker = tmp_path / "ran"
    trace = run_code(write(tmp_path, f"open({str(marker)!r}, 'w')"), {}, Runtime(mcp=Broken({})))
    assert trace.status is RunStatus.ERROR and "failed to start" in trace.error and not marker.exists()


TIME_SCRIPT = """
    import json
    from flowtape_tools import inputs, get_tool_schema, time
    schema = get_tool_schema("time", "convert_time")
    converted = time.convert_time(inputs["home"], inputs["time"], inputs["away"])
    print(json.dumps({"difference": converted["time_difference"], "away": converted["target"]["timezone"],
                      "arguments": sorted(schema["properties"])}))
"""
INPUTS = {"home": "UTC", "time": "12:00", "away": "Asia/Tokyo"}  # no daylight saving on either side


def time_servers(command: str) -> dict:
    return parse_mcp_config({"mcpServers": {"time": {"command": command, "args": ["--local-timezone", "UTC"]}}})


def test_against_the_real_time_server(tmp_path):
    with LiveMCPClient(time_servers(str(BIN / "mcp-server-time"))) as mcp:
        trace = run_code(write(tmp_path, TIME_SCRIPT), INPUTS, Runtime(mcp=mcp))
    assert trace.status is RunStatus.PASSED, trace.error
    assert trace.outputs == {"difference": "+9.0h", "away": "Asia/Tokyo", "arguments": ["source_timezone", "target_timezone", "time"]}
    schema, convert, _ = trace.steps
    assert schema.step_id == "discover-1:get_tool_schema" and schema.output["result"]["required"] == ["source_timezone", "time", "target_timezone"]
    assert convert.step_id == "call-1:time.convert_time" and convert.node_type == "mcp-time-convert_time"
    assert convert.params == {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
    assert convert.output["result"]["target"]["datetime"].endswith("T21:00:00+09:00")
    assert convert.tool.server == "time" and convert.tool.result_bytes > convert.tool.request_bytes > 40


def test_a_recorded_baseline_replays_with_no_server_present(tmp_path):
    path, tape = write(tmp_path, TIME_SCRIPT), tmp_path / "code.yaml"
    cassette = Cassette.open(tape, "once")
    with CassetteMCPClient(time_servers(str(BIN / "mcp-server-time")), cassette) as mcp:
        live = run_code(path, INPUTS, Runtime(mcp=mcp))
    assert live.status is RunStatus.PASSED, live.error
    assert cassette.save({"servers": mcp.server_meta()}) and mcp.live_starts == 1
    assert [i.method for i in cassette.interactions] == ["initialize", "tools/list", "tools/call"]
    assert cassette.interactions[-1].step == "call-1:time.convert_time"

    cassette = Cassette.open(tape, "none")
    with CassetteMCPClient(time_servers("/nonexistent/mcp-server-time"), cassette) as mcp:
        replayed = run_code(path, INPUTS, Runtime(mcp=mcp))
    assert replayed.status is RunStatus.PASSED, replayed.error
    assert mcp.live_starts == 0 and cassette.unused() == []
    assert replayed.outputs == live.outputs
    assert [(s.step_id, s.params, s.output, s.tool) for s in replayed.steps[:-1]] == [(s.step_id, s.params, s.output, s.tool) for s in live.steps[:-1]]
    assert replayed.step("stdout").output["stdout"] == live.step("stdout").output["stdout"]


def test_where_the_network_cannot_be_denied_no_server_starts(tmp_path, monkeypatch):
    class Watched(FakeMCP):
        def list_tools(self, server):
            raise AssertionError("a server was asked for its tools")

    monkeypatch.setattr(_jail, "_candidates", lambda: [])
    with pytest.raises(SandboxError):
        run_code(write(tmp_path, "print(1)"), {}, Runtime(mcp=Watched({})))


def test_the_per_case_caps_on_calls_and_trace_size_stop_the_script(tmp_path):
    mcp = FakeMCP({"alerts": text_result("[]")})
    loop = write(tmp_path, """
        from flowtape_tools import weather
        while True:
            weather.alerts()
    """)
    trace = run_code(loop, {}, Runtime(mcp=mcp), max_calls=5)
    assert trace.status is RunStatus.FAILED and len(mcp.calls) == 5
    assert [s.step_id for s in trace.steps][-2:] == ["call-5:weather.alerts", "stdout"]
    assert trace.step("stdout").output["ended"] == "limit"
    assert trace.error == "stopped after 5 calls: the cap of 5 tool, model and discovery calls per case was reached"
    big = write(tmp_path, """
        from flowtape_tools import weather
        while True:
            weather.get_forecast("x" * 400_000)
    """)
    mcp = FakeMCP({"get-forecast": text_result("{}")})
    trace = run_code(big, {}, Runtime(mcp=mcp), max_trace_mb=1)
    assert trace.status is RunStatus.FAILED and len(mcp.calls) == 2
    assert trace.error == "stopped after 2 calls: the next call would take the trace past 1 MB of arguments and results, the cap per case"


def test_limits_that_cannot_be_enforced_here_are_named_in_the_trace(tmp_path, request):
    from harness.codeexec import _budget

    with _budget.Budget(memory_bytes=64 << 20, processes=8) as budget:
        here = budget.unenforced
    assert run_code(write(tmp_path, "print(1)"), {}, Runtime()).step("stdout").output.get("unenforced", []) == list(here)
    request.getfixturevalue("no_cgroups")
    trace = run_code(write(tmp_path, "print(1)"), {}, Runtime())
    assert trace.status is RunStatus.PASSED
    assert [u.split(" (")[0] for u in trace.step("stdout").output["unenforced"]] == ["total processes", "total memory"]
