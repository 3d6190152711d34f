"""pflow's `code` node, run in flowtape's sandbox (harness.codeexec.run_code_node): inputs as
variables, `result` as the output, `next` as the action, prints as stdout; an exception fails the
node (retried, then its error edge); no network, no host files, a time cap; and the runner never
runs a code block itself."""

from __future__ import annotations

import pytest

from harness.codeexec import run_code_node
from runner import RunStatus, check, execute
from runner.executor import Runtime

SANDBOX = Runtime(extra={"code_runner": run_code_node})


def code_node(code: str, inputs: dict | None = None, **extra) -> dict:
    return {"id": "calc", "type": "code", "params": {"code": code, "inputs": inputs or {}, **extra}}


def workflow(node: dict, edges: list | None = None, outputs: dict | None = None) -> dict:
    return {"inputs": {"items": {"type": "string"}},
            "nodes": [node, {"id": "big", "type": "shell", "params": {"command": "echo big"}},
                      {"id": "small", "type": "shell", "params": {"command": "echo small"}},
                      {"id": "handler", "type": "shell", "params": {"command": "echo handled"}}],
            "edges": edges if edges is not None else [{"from": "calc", "to": "big", "action": "big"}, {"from": "calc", "to": "small"},
                                                      {"from": "calc", "to": "handler", "action": "error"}],
            "outputs": outputs or {"total": {"source": "${calc.result.total ?? 'none'}"}, "said": {"source": "${calc.stdout ?? ''}"},
                                   "went": {"source": "${big.stdout ?? small.stdout ?? handler.stdout}"}}}


def test_inputs_in_result_out_prints_kept_and_next_routes(tmp_path):
    code = "items: list\nprint('counting', len(items))\nresult: dict = {'total': sum(items)}\nnext = 'big' if sum(items) > 5 else 'default'"
    trace = execute(workflow(code_node(code, {"items": "${items}"})), {"items": "[1, 2, 3]"}, base_dir=tmp_path, runtime=SANDBOX)
    assert trace.status is RunStatus.PASSED, trace.error
    # the input arrived as JSON text and the block annotates it `list`: parsed, as pflow does
    assert trace.outputs == {"total": 6, "said": "counting 3\n", "went": "big"}
    small = execute(workflow(code_node(code, {"items": "${items}"})), {"items": "[1]"}, base_dir=tmp_path, runtime=SANDBOX)
    assert small.outputs["went"] == "small"


def test_an_exception_fails_the_node_is_retried_and_takes_the_error_edge(tmp_path):
    node = {**code_node("items: str\nraise RuntimeError('always fails: ' + items)", {"items": "${items}"}), "retry": {"max": 2, "wait": 0}}
    trace = execute(workflow(node), {"items": "x"}, base_dir=tmp_path, runtime=SANDBOX)
    assert trace.status is RunStatus.PASSED and trace.outputs["went"] == "handled"
    failed = trace.step("calc")
    assert failed.error == "RuntimeError: always fails: x" and failed.attempts == 2
    assert "Traceback" in failed.output["stderr"]


@pytest.mark.parametrize(("code", "error"), [
    ("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=3)\nresult: int = 1", "OSError"),
    ("result: str = open({path!r}).read()", "FileNotFoundError"),
    ("while True:\n    pass", "the code ran longer than 2 s"),
])
def test_the_block_has_no_network_no_host_files_and_a_time_cap(tmp_path, code, error):
    secret = tmp_path / "host-file"
    secret.write_text("host data")
    node = code_node(code.format(path=str(secret)), timeout=2)
    doc = workflow(node, edges=[], outputs={"r": {"source": "${calc.result ?? 'none'}"}})
    doc["inputs"] = {}
    trace = execute(doc, {}, base_dir=tmp_path, runtime=SANDBOX)
    assert trace.status is RunStatus.FAILED
    assert error in trace.step("calc").error


def test_without_a_sandbox_the_runner_runs_no_code(tmp_path):
    doc = workflow(code_node("result: int = 1"), edges=[], outputs={"r": {"source": "${calc.result}"}})
    doc["inputs"] = {}
    trace = execute(doc, {}, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and "a code node runs only in a sandbox, and this run has none" in trace.error


@pytest.mark.parametrize(("code", "inputs", "message"), [
    ("x: list\nresult: int = ${n}", {"x": "${items}"}, "the code is Python, not a template: pass values through `inputs` (pflow's rule)"),
    ("x: list\nresult: int = len(x)", {}, "input 'x' is declared (x: list) but not given in inputs"),
    ("result: int = 1", {"x": "${items}"}, "input 'x' has no annotation in the code (add `x: Any`)"),
    ("result: int = (", {}, "not Python: '(' was never closed (line 1)"),
])
def test_a_bad_code_node_is_a_validation_error(code, inputs, message):
    doc = workflow(code_node(code, inputs), edges=[])
    found = [d.message for d in check(doc)]
    assert any(message in m for m in found), found
