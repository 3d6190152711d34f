"""`workflow`: run a nested IR workflow with its own inputs; its declared outputs become this
node's outputs. The child is validated like any workflow before it runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec

MAX_DEPTH = 10


class WorkflowNode(NodeType):
    name = "workflow"
    kind = "workflow"
    params = {
        "workflow_ref": ParamSpec("string", False, "path of the nested IR file, relative to this workflow"),
        "workflow_ir": ParamSpec("object", False, "the nested IR inline"),
        "param_mapping": ParamSpec("object", False, "the child's input values"),
        "output_mapping": ParamSpec("object", False, "parent output name -> child output name"),
    }

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        if ctx.run_workflow is None:
            raise NodeFailure("nested workflows are not available here", retryable=False)
        if ctx.depth >= MAX_DEPTH:
            raise NodeFailure(f"workflows nested deeper than {MAX_DEPTH}", retryable=False)
        document, base_dir, source = self._load(params, ctx)
        outputs = ctx.run_workflow(document, dict(params.get("param_mapping") or {}), base_dir, source)
        mapping = params.get("output_mapping")
        if mapping:
            outputs = {parent: outputs.get(child) for parent, child in mapping.items()}
        return NodeResult(dict(outputs))

    @staticmethod
    def _load(params: dict[str, Any], ctx: NodeContext) -> tuple[Any, Path, str]:
        if params.get("workflow_ir") is not None:
            return params["workflow_ir"], ctx.base_dir, f"{ctx.step_id}.workflow_ir"
        ref = params.get("workflow_ref")
        if not isinstance(ref, str):
            raise NodeFailure("give 'workflow_ref' (a file) or 'workflow_ir' (inline IR)", retryable=False)
        path = Path(ctx.base_dir, ref).expanduser()
        try:
            return json.loads(path.read_text(encoding="utf-8")), path.parent, str(path)
        except OSError as err:
            raise NodeFailure(f"cannot read nested workflow {path}: {err.strerror}", retryable=False) from None
        except json.JSONDecodeError as err:
            raise NodeFailure(f"{path}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}", retryable=False) from None
