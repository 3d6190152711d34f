"""The orchestrator's context cost of one (case, approach), by component, measured or modelled.

The orchestrator is the model that plans the task. Under `direct` it calls every tool itself, so
every result enters its context and is re-read by every later turn; under `code` it writes a
script once and reads the script's stdout; under `ir` it writes a JSON IR workflow once and reads
the declared outputs. All three are computed from the same recorded calls of one trace:

    schemas = {"time": [{"name": "get_current_time", "description": "...", "input_schema": {...}}]}
    ir = context_cost(trace, schemas, artefact=Path("goldens/meeting-times/workflow.json").read_text())
    direct = context_cost(trace, schemas, approach="direct")     # modelled from the ir trace's calls
    ir.tokens("per_run"), direct.tokens("per_run"), payback_runs(ir, direct)
    write_context_rows("reports/ledger.duckdb", run_id, [ir, direct])

Every component carries a basis: `measured` (tokenizer counts of recorded bytes, provider-reported
usage), `modelled` (what the approach implies: the turn structure of `direct`, the assumed system
prompt, the request stood in for by the case inputs, the catalog text) or `hand-written` (the
count of a file a person wrote standing in for what a model would write: the IR, the script). A
component sits in a phase: `authoring` (one-off: reading the catalog or discovering tools,
writing the IR or the script) or `per_run` (what every run costs once the artefact exists).

Two parties' tokens are kept apart and never summed: the orchestrator's (counted with the
settings' tiktoken encoding, priced at the orchestrator model), which `tokens()` returns, and
the workflow's own llm nodes' (`llm_calls`: the provider's usage, with that model's tokenizer,
at that model's price), which `llm_node_tokens()` returns. Costs in USD are commensurable and
`cost_usd()` includes both. Input (read) and output (written) tokens are kept apart throughout:
output costs several times as much.

The model, each figure below counted with the settings' tokenizer (S system prompt, H all servers'
schemas, R the request, a_i / r_i call i's arguments / result, F the declared outputs, N calls).
The orchestrator makes up to k calls a turn (`calls_per_turn`, default 1), in order; a call whose
arguments use a value that a result of the same turn brought in waits for the next turn. Call i
is made in turn t_i, and there are T = t_N + 1 turns (T = N + 1 for k = 1):

- `direct` (modelled, always): turn t (1..T) reads S + H + R + what earlier turns wrote and
  received; call i's arguments are written in turn t_i and re-read by the T - t_i later turns,
  its result re-read by the same T - t_i turns; the final turn writes F. The llm nodes' work is
  the orchestrator's own under direct and its result is part of F (written once, not again). No
  prompt caching is assumed. Only MCP calls become turns: shell, file and http work is taken as
  done by the orchestrator in the final answer. All of it is `per_run`.
- `ir`: authoring reads S + R + the node catalog (node types, and the name, description and input
  schema of each tool the trace used: the IR cannot name arguments without them) and writes the
  IR; each run reads S + R + F (the turn that asks for the run and reads its outputs). The
  workflow's llm nodes are billed at their own model, from the trace's usage (`llm_calls`).
- `code`: authoring reads S + R + what the `discover-*` steps returned and writes the script; each
  run reads S + R + the script's stdout; the script's llm calls are billed at their own model. A
  script that discovered nothing was written by someone who knew its tools, so its discovery is
  modelled as the least it must have read: the used tools' lines of the `ir` catalog.

Savings per tool call add up to the per-run gap only together with the rest: for each call,
what it costs under `direct` (a_i written, a_i and r_i re-read by later turns) minus its share of
what returns under the approach; `per_run_gap(approach, direct) = sum of the calls' savings +
rest`, where the rest is S, H and R carried by every turn beyond the first, F, and what returns
that no call's data reaches (`SavingsBreakdown`).

Text is serialised one way throughout: compact JSON (`,` `:` separators, non-ASCII as is). A
server's schemas are the compact JSON of its `[{"name", "description", "inputSchema"}]`, which
reproduces the figures of `shared/REFERENCES.md` (mcp-server-time 261, mcp-server-git 1,139
tokens, o200k_base). A tool result counts as the ledger's `tool_calls.result_tokens` (the text of
its content blocks, once) when the trace holds it, else as `tool_result_text` gives it. Recorded
data is counted at its live size (`<timestamp>` as a real timestamp, see `live_size_text`);
fixture paths as `${FIXTURES}`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from harness.accounting._prices import Prices, cost_usd
from harness.accounting._schema import connect, quoted
from harness.accounting._tokens import DEFAULT_ENCODING, count_tokens, live_size_text, tool_result_text
from runner.nodes.mcp import NODE_SETTINGS
from runner.templates import TemplateError, find_refs
from runner.trace import StepRecord, Trace

__all__ = [
    "Approach",
    "CONTEXT_DDL",
    "Component",
    "ContextCost",
    "ContextRows",
    "DEFAULT_MODEL",
    "DEFAULT_SYSTEM_PROMPT_TOKENS",
    "LLM_NODES",
    "NODE_TYPES",
    "SavingsBreakdown",
    "Settings",
    "ToolCallSaving",
    "context_cost",
    "context_rows",
    "node_catalog",
    "payback_runs",
    "per_run_gap",
    "runs_to_pay_back",
    "schema_text",
    "write_context_rows",
]

# gpt-4o-mini: in litellm's bundled price map ($0.15 / $0.60 per million tokens), tokenised by
# o200k_base (the default encoding), and the cheap hosted model agents are most often run on.
DEFAULT_MODEL = "gpt-4o-mini"
# An agent's system prompt (role, tool-use rules, output format) before any tool schema: a
# deliberately modest figure; set your own agent's.
DEFAULT_SYSTEM_PROMPT_TOKENS = 400

Phase = Literal["authoring", "per_run"]
Basis = Literal["measured", "modelled", "hand-written"]
LLM_NODES = "llm_calls"  # the component of the workflow's (or script's) own model calls
ToolSchemas = Mapping[str, Sequence[Mapping[str, Any]]]  # {server: [{"name", "description", "input_schema"}]}
ContextRows = dict[str, list[tuple[Any, ...]]]  # {"context_tokens": [...], "tool_call_savings": [...]}
_SCRIPT_CALL = re.compile(r"call-\d+:")

# The node-type part of the catalog an `ir` orchestrator reads before writing a workflow.
NODE_TYPES = """\
flowtape JSON IR: {"inputs": {name: {"type"}}, "nodes": [{"id", "type", "params"}], "edges": [{"from", "to"}], "outputs": {name: {"source"}}}
Templates: ${input}, ${node.output.path}, ${a ?? b}. Node types (params -> outputs):
shell: command, stdin, cwd, env, timeout -> stdout, stderr, exit_code
read-file: file_path, encoding -> content
write-file: file_path, content, append -> written, bytes_written
http: url, method, headers, params, body -> response, status_code
llm: prompt, system, model, temperature, max_tokens, output_schema -> response, llm_usage
workflow: workflow, inputs -> the child's outputs
mcp-<server>-<tool>: the tool's arguments -> result
Tools:"""

CONTEXT_DDL = (
    """CREATE TABLE IF NOT EXISTS context_tokens (
    run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR NOT NULL, model VARCHAR, component VARCHAR NOT NULL,
    phase VARCHAR NOT NULL CHECK (phase IN ('authoring', 'per_run')), tokens BIGINT NOT NULL, cost_usd DOUBLE,
    basis VARCHAR NOT NULL CHECK (basis IN ('measured', 'modelled', 'hand-written')),
    input_tokens BIGINT, output_tokens BIGINT, priced_at VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS tool_call_savings (
    run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR NOT NULL, model VARCHAR, seq INTEGER, step_id VARCHAR,
    server VARCHAR, tool VARCHAR, direct_tokens BIGINT NOT NULL, approach_tokens BIGINT NOT NULL,
    direct_output_tokens BIGINT, saved_cost_usd DOUBLE)""",
    """CREATE VIEW IF NOT EXISTS savings_per_tool_call AS
    SELECT run_id, task, "case", approach, model, step_id, server, tool, direct_tokens, approach_tokens,
           direct_tokens - approach_tokens AS saved_tokens,
           direct_tokens - direct_output_tokens - approach_tokens AS saved_input_tokens,
           direct_output_tokens AS saved_output_tokens, saved_cost_usd
    FROM tool_call_savings""",
)
# The context tables' layout; a ledger written by an earlier layout is migrated on the next write
# (its rows kept, the new columns NULL). 2: input/output tokens, model, `hand-written`, priced savings.
# 3: `model` is the case's (the ledger's case key, as in `cases`); the price's model is `priced_at`.
CONTEXT_SCHEMA_VERSION = 3


class Approach(str, Enum):
    """How the orchestrator works the task: calls tools itself, writes a script, or writes an IR."""

    DIRECT = "direct"
    CODE = "code"
    IR = "ir"


@dataclass(frozen=True)
class Settings:
    """The orchestrator and how text is counted.

    Args:
        model: the orchestrator model; its price bills every orchestrator component.
        tokenizer: tiktoken encoding for every count (unless `counter` is given).
        system_prompt_tokens: the orchestrator's system prompt, carried by every turn.
        request_tokens: the user's request; None counts the case inputs (compact JSON).
        node_types: the node-type text of the `ir` catalog (the used tools are appended).
        prices: USD per million tokens by model; a price given here wins over litellm's map.
        counter: a token counter to use instead of the tokenizer (tests: `lambda s: len(s.split())`).
        calls_per_turn: how many tool calls the modelled `direct` orchestrator makes in one turn
            (1: one call a turn; more: parallel tool calls, fewer turns re-reading the context).
    """

    model: str = DEFAULT_MODEL
    tokenizer: str = DEFAULT_ENCODING
    system_prompt_tokens: int = DEFAULT_SYSTEM_PROMPT_TOKENS
    request_tokens: int | None = None
    node_types: str = NODE_TYPES
    prices: Prices | None = None
    counter: Callable[[str], int] | None = None
    calls_per_turn: int = 1

    def count(self, text: str) -> int:
        return self.counter(text) if self.counter is not None else count_tokens(text, self.tokenizer)

    def count_recorded(self, text: str) -> int:
        """Recorded data at its live size (placeholders such as `<timestamp>` as live values)."""
        return self.count(live_size_text(text))


@dataclass(frozen=True)
class Component:
    """One part of an approach's context: tokens read (`input_tokens`) and written
    (`output_tokens`), priced at `model` (None: the price is unknown). The `llm_calls` component
    is the workflow's own model calls (`LLM_NODES`), counted by that model; every other is the
    orchestrator's."""

    name: str
    phase: Phase
    basis: Basis
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    model: str | None = None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def llm_nodes(self) -> bool:
        return self.name == LLM_NODES


@dataclass(frozen=True)
class ToolCallSaving:
    """One recorded tool call: what it costs the orchestrator under `direct` (its arguments
    written once and re-read by every later turn, its result re-read by every later turn) and
    under the approach (its share of the outputs or stdout that return; 0 if none derive from it).

    `direct_tokens` includes the `direct_output_tokens` written (the arguments); the rest of it
    and `approach_tokens` are read. `saved_cost_usd` prices the saving at the orchestrator model,
    input and output at their own prices (None: unknown price)."""

    seq: int
    step_id: str
    server: str
    tool: str
    direct_tokens: int
    approach_tokens: int
    direct_output_tokens: int = 0
    saved_cost_usd: float | None = None

    @property
    def saved_tokens(self) -> int:
        return self.direct_tokens - self.approach_tokens

    @property
    def saved_input_tokens(self) -> int:
        return self.direct_tokens - self.direct_output_tokens - self.approach_tokens

    @property
    def saved_output_tokens(self) -> int:
        return self.direct_output_tokens


@dataclass(frozen=True)
class ContextCost:
    """The context cost of one (case, approach) run with `model` (the ledger's case key)."""

    task: str | None
    case: str | None
    approach: str
    components: tuple[Component, ...]
    tool_calls: tuple[ToolCallSaving, ...] = ()
    model: str = ""

    def _of(self, phase: Phase | None, llm_nodes: bool) -> list[Component]:
        return [c for c in self.components if (phase is None or c.phase == phase) and c.llm_nodes == llm_nodes]

    def tokens(self, phase: Phase | None = None) -> int:
        """The orchestrator's tokens (read + written), never the llm nodes' (`llm_node_tokens`)."""
        return sum(c.tokens for c in self._of(phase, False))

    def input_tokens(self, phase: Phase | None = None) -> int:
        """What the orchestrator reads."""
        return sum(c.input_tokens for c in self._of(phase, False))

    def output_tokens(self, phase: Phase | None = None) -> int:
        """What the orchestrator writes."""
        return sum(c.output_tokens for c in self._of(phase, False))

    def llm_node_tokens(self, phase: Phase | None = None) -> int:
        """The workflow's own llm calls (prompt + completion, counted by their model)."""
        return sum(c.tokens for c in self._of(phase, True))

    def cost_usd(self, phase: Phase | None = None) -> float | None:
        """USD of the phase (or of everything), orchestrator and llm nodes; None when any
        component's price is unknown."""
        costs = [c.cost_usd for c in self.components if phase is None or c.phase == phase]
        return None if any(c is None for c in costs) else float(sum(costs))  # type: ignore[arg-type]

    def component(self, name: str, phase: Phase = "per_run") -> Component:
        for item in self.components:
            if item.name == name and item.phase == phase:
                return item
        raise KeyError(f"{self.approach} has no {phase} component {name!r}")


@dataclass(frozen=True)
class SavingsBreakdown:
    """The orchestrator's per-run gap to `direct`, as the tool calls' savings plus the rest.

    `gap_* = direct's per-run - the approach's per-run` (orchestrator tokens only);
    `calls_*` the sum of the calls' savings; `rest_* = gap - calls`: the system prompt, schemas
    and request that direct carries in every turn beyond the first, its final answer, less what
    returns under the approach that no call's data reaches. Input and output apart."""

    gap_input: int
    gap_output: int
    calls_input: int
    calls_output: int

    @property
    def gap(self) -> int:
        return self.gap_input + self.gap_output

    @property
    def calls(self) -> int:
        return self.calls_input + self.calls_output

    @property
    def rest_input(self) -> int:
        return self.gap_input - self.calls_input

    @property
    def rest_output(self) -> int:
        return self.gap_output - self.calls_output

    @property
    def rest(self) -> int:
        return self.gap - self.calls


def per_run_gap(approach: ContextCost, direct: ContextCost) -> SavingsBreakdown:
    """How `approach` saves against `direct` per run: its calls' savings and the rest, which add
    up to the gap (see `SavingsBreakdown`)."""
    return SavingsBreakdown(
        direct.input_tokens("per_run") - approach.input_tokens("per_run"),
        direct.output_tokens("per_run") - approach.output_tokens("per_run"),
        sum(t.saved_input_tokens for t in approach.tool_calls),
        sum(t.saved_output_tokens for t in approach.tool_calls),
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def schema_text(tools: Sequence[Mapping[str, Any]]) -> str:
    """What one server's tool definitions are counted as: compact JSON of
    `[{"name", "description", "inputSchema"}]` (the keys `tools/list` sends)."""
    return _json([{"name": t["name"], "description": t.get("description") or "",
                   "inputSchema": t.get("input_schema", t.get("inputSchema", {}))} for t in tools])


def _is_discovery(step: StepRecord) -> bool:
    return step.step_id.startswith("discover-")


def _tool_calls(trace: Trace) -> list[tuple[int, StepRecord]]:
    return [(seq, s) for seq, s in enumerate(trace.steps) if s.tool is not None and not _is_discovery(s)]


def _arguments(step: StepRecord) -> dict[str, Any]:
    # An IR node's params hold node settings beside the arguments; a script's call
    # (`call-<n>:<server>.<tool>`) records the arguments alone.
    if step.node_type.startswith("mcp-") and not _SCRIPT_CALL.match(step.step_id):
        return {k: v for k, v in step.params.items() if k not in NODE_SETTINGS}
    return dict(step.params)


def _script_stdout(trace: Trace) -> str:
    """What a script printed: its `stdout` step's record (harness.codeexec), else the outputs."""
    for step in trace.steps:
        if step.step_id == "stdout" and step.kind == "code" and isinstance((step.output or {}).get("stdout"), str):
            return step.output["stdout"]  # type: ignore[index]
    value = trace.outputs.get("stdout")
    return value if isinstance(value, str) else _json(trace.outputs)


def _tool_lines(trace: Trace, schemas: ToolSchemas) -> list[str]:
    """`mcp-<server>-<tool>: <description> <input schema as compact JSON>` for each tool the trace
    called, in first-call order."""
    known = {(server, t["name"]): t for server, tools in schemas.items() for t in tools}
    lines, seen = [], set()
    for _, step in _tool_calls(trace):
        key = (step.tool.server, step.tool.tool)  # type: ignore[union-attr]
        if key in seen:
            continue
        seen.add(key)
        tool = known.get(key, {})
        schema = tool.get("input_schema", tool.get("inputSchema"))
        parts = [f"mcp-{key[0]}-{key[1]}:", tool.get("description") or "", _json(schema) if schema is not None else ""]
        lines.append(" ".join(p for p in parts if p))
    return lines


def node_catalog(trace: Trace, schemas: ToolSchemas, node_types: str = NODE_TYPES) -> str:
    """The catalog an `ir` orchestrator reads: `node_types`, then one line per tool the trace
    called, `mcp-<server>-<tool>: <description> <input schema as compact JSON>`."""
    return "\n".join([node_types, *_tool_lines(trace, schemas)])


def _apportion(total: int, weights: Sequence[int]) -> list[int]:
    """`total` split in proportion to `weights` into integers that sum to it (largest remainder;
    ties go to the earlier item; all-zero weights split evenly)."""
    if not weights:
        return []
    if not any(weights):
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    parts = [math.floor(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: (parts[i] - shares[i], i))[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _ir_lineage(artefact: str, names: Iterable[str]) -> dict[str, set[str]] | None:
    """For each declared output, the node ids it derives from (through templates, transitively);
    None when the artefact is not an IR we can read."""
    try:
        document = json.loads(artefact)
        nodes = {n["id"]: {r.name for r in find_refs(n.get("params", {}))} for n in document.get("nodes", [])}
        outputs = document.get("outputs", {})
        sources = {name: spec.get("source", "") if isinstance(spec, dict) else spec for name, spec in outputs.items()}
        refs = {name: {r.name for r in find_refs(src if "${" in str(src) else "${" + str(src) + "}")} for name, src in sources.items()}
    except (ValueError, TypeError, KeyError, AttributeError, TemplateError):
        return None
    lineage: dict[str, set[str]] = {}
    for name in names:
        seen: set[str] = set()
        todo = [r for r in refs.get(name, ()) if r in nodes]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo += [r for r in nodes[node] if r in nodes]
        lineage[name] = seen
    return lineage


def _returned_per_call(approach: Approach, trace: Trace, artefact: str, stdout_tokens: int,
                       results: list[int], settings: Settings) -> list[int]:
    """Each call's share of what returns to the orchestrator per run.

    `ir`: each declared output (counted alone, as `{name: value}`) is split over the tool calls it
    derives from, in proportion to their result tokens; an output that derives from no call is
    nobody's. An artefact that is not readable IR makes every output derive from every call.
    `code`: no lineage is known, so the whole stdout is split over every call the same way. Both
    charge returned data to the calls rather than leave it out, so savings are never overstated.
    """
    calls = _tool_calls(trace)
    per_call = [0] * len(calls)
    if approach is Approach.CODE:
        return _apportion(stdout_tokens, results)
    lineage = _ir_lineage(artefact, trace.outputs)
    for name, value in trace.outputs.items():
        if lineage is None:
            members = list(range(len(calls)))
        else:
            nodes = lineage.get(name, set())
            members = [i for i, (_, s) in enumerate(calls) if s.step_id.split("/")[0] in nodes]
        if not members:
            continue
        shares = _apportion(settings.count_recorded(_json({name: value})), [results[i] for i in members])
        for i, share in zip(members, shares):
            per_call[i] += share
    return per_call


_PIECE = re.compile(r"[\w.@-]{4,}")


def _pieces(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(_PIECE.findall(value))
    if isinstance(value, dict):
        return set().union(*(_pieces(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_pieces(v) for v in value)) if value else set()
    return set()


def _turns(calls: list[tuple[int, StepRecord]], trace: Trace, per_turn: int) -> list[int]:
    """The turn (1-based) the modelled direct orchestrator makes each call in: up to `per_turn`
    calls a turn, in order, but a call whose arguments use a value that a result of the same turn
    brought in (a word of 4+ characters found in that result and not in the request) must wait
    for the next turn: it could not have been written before that result arrived."""
    request = " ".join(_pieces(trace.inputs))
    made_in, turn, current = [], 0, []  # current: the result texts of this turn's calls
    for _, step in calls:
        needs = {p for p in _pieces(_arguments(step)) if p not in request}
        waits = any(p in text for p in needs for text in current)
        if turn == 0 or len(current) >= max(1, per_turn) or waits:
            turn, current = turn + 1, []
        made_in.append(turn)
        current.append(tool_result_text(step.output))
    return made_in


def _result_tokens(step: StepRecord, settings: Settings) -> int:
    """A tool result's tokens: the ledger's figure (the content blocks' text, counted when the
    call returned) when it was counted with this tokenizer, else counted from the step's output."""
    usage = step.tool
    if (settings.counter is None and usage is not None and usage.result_tokens is not None
            and (usage.tokenizer or "").split(":")[0] == settings.tokenizer):
        return usage.result_tokens
    return settings.count_recorded(tool_result_text(step.output))


def _llm_component(trace: Trace, settings: Settings) -> Component:
    """The trace's own model calls, billed at their own model from the recorded usage."""
    steps = [s.llm for s in trace.steps if s.llm is not None]
    prompt = sum(u.prompt_tokens or 0 for u in steps)
    completion = sum(u.completion_tokens or 0 for u in steps)
    costs = [u.cost_usd if u.cost_usd is not None else cost_usd(u.model, u.prompt_tokens, u.completion_tokens, settings.prices) for u in steps]
    known = [c for c in costs if c is not None]
    total = float(sum(known)) if len(known) == len(costs) else None
    models = ",".join(sorted({u.model for u in steps})) or None
    return Component(LLM_NODES, "per_run", "measured", prompt, completion, total, models)


def context_cost(
    trace: Trace,
    schemas: ToolSchemas,
    settings: Settings | None = None,
    *,
    approach: Approach | str | None = None,
    artefact: str | None = None,
    stdout: str | None = None,
) -> ContextCost:
    """The orchestrator's context cost of `trace` under `approach` (default: the trace's own).

    Args:
        trace: the recorded run; `direct` is modelled from its tool calls whatever approach ran it.
        schemas: every connected server's tools, `{server: [{"name", "description", "input_schema"}]}`.
        settings: orchestrator model, tokenizer, system prompt and request size, prices.
        approach: `direct`, `code` or `ir`.
        artefact: the IR JSON text (`ir`) or the script (`code`); not used by `direct`.
        stdout: the script's stdout (`code`); default: the trace's `stdout` step (as `harness.codeexec`
            records it), else `trace.outputs["stdout"]`, else the outputs as JSON.

    Raises:
        ValueError: `ir` or `code` without an artefact, or an unknown approach.
    """
    settings = settings or Settings()
    label = str(approach.value if isinstance(approach, Approach) else approach or trace.approach)
    approach = Approach(label.partition("@")[0])  # `ir@<model>`: an authored workflow is costed as ir
    count, recorded = settings.count, settings.count_recorded
    calls = _tool_calls(trace)
    args = [recorded(_json(_arguments(s))) for _, s in calls]
    results = [_result_tokens(s, settings) for _, s in calls]
    made_in = _turns(calls, trace, settings.calls_per_turn)
    turns = (made_in[-1] if made_in else 0) + 1
    later = [turns - t for t in made_in]  # the turns after call i's, which re-read it
    system = settings.system_prompt_tokens
    request = settings.request_tokens if settings.request_tokens is not None else recorded(_json(trace.inputs))
    outputs = recorded(_json(trace.outputs))

    def priced(name: str, phase: Phase, basis: Basis, read: int = 0, written: int = 0) -> Component:
        return Component(name, phase, basis, read, written, cost_usd(settings.model, read, written, settings.prices), settings.model)

    if approach is Approach.DIRECT:
        components = (
            priced("system", "per_run", "modelled", system * turns),
            priced("schemas", "per_run", "modelled", sum(count(schema_text(t)) for _, t in sorted(schemas.items())) * turns),
            priced("request", "per_run", "modelled", request * turns),
            priced("tool_arguments", "per_run", "modelled", sum(a * n for a, n in zip(args, later)), sum(args)),
            priced("tool_results", "per_run", "modelled", sum(r * n for r, n in zip(results, later))),
            priced("final_answer", "per_run", "modelled", 0, outputs),
        )
        return ContextCost(trace.task, trace.case, label, components, model=trace.model or "")
    if artefact is None:
        raise ValueError(f"the {approach.value} approach needs its artefact: the {'IR JSON' if approach is Approach.IR else 'script'} text")
    if approach is Approach.IR:
        reads, read_name, written_name = count(node_catalog(trace, schemas, settings.node_types)), "node_catalog", "ir"
        reads_basis: Basis = "modelled"
        returned, returned_name = outputs, "outputs"
    else:
        found = [s for s in trace.steps if _is_discovery(s)]
        read_name, written_name = "discovery", "script"
        if found:
            reads, reads_basis = sum(_result_tokens(s, settings) for s in found), "measured"
        else:  # a script that discovered nothing was written knowing its tools: the least it read
            reads, reads_basis = count("\n".join(_tool_lines(trace, schemas))), "modelled"
        returned, returned_name = recorded(_script_stdout(trace) if stdout is None else stdout), "stdout"
    components = (
        priced("system", "authoring", "modelled", system),
        priced("request", "authoring", "modelled", request),
        priced(read_name, "authoring", reads_basis, reads),
        # a person wrote the file (an authored variant: a model did, its turns are measured in the
        # ledger's `authoring` table); the file's count stands in for what a model would write
        priced(written_name, "authoring", "modelled" if "@" in label else "hand-written", 0, count(artefact)),
        priced("system", "per_run", "modelled", system),
        priced("request", "per_run", "modelled", request),
        priced(returned_name, "per_run", "measured", returned),
        _llm_component(trace, settings),
    )
    shares = _returned_per_call(approach, trace, artefact, returned, results, settings)
    savings = []
    for (seq, s), a, r, n, share in zip(calls, args, results, later, shares):
        read_direct = (a + r) * n  # written in its turn, then a and r re-read by each later turn
        read_saved = cost_usd(settings.model, read_direct - share, 0, settings.prices)
        written_saved = cost_usd(settings.model, 0, a, settings.prices)
        saved_usd = None if read_saved is None or written_saved is None else read_saved + written_saved
        savings.append(ToolCallSaving(seq, s.step_id, s.tool.server, s.tool.tool, read_direct + a, share, a, saved_usd))  # type: ignore[union-attr]
    return ContextCost(trace.task, trace.case, label, components, tuple(savings), model=trace.model or "")


def payback_runs(approach: ContextCost, direct: ContextCost, *, by: Literal["tokens", "cost_usd"] = "tokens") -> int | None:
    """The smallest n with authoring + n * per_run <= n * direct's per_run (direct's authoring,
    if any, on its side), or None when `approach` never catches up (its per run is not cheaper).

        payback_runs(ir, direct)                  # 1: cheaper from the first run
        payback_runs(ir, direct, by="cost_usd")   # 2: the IR is output tokens, priced 4x input

    Raises:
        ValueError: `by="cost_usd"` and a component's price is unknown.
    """
    def figure(cost: ContextCost, phase: Phase) -> float:
        value = cost.tokens(phase) if by == "tokens" else cost.cost_usd(phase)
        if value is None:
            raise ValueError(f"{cost.approach} has a component with no known price; payback by cost needs every price")
        return value

    return runs_to_pay_back(figure(approach, "authoring") - figure(direct, "authoring"),
                            figure(direct, "per_run") - figure(approach, "per_run"))


def runs_to_pay_back(upfront: float, gain: float) -> int | None:
    """The smallest n >= 1 with upfront <= n * gain (what an artefact costs to make, against what
    each run saves), or None when that never holds. Figures equal up to float rounding (USD sums
    of per-token prices) count as equal."""
    if upfront <= gain or math.isclose(upfront, gain, rel_tol=1e-9):
        return 1
    if gain <= 0:
        return None
    runs = max(1, math.ceil(upfront / gain))
    while runs > 1 and upfront <= (runs - 1) * gain:  # float division may overshoot by one
        runs -= 1
    while upfront > runs * gain:
        runs += 1
    return runs


def context_rows(run_id: str, costs: Iterable[ContextCost]) -> ContextRows:
    """The ledger rows of `costs`: `context_tokens` (one per component) and `tool_call_savings`
    (one per tool call), tuples in the column order of `CONTEXT_DDL`."""
    rows: ContextRows = {"context_tokens": [], "tool_call_savings": []}
    for cost in costs:
        key = (run_id, cost.task, cost.case, cost.approach, cost.model)
        rows["context_tokens"] += [(*key, c.name, c.phase, c.tokens, c.cost_usd, c.basis, c.input_tokens, c.output_tokens, c.model)
                                   for c in cost.components]
        rows["tool_call_savings"] += [(*key, t.seq, t.step_id, t.server, t.tool, t.direct_tokens, t.approach_tokens,
                                       t.direct_output_tokens, t.saved_cost_usd) for t in cost.tool_calls]
    return rows


def write_context_rows(ledger_path: Path | str, run_id: str, rows: Iterable[ContextCost] | Mapping[str, Iterable[Sequence[Any]]]) -> int:
    """Add context rows of `run_id` to the ledger (created if missing), with DuckDB's appender in
    one transaction; the tables and the view are created if missing. A (case, approach) written
    again replaces its earlier rows. Returns how many `context_tokens` rows were written.

    Args:
        rows: `ContextCost`s, or `context_rows(run_id, ...)`'s mapping.

    Raises:
        ValueError: a row belongs to another run.
        LedgerError: the file is not a ledger, or another process is writing it.
    """
    tables = dict(rows) if isinstance(rows, Mapping) else context_rows(run_id, rows)
    unknown = set(tables) - {"context_tokens", "tool_call_savings"}
    if unknown:
        raise ValueError(f"no context table {', '.join(sorted(unknown))} (only context_tokens, tool_call_savings)")
    tables = {name: [tuple(r) for r in tables.get(name, ())] for name in ("context_tokens", "tool_call_savings")}
    for name, table_rows in tables.items():
        if any(r[0] != run_id for r in table_rows):
            raise ValueError(f"every {name} row must belong to run {run_id}")
    keys = sorted({tuple(r[:5]) for table_rows in tables.values() for r in table_rows}, key=str)
    conn = connect(Path(ledger_path))
    try:
        _migrate(conn)
        for ddl in CONTEXT_DDL:
            conn.execute(ddl)
        conn.begin()
        try:
            for table in tables:
                for key in keys:
                    conn.execute(f"DELETE FROM {table} WHERE run_id = ? AND task IS NOT DISTINCT FROM ? AND {quoted('case')} IS NOT DISTINCT FROM ?"
                                 " AND approach = ? AND model IS NOT DISTINCT FROM ?", list(key))
            for table, table_rows in tables.items():
                if table_rows:
                    appender = conn.appender(table)
                    for row in table_rows:
                        appender.append_row(*row)
                    appender.flush()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    finally:
        conn.close()
    return len(tables["context_tokens"])


def _migrate(conn: Any) -> None:
    """Bring context tables of an earlier layout to `CONTEXT_SCHEMA_VERSION`: each is rebuilt
    with the current DDL and its rows copied (columns it lacked are NULL), in one transaction."""
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("context_schema_version") == str(CONTEXT_SCHEMA_VERSION):
        return
    tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    conn.begin()
    try:
        conn.execute("DROP VIEW IF EXISTS savings_per_tool_call")
        for table, ddl in (("context_tokens", CONTEXT_DDL[0]), ("tool_call_savings", CONTEXT_DDL[1])):
            if table not in tables:
                continue
            old = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                [table]).fetchall()]
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_before_v{CONTEXT_SCHEMA_VERSION}")
            conn.execute(ddl)
            # before 3, `model` was the price's model (now `priced_at`); the case's model was not kept ('')
            before_3 = meta.get("context_schema_version") in (None, "1", "2")
            pairs = [(quoted("priced_at" if before_3 and c == "model" else c), quoted(c)) for c in old]
            if before_3:
                pairs.append(("model", "''"))
            conn.execute(f"INSERT INTO {table} ({', '.join(t for t, _ in pairs)}) SELECT {', '.join(v for _, v in pairs)} "
                         f"FROM {table}_before_v{CONTEXT_SCHEMA_VERSION}")
            conn.execute(f"DROP TABLE {table}_before_v{CONTEXT_SCHEMA_VERSION}")
        conn.execute("DELETE FROM meta WHERE key = 'context_schema_version'")
        conn.execute("INSERT INTO meta VALUES ('context_schema_version', ?)", [str(CONTEXT_SCHEMA_VERSION)])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
