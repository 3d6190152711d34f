"""Execute a validated workflow and return its `Trace`.

From the start node, each node's params are resolved against the inputs and the outputs of the
nodes that ran before it; the node runs (with retries per its `retry` policy, every attempt
counted); the action it returns picks the next edge. A failure takes the node's `error` edge, or
fails the run with the node named. With no edges at all, nodes run in the order listed.

Policy routes (flowtape): an llm node whose contract retries are used up takes its
`contract_failed` edge and one whose claims lack evidence its `missing_evidence` edge, when the
workflow declares them (the failure stays in the step's record); without such an edge the node
fails. A `review` node, or a node with `approval: required`, asks the run's `ReviewClient`.

    trace = execute(json.load(open("wf.json")), {"name": "Ada"}, base_dir=Path("."))
    trace.outputs, trace.status
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from runner import templates
from runner.clients import LLMClient, MCPClient, ReviewClient, ReviewRequest
from runner.inputs import apply_defaults, coerce_values
from runner.ir import BatchSpec, LoopSpec, Node, RetryPolicy, Workflow, workflow_hash
from runner.nodes import BUILTIN_NODES, NodeContext, NodeFailure, NodeResult, node_type_for
from runner.review import GivenDecisions, as_review
from runner.trace import RunStatus, StepRecord, Trace
from runner.validate import Diagnostic, InvalidWorkflow, check, load_workflow, with_lines

__all__ = ["RunFailed", "Runtime", "execute", "new_run_id"]

MAX_STEPS = 10_000
MAX_NODE_VISITS = 100  # as pflow: a node that runs a 101st time stops the run (a loop that never ends)
DEFAULT_CONCURRENCY = 10  # a parallel batch's items at a time when max_concurrent is not given
DEFAULT_MAX_ITERATIONS = 100  # a loop's rounds when it names no cap (pflow's per-node visit guard is 100 too)
POLICY_ROUTES = ("contract_failed", "missing_evidence")  # actions a node takes only when the workflow declares the edge


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
    approved: frozenset[str] = frozenset()  # node ids whose `approval: required` is granted ("*": all)
    review: ReviewClient | None = None  # decisions at review checkpoints (None: those in `approved` only)

    @property
    def mcp_servers(self) -> list[str] | None:
        return self.mcp.servers() if self.mcp is not None else None

    @property
    def reviews(self) -> ReviewClient:
        """Who decides at checkpoints: `review`, else the steps in `approved`, approved."""
        if self.review is not None:
            return self.review
        return GivenDecisions({step: "approve" for step in self.approved}, reviewer="--approve")


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
    diagnostics = _check(document, inputs, runtime.mcp_servers)
    diagnostics += with_lines(document, _missing_children(document, base_dir or Path.cwd()))
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
    run = _Run(workflow, runtime, base_dir or Path.cwd(), trace.steps, prefix="", depth=0, warnings=trace.warnings)
    try:
        trace.outputs = run.go(apply_defaults(workflow.inputs, coerce_values(workflow.inputs, inputs)))
    except RunFailed as err:
        trace.status, trace.error = RunStatus.FAILED, str(err)
    trace.duration_ms = (time.perf_counter() - started) * 1000
    return trace


CHECKED_KEPT = 64  # validations remembered per process (a suite runs one workflow for every case)
_CHECKED: OrderedDict[str, tuple[Diagnostic, ...]] = OrderedDict()


def _check(document: Any, inputs: dict[str, Any], mcp_servers: list[str] | None) -> list[Diagnostic]:
    """`check`, remembered for a document, inputs and servers seen before in this process (a
    suite validates the same workflow for each of its cases). The key is their JSON text, used
    only when it reads back equal to them (pure JSON values: a tuple, NaN or any other object
    is validated each time), with the node types in use (tests register their own)."""
    value = [document, inputs, mcp_servers]
    try:
        text = json.dumps(value, ensure_ascii=False)
        exact = json.loads(text) == value
    except (TypeError, ValueError, RecursionError):
        exact = False
    if not exact:
        return check(document, inputs=inputs, mcp_servers=mcp_servers)
    key = text + repr([(name, id(ntype)) for name, ntype in BUILTIN_NODES.items()])
    found = _CHECKED.get(key)
    if found is None:
        found = _CHECKED[key] = tuple(check(document, inputs=inputs, mcp_servers=mcp_servers))
        if len(_CHECKED) > CHECKED_KEPT:
            _CHECKED.popitem(last=False)
    else:
        _CHECKED.move_to_end(key)
    return list(found)


class _Run:
    def __init__(self, workflow: Workflow, runtime: Runtime, base_dir: Path, steps: list[StepRecord], prefix: str, depth: int,
                 warnings: list[str] | None = None) -> None:
        self.workflow = workflow
        self.warnings = warnings if warnings is not None else []  # the trace's, shared with nested runs
        self.runtime = runtime
        self.base_dir = base_dir
        self.steps = steps
        self.prefix = prefix
        self.depth = depth
        self.edges = {(e.from_, e.action): e.to for e in workflow.edges}
        self.failed: set[str] = set()  # nodes whose last run failed (an error edge took over)

    def go(self, inputs: dict[str, Any]) -> dict[str, Any]:
        scope: dict[str, Any] = dict(inputs)
        current: str | None = self.workflow.first_node
        visits: dict[str, int] = defaultdict(int)
        for _ in range(MAX_STEPS):
            if current is None:
                break
            node = self.workflow.node(current)
            visits[node.id] += 1
            if visits[node.id] > MAX_NODE_VISITS:
                raise RunFailed(f"node '{self.prefix}{node.id}' would run more than {MAX_NODE_VISITS} times: "
                                "a loop that never ends? (pflow's limit per node too)")
            result, failure = self._run_node(node, scope)
            if failure is not None:
                # As in pflow, a failed node's outputs are not readable afterwards (use `??`);
                # the trace keeps them.
                self.failed.add(node.id)
                scope.pop(node.id, None)
                current = self.edges.get((node.id, "error"))
                if current is None:
                    raise RunFailed(f"node '{self.prefix}{node.id}' failed: {failure}")
                continue
            assert result is not None
            self.failed.discard(node.id)
            scope[node.id] = result.output
            current = self._next(node.id, result.action)
        else:
            raise RunFailed(f"stopped after {MAX_STEPS} steps: a loop never ends")
        return self._outputs(scope)

    def _next(self, node_id: str, action: str) -> str | None:
        """The node the action leads to. No edges out means the flow ends; a non-default action
        that no edge takes is an error (pflow does not fall back to `default`), except `end`,
        which ends the flow (pflow: a code node's `next = "end"`; `end` names no node)."""
        if action == "end" and (node_id, action) not in self.edges:
            return None
        nxt = self.edges.get((node_id, action))
        if nxt is None and action != "default":
            available = sorted(a for (f, a) in self.edges if f == node_id)
            if available:
                raise RunFailed(f"node '{self.prefix}{node_id}' returned action '{action}' but no edge takes it (edges: {', '.join(available)})")
        return nxt

    def _outputs(self, scope: dict[str, Any]) -> dict[str, Any]:
        """Declared outputs in order. Null values are left out; so is a `??` chain whose every
        reference names a node that did not run (a branch not taken). Anything else that does
        not resolve fails the run -- a `??` chain among whose nodes one failed included, as in
        pflow. Like pflow, each output joins the scope under its name."""
        outputs: dict[str, Any] = {}
        for name, spec in self.workflow.outputs.items():
            text = spec.template
            try:
                value = templates.resolve(text, scope)
            except templates.UnresolvedError as err:
                exprs = [seg for seg in templates.parse(text).segments if not isinstance(seg, str)]
                names = {ref.name for ref in templates.find_refs(text)}
                if any(len(e.alternatives) > 1 for e in exprs) and all(n not in scope and n not in self.failed for n in names):
                    continue
                raise RunFailed(f"output '{name}': {err}") from None
            if value is not None:
                outputs[name] = scope[name] = value
        return outputs

    def _run_node(self, node: Node, scope: dict[str, Any]) -> tuple[NodeResult | None, NodeFailure | None]:
        review = None
        if node.approval == "required":
            # A review checkpoint in front of the node: never run past it unasked. Undecided or
            # rejected, the step does not run, and says so (and how to grant it).
            step_id = self.prefix + node.id
            granted = {node.id, step_id, "*"} & self.runtime.approved
            reviews = self.runtime.reviews if not granted else GivenDecisions({"*": "approve"}, reviewer="--approve")
            try:
                decision = reviews.decide(ReviewRequest(step_id=step_id, subject={"type": node.type, "params": node.params}, reason="approval: required"))
                problem = None
            except Exception as err:  # e.g. a replay with no recorded decision for this gate
                decision, problem = None, f"{type(err).__name__}: {err}"
            review = as_review(decision) if decision is not None else None
            if decision is None or decision.decision != "approve":
                record = StepRecord(step_id=step_id, kind=node_type_for(node.type, self.runtime.mcp_servers).kind,  # type: ignore[union-attr]
                                    node_type=node.type, started_at=datetime.now(timezone.utc), action="error", review=review,
                                    error=(problem if problem else f"needs approval (approval: required); not run. Approve it with --approve {step_id}" if decision is None
                                           else f"not approved: {decision.reviewer} decided {decision.decision!r} at {decision.decided_at}; not run"))
                self.steps.append(record)
                return None, NodeFailure(record.error or "", retryable=False)
        if node.batch is not None:
            return self._run_batch(node, scope)
        if node.loop is not None:
            return self._run_loop(node, scope)
        record, result, failure = self._attempt(node, scope, self.prefix + node.id, node.retry)
        record.review = record.review or review
        self.steps.append(record)
        return result, failure

    def _attempt(self, node: Node, scope: dict[str, Any], step_id: str, policy: RetryPolicy | None) -> tuple[StepRecord, NodeResult | None, NodeFailure | None]:
        """Run `node` once over `scope`, with its retries; the step record is returned, not kept."""
        ntype = node_type_for(node.type, self.runtime.mcp_servers)
        assert ntype is not None, "validated"
        record = StepRecord(step_id=step_id, kind=ntype.kind, node_type=node.type, started_at=datetime.now(timezone.utc))
        contract = policy is not None and policy.on == "contract"
        attempts = policy.max if policy and not contract else 1  # contract retries are the llm node's own calls
        wait = policy.wait if policy else 0.0
        extra = {"default_model": self.runtime.default_model, **self.runtime.extra}
        if contract:
            assert policy is not None
            extra["contract_retry"] = {"max": policy.max, "feedback": policy.feedback}
        started = time.perf_counter()
        result: NodeResult | None = None
        failure: NodeFailure | None = None
        for attempt in range(1, attempts + 1):
            record.attempts = attempt
            try:
                with templates.lenient(self.workflow.template_resolution_mode == "permissive") as left:
                    params = ntype.resolve(node.params, _local_scope(node, scope))
                if left and attempt == 1:
                    self.warnings.append(f"node '{step_id}': {', '.join(dict.fromkeys(left))} did not resolve and was left as text "
                                         "(template_resolution_mode: permissive)")
            except templates.TemplateError as err:
                record.params = node.params
                failure = NodeFailure(f"template: {err}", retryable=False)
                break
            record.params = params
            ctx = NodeContext(step_id=record.step_id, base_dir=self.base_dir, llm=self.runtime.llm, mcp=self.runtime.mcp, run_workflow=self._nested(record.step_id),
                              depth=self.depth, extra=extra, review=self.runtime.reviews, add_step=self.steps.append)
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
            wait = policy.next_wait(wait) if policy else wait
        record.duration_ms = (time.perf_counter() - started) * 1000
        if result is not None and result.action in POLICY_ROUTES and (node.id, result.action) not in self.edges:
            # A policy route the workflow does not declare: the node fails instead.
            missing = {k: v.get("why") for k, v in (result.output.get("evidence") or {}).items() if isinstance(v, dict) and not v.get("found")}
            what = "; ".join(f"{k}: {why}" for k, why in missing.items()) or result.action
            failure = NodeFailure(f"{result.action.replace('_', ' ')} ({what}); no '{result.action}' edge", result.output, retryable=False,
                                  llm=result.llm, tool=result.tool)
            failure.calls, result = result.calls, None
        if failure is not None and failure.route and (node.id, failure.route) in self.edges:
            # The declared route instead of a failure: the failure is kept in the record, and
            # what the node produced is readable downstream.
            record.error, record.action, record.output = str(failure), failure.route, failure.output or None
            record.llm, record.tool, record.calls = failure.llm, failure.tool, failure.calls
            return record, NodeResult(failure.output, action=failure.route, llm=failure.llm, tool=failure.tool, calls=failure.calls), None
        if failure is not None:
            record.error, record.action, record.output = str(failure), "error", failure.output or None
            record.llm, record.tool, record.calls = failure.llm, failure.tool, failure.calls
        else:
            assert result is not None
            record.output, record.action, record.llm, record.tool = result.output, result.action, result.llm, result.tool
            record.calls, record.review = result.calls, result.review
        return record, result, failure

    def _run_loop(self, node: Node, scope: dict[str, Any]) -> tuple[NodeResult | None, NodeFailure | None]:
        """pflow's `loop`, a do-while: round k (`${__iteration__}` = k, from 1) is a step
        `<node>#<k>`; after it, the condition is read with `${<node>...}` naming that round's
        output; `carry` (resolved the same way) replaces those keys of the node's `inputs` for the
        next round. The node's step then holds the last round's output plus `loop_stopped`
        (`condition` or `max_iterations`; reaching the cap is not a failure). A round that fails
        fails the node (its error edge, if any, is taken)."""
        spec = LoopSpec.model_validate(node.loop)
        step_id = self.prefix + node.id
        record = StepRecord(step_id=step_id, kind="loop", node_type=node.type, started_at=datetime.now(timezone.utc),
                            params={"loop": node.loop})
        began = time.perf_counter()

        def stop(message: str, output: dict[str, Any] | None = None) -> tuple[None, NodeFailure]:
            record.error, record.action, record.output = message, "error", output
            record.duration_ms = (time.perf_counter() - began) * 1000
            self.steps.append(record)
            return None, NodeFailure(message, output, retryable=False)

        cap: Any = spec.max_iterations if spec.max_iterations is not None else DEFAULT_MAX_ITERATIONS
        try:
            cap = templates.resolve_value(cap, scope) if isinstance(cap, str) else cap
        except templates.TemplateError as err:
            return stop(f"loop.max_iterations: {err}")
        if isinstance(cap, str) and cap.strip().isdigit():
            cap = int(cap)
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
            return stop(f"loop.max_iterations must be a whole number of at least 1, got {cap!r}")
        # Carried values reach the round through the scope, under a name no template can write,
        # and the `inputs` param points at them: a value is never resolved as a template again.
        carried: dict[str, Any] = {}
        output: Any = None
        stopped = "max_iterations"
        for k in range(1, cap + 1):
            body = node
            if carried:
                inputs = dict(node.params.get("inputs") or {})
                inputs.update({key: "${__carry__." + key + "}" for key in carried})
                body = node.model_copy(update={"params": {**node.params, "inputs": inputs}})
            round_scope = {**scope, "__iteration__": k, "__carry__": carried}
            item, result, failure = self._attempt(body, round_scope, f"{step_id}#{k}", node.retry)
            self.steps.append(item)
            if failure is not None:
                return stop(f"loop round {k} failed: {failure}", {"iterations": k})
            assert result is not None
            output = result.output
            own = {**scope, node.id: output}
            try:
                flag = templates.resolve(spec.condition, own)
                carried = {key: templates.resolve_value(value, own) for key, value in spec.carry.items()}
            except templates.TemplateError as err:
                return stop(f"loop round {k}: {err}", {"iterations": k})
            if _truthy(flag) != (spec.while_ is not None):
                stopped = "condition"
                break
        final = {**(output if isinstance(output, dict) else {"value": output}), "loop_stopped": stopped, "iterations": k}
        record.output, record.action, record.duration_ms = final, "default", (time.perf_counter() - began) * 1000
        self.steps.append(record)
        return NodeResult(final), None

    def _run_batch(self, node: Node, scope: dict[str, Any]) -> tuple[NodeResult | None, NodeFailure | None]:
        """pflow's `batch`: the node once per item of `items` (the item under `as`, default
        `item`, and its position as `__index__`), in order or `parallel` (at most
        `max_concurrent` at a time); each item a step `<node>[<i>]` of its own (its model or tool
        call recorded and accounted as any), then the node's step with the collected result:
        `results` (each item's output with `item` and `original_index`, those that succeeded, in
        item order), `count`, `success_count`, `error_count`, `errors`, `batch_metadata`. With
        `error_handling: fail_fast` (the default) the first failing item fails the node; with
        `continue` the node succeeds with the failures listed."""
        spec = BatchSpec.model_validate(node.batch)
        step_id = self.prefix + node.id
        started, began = datetime.now(timezone.utc), time.perf_counter()
        record = StepRecord(step_id=step_id, kind="batch", node_type=node.type, started_at=started)
        try:
            items = templates.resolve_value(spec.items, scope)
        except templates.TemplateError as err:
            items, problem = None, f"batch.items: {err}"
        else:
            problem = None if isinstance(items, list) else f"batch.items must be a list, got {type(items).__name__}"
        if problem is not None or not isinstance(items, list):
            record.error, record.action, record.params = problem, "error", {"batch": node.batch}
            record.duration_ms = (time.perf_counter() - began) * 1000
            self.steps.append(record)
            return None, NodeFailure(problem or "batch.items", retryable=False)
        # An item is tried max_retries times (pflow counts attempts; a node's own retry policy, if
        # it has one, applies to each item instead).
        policy = node.retry or (RetryPolicy(max=spec.max_retries, wait=spec.retry_wait or 0.0) if spec.max_retries > 1 else None)

        def one(index: int) -> tuple[StepRecord, NodeResult | None, NodeFailure | None]:
            return self._attempt(node, {**scope, spec.as_: items[index], "__index__": index}, f"{step_id}[{index}]", policy)

        done: list[tuple[StepRecord, NodeResult | None, NodeFailure | None]] = []
        if spec.parallel and len(items) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(len(items), spec.max_concurrent or DEFAULT_CONCURRENCY)) as pool:
                futures = [pool.submit(one, i) for i in range(len(items))]
                done = [f.result() for f in futures]
            if spec.error_handling == "fail_fast":  # in parallel every item ran; the first failure in item order decides
                cut = next((i for i, (_, _, failure) in enumerate(done) if failure is not None), None)
                done = done if cut is None else done[: cut + 1]
        else:
            for index in range(len(items)):
                done.append(one(index))
                if done[-1][2] is not None and spec.error_handling == "fail_fast":
                    break
        self.steps.extend(r for r, _, _ in done)
        results = [{**(res.output if isinstance(res.output, dict) else {"value": res.output}), "item": items[i], "original_index": i}
                   for i, (_, res, failure) in enumerate(done) if failure is None and res is not None]
        errors = [{"index": i, "item": items[i], "item_summary": _item_summary(items[i]), "error": str(failure), "exception": None}
                  for i, (_, _, failure) in enumerate(done) if failure is not None]
        times = [r.duration_ms for r, _, _ in done]
        output = {
            "results": results, "count": len(items), "success_count": len(results), "error_count": len(errors), "errors": errors,
            "batch_metadata": {
                "parallel": spec.parallel, "max_concurrent": spec.max_concurrent, "max_retries": spec.max_retries, "retry_wait": spec.retry_wait,
                "execution_mode": "parallel" if spec.parallel else "sequential",
                "timing": {"total_items_ms": round(sum(times), 2), "avg_item_ms": round(sum(times) / len(times), 2) if times else 0.0,
                           "min_item_ms": round(min(times), 2) if times else 0.0, "max_item_ms": round(max(times), 2) if times else 0.0},
            },
        }
        record.params, record.output, record.duration_ms = {"batch": node.batch, "items": len(items)}, output, (time.perf_counter() - began) * 1000
        failure = None
        if errors and spec.error_handling == "fail_fast":
            first = errors[0]
            failure = NodeFailure(f"Batch '{node.id}' failed at item [{first['index']}]: {first['error']}", output, retryable=False)  # pflow's words
            record.error, record.action = str(failure), "error"
        else:
            record.action = "default"  # failed items (error_handling: continue) are in the output's errors
        self.steps.append(record)
        return (None, failure) if failure else (NodeResult(output), None)

    def _nested(self, step_id: str) -> Callable[..., dict[str, Any]]:
        def run_child(document: Any, inputs: dict[str, Any], base_dir: Path, source: str) -> dict[str, Any]:
            try:
                child = load_workflow(document, inputs=inputs, mcp_servers=self.runtime.mcp_servers, source=source)
            except InvalidWorkflow as err:
                raise NodeFailure(f"nested workflow is invalid: {err}", retryable=False) from None
            run = _Run(child, self.runtime, base_dir, self.steps, prefix=f"{step_id}/", depth=self.depth + 1, warnings=self.warnings)
            try:
                return run.go(apply_defaults(child.inputs, coerce_values(child.inputs, inputs)))
            except RunFailed as err:
                raise NodeFailure(str(err), retryable=False) from None

        return run_child


def _missing_children(document: Any, base_dir: Path) -> list[Diagnostic]:
    """A nested workflow named by a file that is not there: rejected before anything runs."""
    nodes = document.get("nodes") if isinstance(document, dict) else None
    found = []
    for i, node in enumerate(nodes if isinstance(nodes, list) else []):
        path = node.get("params", {}).get("workflow") if isinstance(node, dict) and node.get("type") == "workflow" and isinstance(node.get("params"), dict) else None
        if isinstance(path, str) and "${" not in path and not (base_dir / path).is_file():
            found.append(Diagnostic(f"$.nodes[{i}].params.workflow", f"no such workflow file: {base_dir / path}", node.get("id")))
    return found


def _truthy(value: Any) -> bool:
    """A loop condition's value as a flag: JSON text is read first (`"false"`, `"0"` are false)."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false", "null") or text.lstrip("-").replace(".", "", 1).isdigit():
            import json

            value = json.loads(text.lower())
        else:
            return bool(text)
    return bool(value)


def _item_summary(item: Any) -> dict[str, Any]:
    """How pflow describes a failed batch item: its type, size, a short sha256 and a summary."""
    import hashlib
    import json

    text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str)
    return {"summary_version": 1, "type": type(item).__name__, "size_chars": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()[:12],
            "summary": text[:200], "truncated": len(text) > 200}


def _local_scope(node: Node, scope: dict[str, Any]) -> dict[str, Any]:
    """pflow lets a node's `inputs` param name extra values for its other params."""
    local = node.params.get("inputs")
    if node.type == "workflow" or not isinstance(local, dict):
        return scope
    return {**scope, **templates.resolve_value(local, scope)}
