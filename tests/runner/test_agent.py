"""The direct tool-calling loop (`runner.agent`) over a real MCP server (the SDK's MCPServer, over
stdio) and a scripted model: the replies are written in each test, so each test is a
specification of what the loop does with them. The real model is exercised by
tests/harness/test_direct.py, which records and replays through cassettes."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner.agent import FINAL_TOOL, AgentConfig, AgentTool, function_tools, list_agent_tools, run_agent, turn_schema
from runner.clients import LLMRequest, LLMResponse, ToolCallResult, ToolInfo
from runner.live.mcp import LiveMCPClient, parse_mcp_config

SERVER = textwrap.dedent(
    """
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("calc", log_level="WARNING")

    @server.tool(description="Add two integers")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Numbered lines of text")
    def lines(n: int) -> str:
        return "\\n".join(f"line {i:04d}" for i in range(n))

    @server.tool(description="Always fails")
    def fail() -> str:
        raise ValueError("boom")

    server.run()
    """
)
OUTPUTS = {"sum": {"type": "integer"}}


class Recording:
    """An MCPClient that passes every call to the real one and notes the step id it was given."""

    def __init__(self, inner: LiveMCPClient) -> None:
        self.inner, self.step_ids = inner, []

    def servers(self) -> list[str]:
        return self.inner.servers()

    def list_tools(self, server: str) -> list[ToolInfo]:
        return self.inner.list_tools(server)

    def call_tool(self, server: str, tool: str, arguments: dict[str, Any], *, step_id: str | None = None) -> ToolCallResult:
        self.step_ids.append(step_id)
        return self.inner.call_tool(server, tool, arguments, step_id=step_id)

    def close(self) -> None:
        pass


class Scripted:
    """An LLMClient whose replies are given in order; it keeps every request it got."""

    def __init__(self, *replies: str | LLMResponse | Exception) -> None:
        self.replies, self.requests = list(replies), []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, LLMResponse):
            return reply
        return LLMResponse(text=reply, model="scripted", prompt_tokens=100 + len(self.requests), completion_tokens=10)


@pytest.fixture(scope="module")
def calc(tmp_path_factory: pytest.TempPathFactory):
    script = tmp_path_factory.mktemp("calc") / "calc.py"
    script.write_text(SERVER)
    config = parse_mcp_config({"mcpServers": {"calc": {"command": sys.executable, "args": [str(script)]}}}, source="test")
    with LiveMCPClient(config, startup_timeout=30) as client:
        yield client


def call(tool: str, **arguments: Any) -> str:
    return json.dumps({"tool": tool, "arguments": arguments})


def final(**answer: Any) -> str:
    return json.dumps({"final": answer})


def config(**changes: Any) -> AgentConfig:
    return AgentConfig(**{"model": "scripted", "request": "What is 2 + 3?", "outputs": OUTPUTS, **changes})


# -- tool schemas -----------------------------------------------------------------------------


def test_tools_become_function_tools_and_one_reply_schema(calc):
    tools = list_agent_tools(calc)
    assert [t.name for t in tools] == ["calc.add", "calc.lines", "calc.fail"]
    functions = function_tools(tools, OUTPUTS)
    assert [f["function"]["name"] for f in functions] == ["calc__add", "calc__lines", "calc__fail", FINAL_TOOL]
    add = functions[0]["function"]
    assert add["description"] == "Add two integers"
    assert set(add["parameters"]["required"]) == {"a", "b"}
    assert functions[-1]["function"]["parameters"] == {"type": "object", "properties": OUTPUTS, "required": ["sum"],
                                                        "additionalProperties": False}

    schema = turn_schema(tools, OUTPUTS)
    valid = jsonschema.Draft202012Validator(schema)
    assert valid.is_valid({"tool": "calc.add", "arguments": {"a": 1, "b": 2}})
    assert valid.is_valid({"final": {"sum": 5}})
    assert not valid.is_valid({"tool": "calc.add", "arguments": {"a": "one", "b": 2}})  # the tool's own schema
    assert not valid.is_valid({"tool": "calc.mul", "arguments": {}})
    assert not valid.is_valid({"final": {"sum": 5, "extra": 1}})
    assert not valid.is_valid({"final": {}})


def test_a_meta_schema_url_is_dropped_from_the_arguments_schema():
    tool = AgentTool("fs", ToolInfo("read", "Read", {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}))
    assert turn_schema([tool], {})["anyOf"][0]["properties"]["arguments"] == {"type": "object"}
    assert function_tools([tool])[0]["function"]["parameters"] == {"type": "object"}


# -- the loop ---------------------------------------------------------------------------------


def test_two_turns_a_call_then_the_answer(calc):
    mcp = Recording(calc)
    llm = Scripted(call("calc.add", a=2, b=3), final(sum=5))
    trace = run_agent(config(), llm, mcp, task="t", case="c")

    assert trace.status.value == "passed", trace.error
    assert trace.approach == "direct" and trace.outputs == {"sum": 5}
    assert [(s.step_id, s.kind, s.action) for s in trace.steps] == [
        ("turn-1", "llm", "tool"), ("turn-1:calc.add", "mcp", "default"), ("turn-2", "llm", "final")]
    assert mcp.step_ids == ["turn-1:calc.add"]  # the step id reaches the client, so a cassette keys the call by it
    turn1, tool, turn2 = trace.steps
    assert turn1.params["protocol"] == "json-schema" and turn1.llm.prompt_tokens == 101 and turn1.llm.completion_tokens == 10
    assert tool.params == {"a": 2, "b": 3} and tool.tool.server == "calc" and tool.tool.tool == "add" and tool.tool.result_bytes > 0

    first, second = llm.requests
    assert [r.step_id for r in llm.requests] == ["turn-1", "turn-2"]
    assert first.response_format["json_schema"]["schema"] == turn_schema(list_agent_tools(calc), OUTPUTS)
    assert "calc.add: Add two integers" in first.messages[0]["content"]  # the catalog is in the context
    assert first.messages[1] == {"role": "user", "content": "What is 2 + 3?"}
    # Turn 2 reads turn 1's reply and the tool's result, its text once.
    assert second.messages[2:] == [{"role": "assistant", "content": call("calc.add", a=2, b=3)},
                                   {"role": "user", "content": "Result of calc.add:\n5"}]


def test_malformed_replies_go_back_to_the_model_and_cost_a_turn(calc):
    llm = Scripted("I think the answer is 5", call("calc.mul", a=2, b=3), call("calc.add", a=2), final(total=5), final(sum=5))
    trace = run_agent(config(), llm, calc)

    assert trace.status.value == "passed" and trace.outputs == {"sum": 5}
    assert [s.action for s in trace.steps] == ["invalid", "invalid", "invalid", "invalid", "final"]
    errors = [r.messages[-1]["content"] for r in llm.requests[1:]]
    assert errors[0].startswith("Error: your reply is not JSON")
    assert errors[1] == "Error: unknown tool 'calc.mul'; the tools are: calc.add, calc.lines, calc.fail"
    assert errors[2].startswith("Error: wrong arguments for calc.add: at (root): 'b' is a required property")
    assert errors[3].startswith("Error: the final answer does not fit its schema")
    assert trace.steps[0].error == errors[0].removeprefix("Error: ")


def test_no_answer_within_max_turns_fails_the_run_and_says_why(calc):
    llm = Scripted(call("calc.add", a=1, b=1), "not json", "")
    trace = run_agent(config(max_turns=2), llm, calc)
    assert trace.status.value == "failed"
    assert trace.error.startswith("no final answer after 2 turns (max_turns) (the last turn: your reply is not JSON")
    assert len(llm.requests) == 2 and trace.outputs == {}


def test_a_provider_error_ends_the_run_as_an_error(calc):
    trace = run_agent(config(), Scripted(call("calc.add", a=1, b=1), ConnectionError("refused")), calc)
    assert trace.status.value == "error"
    assert trace.error == "turn 2: model call failed: ConnectionError: refused"
    assert trace.steps[-1].step_id == "turn-2" and trace.steps[-1].llm is None


def test_a_tool_error_is_the_models_to_read(calc):
    llm = Scripted(call("calc.fail"), final(sum=0))
    trace = run_agent(config(), llm, calc)
    assert trace.status.value == "passed"
    read = llm.requests[1].messages[-1]["content"]
    assert read == "Result of calc.fail:\nError: Error executing tool fail"  # the SDK keeps the exception text to itself
    step = trace.step("turn-1:calc.fail")
    assert step.action == "error" and step.tool.is_error and step.error == "calc.fail returned an error: Error executing tool fail"


def test_a_long_result_is_cut_for_the_model_and_kept_whole_in_the_trace(calc):
    llm = Scripted(call("calc.lines", n=100), final(sum=0))
    trace = run_agent(config(max_result_chars=50), llm, calc)
    read = llm.requests[1].messages[-1]["content"]
    # whole lines of 9 characters + newline: five fit in 50
    assert read == "Result of calc.lines:\n" + "\n".join(f"line {i:04d}" for i in range(5)) + \
        "\n[flowtape: result cut to 50 of its 999 characters (max_result_chars)]"
    step = trace.step("turn-1:calc.lines")
    assert step.output["read"] == {"chars": 999, "cut_at": 50}
    assert step.output["content"][0]["text"].count("\n") == 99


def test_the_cut_measures_the_stored_form_so_it_falls_at_the_same_place_on_every_machine(calc):
    # With "line" stored as "L" (as a fixture path is stored as ${FIXTURES}), 50 stored characters hold more lines.
    llm = Scripted(call("calc.lines", n=100), final(sum=0))
    run_agent(config(max_result_chars=50), llm, calc, stored=lambda text: text.replace("line", "L"))
    read = llm.requests[1].messages[-1]["content"]
    assert read == "Result of calc.lines:\n" + "\n".join(f"line {i:04d}" for i in range(7)) + \
        "\n[flowtape: result cut to 50 of its 699 characters (max_result_chars)]"


def test_the_context_budget_stops_the_run_before_a_turn_that_would_overflow(calc):
    llm = Scripted(call("calc.lines", n=100), final(sum=0))
    trace = run_agent(config(max_context_chars=900, max_result_chars=None), llm, calc)
    assert trace.status.value == "failed"
    assert trace.error.startswith("stopped before turn 2: the conversation is ") and "over max_context_chars (900)" in trace.error
    assert len(llm.requests) == 1


def test_tools_that_cannot_be_listed_are_an_error_before_any_turn():
    class Down:
        def servers(self) -> list[str]:
            return ["gone"]

        def list_tools(self, server: str) -> list[ToolInfo]:
            raise OSError("no such server")

    llm = Scripted()
    trace = run_agent(config(), llm, Down())  # type: ignore[arg-type]
    assert trace.status.value == "error" and trace.error == "listing the tools failed: OSError: no such server"
    assert llm.requests == []


# -- the native protocol ----------------------------------------------------------------------


def native_call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def test_native_protocol_offers_function_tools_and_answers_tool_calls(calc):
    llm = Scripted(LLMResponse("", "scripted", 50, 5, tool_calls=[native_call("calc__add", "c1", a=2, b=3)]),
                   LLMResponse("", "scripted", 80, 5, tool_calls=[native_call(FINAL_TOOL, "c2", sum=5)]))
    trace = run_agent(config(protocol="native"), llm, calc)
    assert trace.status.value == "passed" and trace.outputs == {"sum": 5}
    first, second = llm.requests
    assert first.response_format is None and [t["function"]["name"] for t in first.tools] == ["calc__add", "calc__lines", "calc__fail", FINAL_TOOL]
    assert "calc.add" not in first.messages[0]["content"]  # the tools travel as `tools`, not in the text
    assert second.messages[2:] == [
        {"role": "assistant", "content": None, "tool_calls": [native_call("calc__add", "c1", a=2, b=3)]},
        {"role": "tool", "tool_call_id": "c1", "content": "5"}]
    assert trace.steps[0].params["protocol"] == "native"


def test_native_protocol_plain_text_is_sent_back(calc):
    llm = Scripted("The answer is 5", LLMResponse("", "scripted", 1, 1, tool_calls=[native_call(FINAL_TOOL, "c", sum=5)]))
    trace = run_agent(config(protocol="native"), llm, calc)
    assert trace.status.value == "passed"
    assert llm.requests[1].messages[-1] == {"role": "user", "content": f"Error: call a tool, or {FINAL_TOOL} with the answer"}


def test_config_is_checked():
    with pytest.raises(ValueError, match="protocol 'xml'"):
        config(protocol="xml")
    with pytest.raises(ValueError, match="max_turns"):
        config(max_turns=0)


# -- native tool calls through litellm, against an OpenAI-format test double ----------------------


@pytest.fixture
def openai_double():
    """An HTTP server speaking OpenAI's chat format (a test double for the protocol conversion,
    never a recording): it asks for calc__add until a tool message answers, then calls
    final_answer with the number that message holds. It keeps the bodies it received."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append(body)
            answered = [m for m in body["messages"] if m["role"] == "tool"]
            call = (native_call(FINAL_TOOL, "call-2", sum=int(answered[-1]["content"])) if answered
                    else native_call("calc__add", "call-1", a=2, b=3))
            reply = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "double",
                                "choices": [{"index": 0, "finish_reason": "tool_calls",
                                             "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
                                "usage": {"prompt_tokens": 40 * len(body["messages"]), "completion_tokens": 7, "total_tokens": 0}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1", bodies
    server.shutdown()
    server.server_close()


def test_native_tool_calls_travel_through_litellm(openai_double, calc):
    from runner.live.llm import LiteLLMClient

    base, bodies = openai_double
    llm = LiteLLMClient(api_base=base, api_key="x")
    trace = run_agent(config(model="openai/double", protocol="native"), llm, calc)

    assert trace.status.value == "passed", trace.error
    assert trace.outputs == {"sum": 5}
    first, second = bodies
    assert [t["function"]["name"] for t in first["tools"]] == ["calc__add", "calc__lines", "calc__fail", FINAL_TOOL]
    assert "response_format" not in first
    assert second["messages"][-2]["tool_calls"][0]["function"] == {"name": "calc__add", "arguments": json.dumps({"a": 2, "b": 3})}
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call-1", "content": "5"}
    turn1 = trace.step("turn-1")
    assert turn1.output["tool_calls"][0]["function"]["name"] == "calc__add"
    assert (turn1.llm.prompt_tokens, turn1.llm.completion_tokens, turn1.llm.usage_source) == (80, 7, "provider")
    assert trace.step("turn-1:calc.add").tool.tool == "add"
