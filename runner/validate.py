"""Validation before execution: every mistake found at once, each naming the node and the path.

    diagnostics = check(document, inputs={"repo": "/tmp/r"})
    for d in diagnostics: print(d)
    # $.nodes[1].params.prompt (node summarize): '${log.stdot}' has no output 'stdot'; did you mean 'stdout'?
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, Iterable, Literal

from pydantic import ValidationError

from runner import _json
from runner import inputs as _inputs
from runner._hints import did_you_mean as _did_you_mean
from runner import templates
from runner.ir import BatchSpec, Edge, InputSpec, LoopSpec, Node, OutputSpec, Workflow
from runner.nodes import node_type_for

LOOP_OUTPUTS = ("loop_stopped", "iterations")  # what a loop adds to its node's last output
BATCH_OUTPUTS = ("results", "count", "success_count", "error_count", "errors", "batch_metadata")  # a batch node's output

__all__ = ["Diagnostic", "InvalidWorkflow", "check", "load_workflow", "with_lines"]

_TOP_LEVEL = set(Workflow.model_fields) - {"nodes", "edges", "inputs", "outputs"}


@dataclass(frozen=True)
class Diagnostic:
    """One problem: a JSON path into the document, the node it concerns, and what is wrong."""

    path: str
    message: str
    node: str | None = None
    severity: Literal["error", "warning"] = "error"
    line: int | None = None  # the line in a `.pflow.md` file (from its `_source_line` annotations)

    def __str__(self) -> str:
        where = f"{self.path} (node {self.node})" if self.node else self.path
        return f"{where}: {'warning: ' if self.severity == 'warning' else ''}{self.message}"

    def located(self, source: str) -> str:
        """One line for people: `file:line: step 'x' (field): message` when the workflow came
        from markdown (the line of the step, or of a param written as a code block), else
        `file: $.json.path (node x): message`."""
        if self.line is None:
            return f"{source}: {self}"
        if not source.lower().endswith(".md"):  # IR that pflow's parser wrote, read from JSON: its lines are the markdown's
            return f"{source}: {self} (line {self.line} of the markdown it was made from)"
        return f"{source}:{self.line}: {_markdown_place(self.path, self.node)}{'warning: ' if self.severity == 'warning' else ''}{self.message}"


class InvalidWorkflow(ValueError):
    """The workflow (or its inputs) cannot run; `diagnostics` holds every problem found."""

    def __init__(self, diagnostics: list[Diagnostic], source: str = "workflow") -> None:
        self.diagnostics = diagnostics
        self.source = source
        super().__init__("\n".join(d.located(source) for d in diagnostics))


def _json_path(loc: Iterable[Any]) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _pydantic_diagnostics(err: ValidationError, prefix: tuple[Any, ...], node: str | None = None) -> list[Diagnostic]:
    out = []
    for e in err.errors():
        loc = prefix + tuple(p for p in e["loc"] if p not in ("function-after", "function-before"))
        message = e["msg"]
        if e["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
        elif e["type"] == "missing":
            message = f"missing required key '{loc[-1]}'"
        out.append(Diagnostic(_json_path(loc), message, node))
    return out


def check(document: Any, *, inputs: dict[str, Any] | None = None, mcp_servers: list[str] | None = None) -> list[Diagnostic]:
    """Every problem in `document` (a parsed JSON IR) and, when given, in `inputs`.

    Args:
        document: the workflow as parsed JSON.
        inputs: input values to check against the declared inputs (None: skip that check).
        mcp_servers: names of configured MCP servers (None: any `mcp-<server>-<tool>` is allowed).
    """
    return with_lines(document, _Checker(mcp_servers).run(document, inputs))


def with_lines(document: Any, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics with the markdown line each points at, when the workflow was read from a
    `.pflow.md` (its nodes carry `_source_line`, as pflow's parser writes them too)."""
    nodes = document.get("nodes") if isinstance(document, dict) else None
    if not isinstance(nodes, list) or not any(isinstance(n, dict) and "_source_line" in n for n in nodes):
        return diagnostics
    from runner.pflowmd import line_of

    return [replace(d, line=line_of(document, d.path, d.node)) for d in diagnostics]


_STEP_PATH = re.compile(r"^\$\.nodes\[\d+\]\.?(?:params\.)?(.*)$")
_SPEC_PATH = re.compile(r"^\$\.(inputs|outputs)\.([^.\[]+)\.?(.*)$")


def _markdown_place(path: str, node: str | None) -> str:
    """What a JSON path is in markdown terms: `step 'x' (command): `, `input 'n': `."""
    step, spec = _STEP_PATH.match(path), _SPEC_PATH.match(path)
    if spec:
        return f"{spec.group(1)[:-1]} '{spec.group(2)}'{f' ({spec.group(3)})' if spec.group(3) else ''}: "
    if node is not None:
        field = step.group(1) if step else ""
        return f"step '{node}'{f' ({field})' if field else ''}: "
    return ""


def load_workflow(document: Any, *, inputs: dict[str, Any] | None = None, mcp_servers: list[str] | None = None, source: str = "workflow") -> Workflow:
    """Validate and return the `Workflow`, or raise `InvalidWorkflow` with every diagnostic."""
    diagnostics = [d for d in check(document, inputs=inputs, mcp_servers=mcp_servers) if d.severity == "error"]
    if diagnostics:
        raise InvalidWorkflow(diagnostics, source)
    return Workflow.model_validate(document)


class _Checker:
    def __init__(self, mcp_servers: list[str] | None) -> None:
        self.mcp_servers = mcp_servers
        self.diags: list[Diagnostic] = []
        self.used: set[str] = set()
        self.unreachable: set[str] = set()

    def add(self, path: str, message: str, node: str | None = None, severity: Literal["error", "warning"] = "error") -> None:
        self.diags.append(Diagnostic(path, message, node, severity))

    def run(self, doc: Any, inputs: dict[str, Any] | None) -> list[Diagnostic]:
        if not isinstance(doc, dict):
            self.add("$", f"a workflow must be a JSON object, not {type(doc).__name__}")
            return self.diags
        if _json.depth_exceeds(doc):
            self.add("$", f"the workflow nests arrays and objects deeper than {_json.MAX_DEPTH} levels")
            return self.diags
        if inputs is not None and _json.depth_exceeds(inputs):
            self.add("$.inputs", f"input values nest arrays and objects deeper than {_json.MAX_DEPTH} levels")
            return self.diags
        top = {k: v for k, v in doc.items() if k not in ("nodes", "edges", "inputs", "outputs")}
        for key in top:
            if key not in _TOP_LEVEL and not key.startswith("_"):  # `_...`: annotations (pflow's `_source_line`), ignored
                self.add(f"$.{key}", f"unknown top-level key '{key}'{_did_you_mean(key, Workflow.model_fields)}")
        try:
            Workflow.model_validate({**{k: v for k, v in top.items() if k in _TOP_LEVEL}, "ir_version": doc.get("ir_version", "0.1.0"), "nodes": [{"id": "x", "type": "x"}]})
        except ValidationError as err:
            self.diags += _pydantic_diagnostics(err, ())

        nodes = self._nodes(doc.get("nodes"))
        specs = self._mapping(doc.get("inputs", {}), "inputs", InputSpec)
        outs = self._mapping(doc.get("outputs", {}), "outputs", OutputSpec, shorthand=True)
        edges = self._edges(doc.get("edges", []), nodes)
        start = doc.get("start_node")
        if isinstance(start, str) and nodes and start not in nodes:
            self.add("$.start_node", f"unknown node '{start}'{_did_you_mean(start, nodes)}")

        for name in specs:
            if name in nodes:
                self.add(f"$.inputs.{name}", f"input '{name}' has the same name as a node")
        self.used: set[str] = set()
        order = self._order(nodes, edges, start if isinstance(start, str) and start in nodes else None)
        self._references(nodes, specs, order)
        names = list(outs)
        for k, (name, spec) in enumerate(outs.items()):
            readers = [later for later in names[k + 1:] if outs[later].source and name in {r.name for r in _safe_refs(outs[later].template)}]
            if (name in nodes or name in specs) and readers:
                what = "a node" if name in nodes else "an input"
                self.add(f"$.outputs.{name}", f"output '{name}' has the name of {what}, so output '{readers[0]}' reads this output instead of it (as in pflow)", None, "warning")
            if spec.source is None:
                self.add(f"$.outputs.{name}", "output has no 'source'")
                continue
            self._template_refs(spec.template, f"$.outputs.{name}.source", None, nodes, specs, set(nodes), whole_node_ok=True)
        if nodes:
            for name in specs:
                if name not in self.used:
                    self.add(f"$.inputs.{name}", f"input '{name}' is declared but no template uses it")
        if inputs is not None and specs is not None:
            for d in _inputs.check_values(specs, inputs):
                self.add(f"$.inputs.{d[0]}", d[1])
        return self.diags

    # -- structure ---------------------------------------------------------------------------

    def _nodes(self, raw: Any) -> dict[str, tuple[int, Node]]:
        if raw is None:
            self.add("$.nodes", "missing required key 'nodes'")
            return {}
        if not isinstance(raw, list) or not raw:
            self.add("$.nodes", "must be a non-empty list of nodes")
            return {}
        nodes: dict[str, tuple[int, Node]] = {}
        for i, item in enumerate(raw):
            node_id = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
            try:
                node = Node.model_validate(item)
            except ValidationError as err:
                self.diags += _pydantic_diagnostics(err, ("nodes", i), node_id)
                continue
            if node.id in nodes:
                self.add(f"$.nodes[{i}].id", f"duplicate node id '{node.id}' (first at $.nodes[{nodes[node.id][0]}])", node.id)
                continue
            nodes[node.id] = (i, node)
            self._node_type(i, node)
            if node.loop is not None:
                self._loop(i, node)
            if node.batch is not None:
                try:
                    BatchSpec.model_validate(node.batch)
                except ValidationError as err:
                    self.diags += _pydantic_diagnostics(err, ("nodes", i, "batch"), node.id)
        return nodes

    def _loop(self, i: int, node: Node) -> None:
        path = f"$.nodes[{i}].loop"
        if node.batch is not None:
            self.add(path, "a node has batch or loop, not both", node.id)
        try:
            spec = LoopSpec.model_validate(node.loop)
        except ValidationError as err:
            self.diags += _pydantic_diagnostics(err, ("nodes", i, "loop"), node.id)
            return
        if (spec.while_ is None) == (spec.until is None):
            self.add(path, "give exactly one of 'while' (go on while it holds) and 'until' (stop once it holds)", node.id)
        elif not re.fullmatch(r"\$\{[^{}]+\}", spec.condition.strip()):
            key = "while" if spec.while_ is not None else "until"
            self.add(f"{path}.{key}", f"the condition is one reference, like '${{{node.id}.done}}', not {spec.condition!r}", node.id)
        seeded = node.params.get("inputs") if isinstance(node.params.get("inputs"), dict) else {}
        for key in spec.carry:
            if key not in seeded:
                self.add(f"{path}.carry.{key}", f"'{key}' is not one of the node's inputs, which give the first round its value"
                         f"{_did_you_mean(key, list(seeded))}", node.id)

    def _node_type(self, i: int, node: Node) -> None:
        from runner.nodes import BUILTIN_NODES

        path = f"$.nodes[{i}]"
        ntype = node_type_for(node.type, self.mcp_servers)
        if ntype is None:
            if node.type.startswith("mcp-") and self.mcp_servers is not None:
                known = ", ".join(sorted(self.mcp_servers)) or "none configured"
                self.add(f"{path}.type", f"no MCP server for '{node.type}' (servers: {known})", node.id)
            else:
                self.add(f"{path}.type", f"unknown node type '{node.type}'{_did_you_mean(node.type, BUILTIN_NODES)}", node.id)
            return
        if ntype.open_params:
            return
        for key in node.params:
            if key not in ntype.params and key != "inputs":
                self.add(f"{path}.params.{key}", f"unknown param '{key}' for {node.type}{_did_you_mean(key, ntype.params)}", node.id)
        for key, spec in ntype.params.items():
            if spec.required and key not in node.params:
                self.add(f"{path}.params", f"missing required param '{key}' for {node.type}", node.id)
        for key, value in node.params.items():
            spec = ntype.params.get(key)
            problem = spec.type_problem(value) if spec else None
            if problem:
                self.add(f"{path}.params.{key}", f"param '{key}' of {node.type} must be {problem}", node.id)
        for key, message in ntype.check_params(node.params):
            self.add(f"{path}.params.{key}", f"{node.type} node '{node.id}': {message}", node.id)
        if node.retry is not None and node.retry.on == "contract" and (node.type != "llm" or "output_schema" not in node.params):
            self.add(f"{path}.retry.on", f"retry on 'contract' needs an llm node with output_schema; '{node.id}' is a {node.type} node"
                     + (" without one" if node.type == "llm" else ""), node.id)

    def _mapping(self, raw: Any, where: str, model: type, shorthand: bool = False) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.add(f"$.{where}", "must be an object")
            return {}
        out = {}
        for name, item in raw.items():
            if shorthand and isinstance(item, str):
                item = {"source": item}
            try:
                out[name] = model.model_validate(item)
            except ValidationError as err:
                self.diags += _pydantic_diagnostics(err, (where, name))
        return out

    def _edges(self, raw: Any, nodes: dict[str, tuple[int, Node]]) -> list[Edge]:
        if not isinstance(raw, list):
            self.add("$.edges", "must be a list")
            return []
        edges = []
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(raw):
            try:
                edge = Edge.model_validate(item)
            except ValidationError as err:
                self.diags += _pydantic_diagnostics(err, ("edges", i))
                continue
            ok = True
            for end in ("from", "to"):
                name = edge.from_ if end == "from" else edge.to
                if nodes and name not in nodes:
                    self.add(f"$.edges[{i}].{end}", f"unknown node '{name}'{_did_you_mean(name, nodes)}")
                    ok = False
            key = (edge.from_, edge.action)
            if key in seen:
                self.add(f"$.edges[{i}]", f"node '{edge.from_}' already has a '{edge.action}' edge ($.edges[{seen[key]}])", edge.from_)
                ok = False
            seen[key] = i
            if ok:
                edges.append(edge)
        return edges

    def _order(self, nodes: dict[str, tuple[int, Node]], edges: list[Edge], start: str | None) -> dict[str, set[str]]:
        """For each node, the nodes that run before it whenever it runs (its ancestors).

        As in pflow, an edge that names its action (any action, `"default"` written out included,
        as pflow's markdown writes a `- next:` to an earlier step) and points back up the node
        list is a loop, not a cycle; a cycle of edges that name no action is an error. Nodes that no edge path reaches from
        the start node never run: a warning."""
        ids = list(nodes)
        if not ids:
            return {}
        position = {n: k for k, n in enumerate(ids)}
        edges = [e for e in edges if e.from_ in nodes and e.to in nodes]
        first = start or ids[0]
        reachable = _reachable(first, edges)
        for n in ids:
            if n not in reachable:
                self.add(f"$.nodes[{nodes[n][0]}]", f"node '{n}' is never reached from start node '{first}' and will not run", n, "warning")
        self.unreachable = set(ids) - reachable
        forward = [e for e in edges if "action" not in e.model_fields_set or position[e.to] > position[e.from_]]
        order, cycle = _topological(ids, forward)
        if cycle:
            self.add("$.edges", f"cycle: {' -> '.join(cycle)}", cycle[0])
            return {n: set(ids) - {n} for n in ids}
        pred: dict[str, set[str]] = defaultdict(set)
        for e in forward:
            pred[e.to].add(e.from_)
        ancestors: dict[str, set[str]] = {}
        for n in order:
            ancestors[n] = set().union(*({p} | ancestors[p] for p in pred[n])) if pred[n] else set()
        return ancestors

    # -- templates ---------------------------------------------------------------------------

    def _references(self, nodes: dict[str, tuple[int, Node]], specs: dict[str, InputSpec], order: dict[str, set[str]]) -> None:
        for node_id, (i, node) in nodes.items():
            before = set(nodes) if node_id in self.unreachable else order.get(node_id, set())
            local = node.params.get("inputs")
            names: dict[str, Any] = dict(specs)
            if isinstance(node.loop, dict):  # a loop's rounds are numbered: ${__iteration__}
                names["__iteration__"] = None
                self._loop_refs(i, node, nodes, names, before)
            if node.type == "workflow" and isinstance(node.params.get("workflow"), dict):
                # Inline child IR: checked as a workflow of its own, paths prefixed.
                prefix = f"$.nodes[{i}].params.workflow"
                for d in check(node.params["workflow"], mcp_servers=self.mcp_servers):
                    self.diags.append(Diagnostic(prefix + d.path[1:], d.message, d.node or node_id, d.severity))
                self._walk({k: v for k, v in node.params.items() if k != "workflow"}, f"$.nodes[{i}].params", node_id, nodes, names, before)
                continue
            if isinstance(node.batch, dict):
                # a batch node's params also see the item (under `as`) and its `__index__`
                alias = node.batch.get("as", "item") if isinstance(node.batch.get("as", "item"), str) else "item"
                self._walk(node.batch.get("items"), f"$.nodes[{i}].batch.items", node_id, nodes, names, before)
                names = {**names, alias: None, "__index__": None}
            if isinstance(local, dict) and node.type != "workflow":
                # pflow: a node's `inputs` param names extra values for its other params.
                self._walk(local, f"$.nodes[{i}].params.inputs", node_id, nodes, names, before)
                rest = {k: v for k, v in node.params.items() if k != "inputs"}
                self._walk(rest, f"$.nodes[{i}].params", node_id, nodes, {**names, **{k: None for k in local}}, before)
            else:
                self._walk(node.params, f"$.nodes[{i}].params", node_id, nodes, names, before)

    def _loop_refs(self, i: int, node: Node, nodes: Any, specs: Any, before: set[str]) -> None:
        """The condition and `carry` read the node's own latest output as `${<node>...}`."""
        loop = node.loop or {}
        targets = [(f"$.nodes[{i}].loop.{key}", loop.get(key)) for key in ("while", "until") if isinstance(loop.get(key), str)]
        targets += [(f"$.nodes[{i}].loop.carry.{k}", v) for k, v in (loop.get("carry") or {}).items() if isinstance(v, str)]
        for path, text in targets:
            try:
                refs = templates.find_refs(text)
            except templates.TemplateSyntaxError as err:
                self.add(path, f"template error: {err}", node.id)
                continue
            for ref in refs:
                if ref.name != node.id and ref.name not in specs and ref.name not in before:
                    self.add(path, f"'${{{ref}}}' refers to '{ref.name}': a loop reads its own node's output ('${{{node.id}.<key>}}'), "
                             f"an input or a node that ran before{_did_you_mean(ref.name, [node.id, *specs, *before])}", node.id)
        if isinstance(loop.get("max_iterations"), str):
            self._walk(loop["max_iterations"], f"$.nodes[{i}].loop.max_iterations", node.id, nodes, specs, before)

    def _walk(self, value: Any, path: str, node_id: str, nodes: Any, specs: Any, before: set[str]) -> None:
        if isinstance(value, str):
            self._template_refs(value, path, node_id, nodes, specs, before)
        elif isinstance(value, dict):
            for k, v in value.items():
                self._walk(v, f"{path}.{k}", node_id, nodes, specs, before)
        elif isinstance(value, list):
            for k, v in enumerate(value):
                self._walk(v, f"{path}[{k}]", node_id, nodes, specs, before)

    def _template_refs(self, text: str, path: str, node_id: str | None, nodes: Any, specs: Any, before: set[str], whole_node_ok: bool = False) -> None:
        if "${" not in text:
            return
        try:
            parsed = templates.parse(text)
        except templates.TemplateSyntaxError as err:
            self.add(path, f"template error: {err}", node_id)
            return
        # In a `??` chain with a fallback that is there when this node runs (an input, a node that
        # ran before, a literal), an alternative may name a node that runs later (a loop seeded
        # with `??`) or a key its output does not declare (JSON text walked into): as pflow.
        lenient: set[int] = set()
        for seg in parsed.segments:
            if isinstance(seg, templates.Expr) and len(seg.alternatives) > 1:
                if any(not isinstance(alt, templates.Ref) or alt.name in specs or alt.name in before for alt in seg.alternatives):
                    lenient.update(id(alt) for alt in seg.alternatives if isinstance(alt, templates.Ref))
        for ref in parsed.refs():
            if ref.name in specs:
                self.used.add(ref.name)
                continue
            if ref.name not in nodes:
                hint = _did_you_mean(ref.name, [*nodes, *specs])
                self.add(path, f"'${{{ref}}}' refers to '{ref.name}', which is neither an input nor a node{hint}", node_id)
            elif ref.name == node_id and id(ref) not in lenient:
                self.add(path, f"'${{{ref}}}' refers to the node itself", node_id)
            elif ref.name not in before and id(ref) not in lenient:
                self.add(path, f"'${{{ref}}}' refers to node '{ref.name}', which does not run before '{node_id}'", node_id)
            elif id(ref) in lenient:
                continue
            elif not ref.path and not whole_node_ok:
                self.add(path, f"'${{{ref}}}' is a whole node; name one of its outputs, e.g. '${{{ref}.<key>}}'", node_id)
            else:
                ntype = node_type_for(nodes[ref.name][1].type, self.mcp_servers)
                key = ref.path[0] if ref.path else None
                if nodes[ref.name][1].batch is not None:
                    if isinstance(key, str) and key not in BATCH_OUTPUTS:
                        self.add(path, f"'${{{ref}}}': batch node '{ref.name}' has no output '{key}'{_did_you_mean(key, BATCH_OUTPUTS)}"
                                 " (each item's output is in results[i])", node_id)
                elif ntype and ntype.outputs is not None and isinstance(key, str) and key not in ntype.outputs \
                        and not (nodes[ref.name][1].loop is not None and key in LOOP_OUTPUTS):
                    self.add(path, f"'${{{ref}}}': {nodes[ref.name][1].type} node '{ref.name}' has no output '{key}'{_did_you_mean(key, ntype.outputs)}", node_id)


def _reachable(first: str, edges: list[Edge]) -> set[str]:
    succ: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        succ[e.from_].append(e.to)
    seen, frontier = {first}, [first]
    while frontier:
        for m in succ[frontier.pop()]:
            if m not in seen:
                seen.add(m)
                frontier.append(m)
    return seen


def _topological(ids: list[str], edges: list[Edge]) -> tuple[list[str], list[str]]:
    """Kahn's order of the nodes (list order breaks ties) and, when the edges are not a DAG,
    one cycle as a closed path (a -> b -> a). Iterative: deep workflows do not recurse."""
    succ: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(ids, 0)
    for e in edges:
        succ[e.from_].append(e.to)
        indegree[e.to] += 1
    ready = [n for n in ids if indegree[n] == 0]
    order: list[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in succ[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    if len(order) == len(ids):
        return order, []
    # Every node left over has a predecessor left over: walking predecessors must loop.
    left = {n for n in ids if indegree[n] > 0}
    pred: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        pred[e.to].append(e.from_)
    path, n = [], next(n for n in ids if n in left)
    while n not in path:
        path.append(n)
        n = next(m for m in pred[n] if m in left)
    loop = path[path.index(n):][::-1]
    k = min(range(len(loop)), key=lambda i: ids.index(loop[i]))  # start at the first listed node
    loop = loop[k:] + loop[:k]
    return order, loop + [loop[0]]


def _safe_refs(text: str) -> list[templates.Ref]:
    try:
        return templates.find_refs(text)
    except templates.TemplateSyntaxError:
        return []
