"""Execute a validated workflow and return its `Trace`.

From the start node, each node's params are resolved against the inputs and the outputs of the
nodes that ran before it; the node runs (with retries per its `retry` policy, every attempt
counted); the action it returns picks the next edge. A failure takes the node's `error` edge, or
fails the run with the node named. With no edges at all, nodes run in the order listed.

    trace = execute(json.load(open("wf.json")), {"name": "Ada"}, base_dir=Path("."))
    trace.outputs, trace.status
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from runner import templates
from runner.clients import LLMClient, MCPClient
from runner.inputs import apply_defaults, coerce_values
from runner.ir import Node, Workflow, workflow_hash
from runner.nodes import NodeContext, NodeFailure, NodeResult, node_type_for
from runner.trace import RunStatus, StepRecord, Trace
from runner.validate import InvalidWorkflow, check, load_workflow

__all__ = ["RunFailed", "Runtime", "execute", "new_run_id"]

MAX_STEPS = 10_000


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


class RunFailed(RuntimeError):
    """A nested workflow failed; carries the child's error for the parent node."""


@dataclass
class Runtime:
    """The clients and settings a run uses. `sleep` is injectable so retry waits are testable."""

    llm: LLMClient | None = None
    mcp: MCPClient | None = None
    default_model: str | None = None
    sleep: Callable[[float], None] = time.sleep
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mcp_servers(self) -> list[str] | None:
        return self.mcp.servers() if self.mcp is not None else None


def execute(
    document: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    *,
    runtime: Runtime | None = None,
    base_dir: Path | None = None,
    source: str = "workflow",
    run_id: str | None = None,
    task: str | None = None,
    case: str | None = None,
    approach: str = "ir",
) -> Trace:
    """Validate `document` with `inputs`, run it, and return the trace.

    Raises:
        InvalidWorkflow: the workflow or the inputs are invalid (nothing has run).
    """
    runtime = runtime or Runtime()
    inputs = dict(inputs or {})
    diagnostics = check(document, inputs=inputs, mcp_servers=runtime.mcp_servers)
    if errors := [d for d in diagnostics if d.severity == "error"]:
        raise InvalidWorkflow(errors, source)
    workflow = Workflow.model_validate(document)
    trace = Trace(
        run_id=run_id or new_run_id(),
        task=task,
        case=case,
        approach=approach,
        workflow=source,
        workflow_hash=workflow_hash(document),
        status=RunStatus.PASSED,
        inputs=inputs,
        warnings=[str(d) for d in diagnostics],
    )
    started = time.perf_counter()
    run = _Run(workflow, runtime, base_dir or Path.cwd(), trace.steps, prefix="", depth=0)
    try:
        trace.outputs = run.go(apply_defaults(workflow.inputs, coerce_values(workflow.inputs, inputs)))
    except RunFailed as err:
        trace.status, trace.error = RunStatus.FAILED, str(err)
    trace.duration_ms = (time.perf_counter() - started) * 1000
    return trace


class _Run:
    def __init__(self, workflow: Workflow, runtime: Runtime, base_dir: Path, steps: list[StepRecord], prefix: str, depth: int) -> None:
        self.workflow = workflow
        self.runtime = runtime
        self.base_dir = base_dir
        self.steps = steps
        self.prefix = prefix
        self.depth = depth
        self.edges = {(e.from_, e.action): e.to for e in workflow.edges}

    def go(self, inputs: dict[str, Any]) -> dict[str, Any]:
        scope: dict[str, Any] = dict(inputs)
        current: str | None = self.workflow.first_node
        for _ in range(MAX_STEPS):
            if current is None:
                break
            node = self.workflow.node(current)
            result, failure = self._run_node(node, scope)
            if failure is not None:
                # As in pflow, a failed node's outputs are not readable afterwards (use `??`);
                # the trace keeps them.
                current = self.edges.get((node.id, "error"))
                if current is None:
                    raise RunFailed(f"node '{self.prefix}{node.id}' failed: {failure}")
                continue
            assert result is not None
            scope[node.id] = result.output
            current = self._next(node.id, result.action)
        else:
            raise RunFailed(f"stopped after {MAX_STEPS} steps: a loop never ends")
        return self._outputs(scope)

    def _next(self, node_id: str, action: str) -> str | None:
        """The node the action leads to. No edges out means the flow ends; a non-default action
        that no edge takes is an error (pflow does not fall back to `default`)."""
        nxt = self.edges.get((node_id, action))
        if nxt is None and action != "default":
            available = sorted(a for (f, a) in self.edges if f == node_id)
            if available:
                raise RunFailed(f"node '{self.prefix}{node_id}' returned action '{action}' but no edge takes it (edges: {', '.join(available)})")
        return nxt

    def _outputs(self, scope: dict[str, Any]) -> dict[str, Any]:
        """Declared outputs in order. Null values are left out; so is a `??` chain whose every
        reference names a node that did not run (a branch not taken). Anything else that does
        not resolve fails the run. Like pflow, each output joins the scope under its name."""
        outputs: dict[str, Any] = {}
        for name, spec in self.workflow.outputs.items():
            text = spec.template
            try:
                value = templates.resolve(text, scope)
            except templates.UnresolvedError as err:
                exprs = [seg for seg in templates.parse(text).segments if not isinstance(seg, str)]
                names = {ref.name for ref in templates.find_refs(text)}
                if any(len(e.alternatives) > 1 for e in exprs) and all(n not in scope for n in names):
                    continue
                raise RunFailed(f"output '{name}': {err}") from None
            if value is not None:
                outputs[name] = scope[name] = value
        return outputs

    def _run_node(self, node: Node, scope: dict[str, Any]) -> tuple[NodeResult | None, NodeFailure | None]:
        ntype = node_type_for(node.type, self.runtime.mcp_servers)
        assert ntype is not None, "validated"
        record = StepRecord(step_id=self.prefix + node.id, kind=ntype.kind, node_type=node.type, started_at=datetime.now(timezone.utc))
        policy = node.retry
        attempts = policy.max if policy else 1
        wait = policy.wait if policy else 0.0
        started = time.perf_counter()
        result: NodeResult | None = None
        failure: NodeFailure | None = None
        for attempt in range(1, attempts + 1):
            record.attempts = attempt
            try:
                params = ntype.resolve(node.params, _local_scope(node, scope))
            except templates.TemplateError as err:
                record.params = node.params
                failure = NodeFailure(f"template: {err}", retryable=False)
                break
            record.params = params
            ctx = NodeContext(step_id=record.step_id, base_dir=self.base_dir, llm=self.runtime.llm, mcp=self.runtime.mcp, run_workflow=self._nested(record.step_id), depth=self.depth, extra={"default_model": self.runtime.default_model, **self.runtime.extra})
            try:
                result, failure = ntype.run(params, ctx), None
                break
            except NodeFailure as err:
                failure = err
            except Exception as err:  # a bug or an unexpected library error: the node's failure, named
                failure = NodeFailure(f"{type(err).__name__}: {err}", retryable=False)
            if not failure.retryable or attempt == attempts:
                break
            if wait:
                self.runtime.sleep(wait)
            wait *= policy.factor if policy else 1.0
        record.duration_ms = (time.perf_counter() - started) * 1000
        if failure is not None:
            record.error, record.action, record.output = str(failure), "error", failure.output or None
            record.llm, record.tool = failure.llm, failure.tool
        else:
            assert result is not None
            record.output, record.action, record.llm, record.tool = result.output, result.action, result.llm, result.tool
        self.steps.append(record)
        return result, failure

    def _nested(self, step_id: str) -> Callable[..., dict[str, Any]]:
        def run_child(document: Any, inputs: dict[str, Any], base_dir: Path, source: str) -> dict[str, Any]:
            try:
                child = load_workflow(document, inputs=inputs, mcp_servers=self.runtime.mcp_servers, source=source)
            except InvalidWorkflow as err:
                raise NodeFailure(f"nested workflow is invalid: {err}", retryable=False) from None
            run = _Run(child, self.runtime, base_dir, self.steps, prefix=f"{step_id}/", depth=self.depth + 1)
            try:
                return run.go(apply_defaults(child.inputs, coerce_values(child.inputs, inputs)))
            except RunFailed as err:
                raise NodeFailure(str(err), retryable=False) from None

        return run_child


def _local_scope(node: Node, scope: dict[str, Any]) -> dict[str, Any]:
    """pflow lets a node's `inputs` param name extra values for its other params."""
    local = node.params.get("inputs")
    if node.type == "workflow" or not isinstance(local, dict):
        return scope
    return {**scope, **templates.resolve_value(local, scope)}
