"""`workflow`: run a nested IR workflow with its own inputs; the child's declared outputs become
this node's outputs (`${node.<output>}`).

Params as pflow 0.16 names them: `workflow` (a file relative to this workflow, `.pflow.md` as
pflow saves them or JSON IR, or the IR inline as an object), `inputs` (the child's input
values), `max_depth` (default 10) and `error_action` (the action taken when the child fails;
default `error`). The child is validated before it runs; a markdown child's problems name its
file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner import _json, pflowmd, templates
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec

MAX_DEPTH = 10


class WorkflowNode(NodeType):
    name = "workflow"
    kind = "workflow"
    params = {
        "workflow": ParamSpec("any", True, "path of the nested workflow file, .pflow.md or JSON IR (relative to this workflow), or the IR inline"),
        "inputs": ParamSpec("object", False, "the child's input values"),
        "max_depth": ParamSpec("integer", False, f"deepest nesting allowed (default {MAX_DEPTH})"),
        "error_action": ParamSpec("string", False, "action returned when the child fails (default error)"),
    }

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        # The child comes from a file or the IR itself, never from data: a template here would
        # run a workflow that a tool, a model or an input wrote.
        ref = params.get("workflow")
        if isinstance(ref, str) and "${" in ref.replace("$${", ""):
            return [("workflow", "a nested workflow must be a file path or inline IR written in the workflow, not a template: "
                                 "a workflow taken from data would run as code")]
        return []

    def resolve(self, raw: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
        # An inline child IR is the child's own text: its templates resolve in the child's scope.
        for _, problem in self.check_params(raw):  # validation refuses it first; never run one anyway
            raise templates.TemplateError(problem, str(raw.get("workflow")))
        inline = raw.get("workflow") if isinstance(raw.get("workflow"), dict) else None
        params = templates.resolve_value({k: v for k, v in raw.items() if inline is None or k != "workflow"}, scope)
        if inline is not None:
            params["workflow"] = inline
        return params

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        if ctx.run_workflow is None:
            raise NodeFailure("nested workflows are not available here", retryable=False)
        limit = int(params.get("max_depth") or MAX_DEPTH)
        if ctx.depth >= limit:
            raise NodeFailure(f"workflows nested deeper than {limit}", retryable=False)
        document, base_dir, source = self._load(params.get("workflow"), ctx)
        try:
            outputs = ctx.run_workflow(document, dict(params.get("inputs") or {}), base_dir, source)
        except NodeFailure as err:
            action = params.get("error_action")
            if action and action != "error":
                return NodeResult({"error": str(err)}, action=str(action))
            raise
        return NodeResult(dict(outputs))

    @staticmethod
    def _load(ref: Any, ctx: NodeContext) -> tuple[Any, Path, str]:
        if isinstance(ref, dict):
            return ref, ctx.base_dir, f"{ctx.step_id}.workflow"
        if not isinstance(ref, str) or not ref:
            raise NodeFailure("'workflow' must be a workflow file path (.pflow.md or JSON IR) or an inline IR object", retryable=False)
        path = Path(ctx.base_dir, ref).expanduser()
        try:
            return pflowmd.read_workflow(path, "nested workflow"), path.parent, str(path)
        except _json.JSONInputError as err:
            raise NodeFailure(str(err), retryable=False) from None
