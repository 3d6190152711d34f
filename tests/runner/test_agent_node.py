"""pflow's `agent` node, run by flowtape's own tool-calling loop over the run's LLM and MCP
clients: a real MCP server (the SDK's, over stdio) and a scripted model whose replies each test
writes. tests/harness/test_agent_node_recorded.py records it from the real local model."""

from __future__ import annotations

import json

import pytest

from runner import InvalidWorkflow, RunStatus, Runtime, check, execute
from tests.runner.test_agent import Scripted, calc, call, final  # noqa: F401 - calc: the real MCP server fixture


SUM = {"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"]}


def workflow(**params):
    node = {"id": "solve", "type": "agent", "params": {"backend": "claude", "prompt": "What is ${a} + 3?", **params}}
    return {"ir_version": "0.1.0", "inputs": {"a": {"type": "integer"}},
            "nodes": [node, {"id": "say", "type": "shell", "params": {"command": "echo got ${solve.result.sum ?? solve.result}"}}],
            "edges": [{"from": "solve", "to": "say"}], "outputs": {"said": "${say.stdout}", "answer": "${solve.result}"}}


def test_the_agent_calls_a_tool_answers_under_its_schema_and_each_turn_is_a_step(calc, tmp_path):
    model = Scripted(call("calc.add", a=2, b=3), final(sum=5))
    trace = execute(workflow(output_schema=SUM, allowed_tools=["calc.add"], max_turns=3), {"a": 2},
                    runtime=Runtime(llm=model, mcp=calc, default_model="scripted"), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED, trace.error
    assert trace.outputs == {"said": "got 5", "answer": {"sum": 5}}
    assert [(s.step_id, s.kind) for s in trace.steps] == [
        ("solve/turn-1", "llm"), ("solve/turn-1:calc.add", "mcp"), ("solve/turn-2", "llm"), ("solve", "agent"), ("say", "shell")]
    assert trace.step("solve/turn-1:calc.add").tool.server == "calc"
    usage = trace.step("solve").output["llm_usage"]
    assert usage["turns"] == 2 and usage["backend"] == "claude" and usage["input_tokens"] == 101 + 102
    # only the allowed tool was offered, and the prompt's template was resolved
    request = model.requests[0]
    assert request.messages[-1]["content"] == "What is 2 + 3?"
    offered = json.dumps(request.response_format)
    assert '"calc.add"' in offered and '"calc.lines"' not in offered


def test_without_a_schema_the_result_is_the_answers_text(calc, tmp_path):
    model = Scripted(final(result="five"))
    trace = execute(workflow(), {"a": 2}, runtime=Runtime(llm=model, mcp=calc, default_model="scripted"), base_dir=tmp_path)
    assert trace.outputs == {"said": "got five", "answer": "five"}


def test_no_answer_within_max_turns_fails_the_node_and_takes_its_error_edge(calc, tmp_path):
    doc = workflow(output_schema=SUM, max_turns=2)
    doc["nodes"].append({"id": "fallback", "type": "shell", "params": {"command": "echo no answer"}})
    doc["edges"].append({"from": "solve", "to": "fallback", "action": "error"})
    doc["outputs"] = {"said": "${say.stdout ?? fallback.stdout}"}
    model = Scripted("not json", call("calc.nope"))
    trace = execute(doc, {"a": 2}, runtime=Runtime(llm=model, mcp=calc, default_model="scripted"), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED and trace.outputs == {"said": "no answer"}
    assert "agent: " in trace.step("solve").error and trace.step("solve").output["turns"] == 2


def test_built_in_tools_of_claude_code_and_a_bad_schema_are_refused_before_anything_runs(tmp_path):
    doc = workflow(allowed_tools=["Read", "Bash", "calc.add", "mcp__calc__add"], output_schema={"type": "array"})
    problems = {d.path: d.message for d in check(doc) if d.severity == "error"}
    assert set(problems) == {"$.nodes[0].params.allowed_tools[0]", "$.nodes[0].params.allowed_tools[1]", "$.nodes[0].params.output_schema"}
    assert "built-in tool of Claude Code or Codex" in problems["$.nodes[0].params.allowed_tools[0]"]
    with pytest.raises(InvalidWorkflow):
        execute(doc, {"a": 2}, base_dir=tmp_path)


def test_an_allowed_tool_the_server_does_not_have_fails_the_node_naming_its_tools(calc, tmp_path):
    trace = execute(workflow(allowed_tools=["mcp__calc__sub"]), {"a": 2}, runtime=Runtime(llm=Scripted(), mcp=calc, default_model="m"), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and "server 'calc' has no tool 'sub' (its tools: add, lines, fail)" in trace.error
