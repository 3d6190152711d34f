"""pflow's `code` node: a Python block over declared inputs, its `result` the output.

    {"id": "total", "type": "code", "params": {"inputs": {"items": "${fetch.result}"},
                                               "code": "items: list\nresult: int = len(items)"}}

The code never runs in the runner's process: it runs in a sandbox the caller provides (no
network, memory and time caps) as `NodeContext.extra["code_runner"]`, a callable
`(code, inputs, timeout) -> CodeRun`. flowtape's commands give it one (`harness.codeexec.run_code_node`);
a runner used as a library without one fails a code node saying so, rather than run it unconfined.

The block sees its inputs as variables (a string holding JSON is parsed when the block annotates
the input as `dict` or `list`, as pflow does), and `Any`, `Optional` and `typing` without an
import. What it leaves in `result` is the node's output `result`; a `next` it sets is the action
that picks the next edge; what it prints is `stdout`. An exception fails the node with its last
line (`RuntimeError: always fails`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Protocol

from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec

__all__ = ["CodeNode", "CodeRun", "CodeRunner", "bare_annotations"]

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class CodeRun:
    """What a sandboxed code block came to: `ok` with `result`/`next`/`stdout`, or the `error`."""

    ok: bool
    result: Any = None
    next: str | None = None
    stdout: str = ""
    stderr: str = ""
    error: str = ""


class CodeRunner(Protocol):
    def __call__(self, code: str, inputs: dict[str, Any], timeout: float) -> CodeRun: ...


def bare_annotations(code: str) -> dict[str, str]:
    """The block's top-level bare annotations (`items: list`, no value): its declared inputs,
    name -> the annotation's source text. Raises SyntaxError."""
    tree = ast.parse(code)
    return {node.target.id: ast.unparse(node.annotation) for node in tree.body
            if isinstance(node, ast.AnnAssign) and node.value is None and isinstance(node.target, ast.Name)}


class CodeNode(NodeType):
    name = "code"
    kind = "code"
    params = {
        "code": ParamSpec("string", True, "the Python block"),
        "inputs": ParamSpec("object", False, "the block's inputs by name, templates allowed"),
        "timeout": ParamSpec("number", False, f"seconds the block may run (default {DEFAULT_TIMEOUT:g})"),
        "requires": ParamSpec("array", False, "packages the block imports (pflow; not installed by flowtape)"),
    }
    outputs = ("result", "stdout", "stderr")

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        code = params.get("code")
        if not isinstance(code, str):
            return []
        if "${" in code:
            return [("code", "the code is Python, not a template: pass values through `inputs` (pflow's rule)")]
        try:
            declared = bare_annotations(code)
        except SyntaxError as err:
            return [("code", f"not Python: {err.msg} (line {err.lineno})")]
        given = params.get("inputs") if isinstance(params.get("inputs"), dict) else {}
        problems = [("code", f"input '{name}' is declared ({name}: {kind}) but not given in inputs")
                    for name, kind in declared.items() if name not in given and name not in ("result", "next")]
        problems += [("inputs", f"input '{name}' has no annotation in the code (add `{name}: Any`)") for name in given if name not in declared]
        return problems

    def resolve(self, raw: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
        from runner import templates

        # the code is literal Python: only the inputs (and the timeout) are templates
        return {**{k: templates.resolve_value(v, scope) for k, v in raw.items() if k != "code"}, "code": raw.get("code")}

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        runner = ctx.extra.get("code_runner")
        if runner is None:
            raise NodeFailure("a code node runs only in a sandbox, and this run has none: run it with flowtape (flowtape run, flowtape test), "
                              "or pass Runtime(extra={'code_runner': harness.codeexec.run_code_node})", retryable=False)
        done: CodeRun = runner(params["code"], dict(params.get("inputs") or {}), float(params.get("timeout") or DEFAULT_TIMEOUT))
        if not done.ok:
            raise NodeFailure(done.error or "the code failed", {"stdout": done.stdout, "stderr": done.stderr}, retryable=True)
        output = {"result": done.result, "stdout": done.stdout, "stderr": done.stderr}
        return NodeResult(output, action=done.next if isinstance(done.next, str) and done.next else "default")
