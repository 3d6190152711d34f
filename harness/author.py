"""`flowtape author`: a live orchestrator writes a task's workflow (ir) or script (code), and what
that cost is measured, not modelled.

The model gets what an orchestrator would: the task's description, its inputs (names, types, an
example) and the outputs its cases judge, for `ir` the node catalog, for `code` how a script
reaches the tools, and the names of the task's MCP servers. It may look further before writing,
with the discovery tools the code approach has (`list_servers`, `search_tools`,
`get_tool_schema`, answered from the task's recorded `tools/list`; no server is started). Each
submission is checked by flowtape's own validation (for `ir`: the runner's diagnostics and the
tool names and params against the recorded tools; for `code`: Python syntax and the tool stubs it
calls), and the diagnostics go back to the model until a submission passes or the attempts run
out.

The model answers through a JSON-schema response format (grammar-constrained on llama.cpp), one
action per turn: `{"action": "list_servers" | "search_tools" | "get_tool_schema" | "submit", ...}`
(labelled `protocol: json-schema` in the trace): the local SmolLM2 server has no tool calling.
Every model call goes through the cassette LLM client, so an authoring run is recorded once
(`cassettes/<task>/authored/<model>.<approach>.yaml`) and replays offline. A valid artefact is
saved under `goldens/<task>/authored/<model>/` (`workflow.json` or `baseline.py`); the run's
tokens and attempts go to the ledger's `authoring` table. A model that fails to author is a
measured result too: the row says so.

    result = author(task, "ir", llm=client, model="openai/smollm2", cassettes=Path("cassettes"))
    result.status, result.attempts, result.prompt_tokens, result.artifact
"""

from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from harness.goldens import Task, model_slug
from runner.clients import LLMClient, LLMRequest, ToolInfo
from runner.trace import LLMUsage, RunStatus, StepRecord, Trace, write_atomic

__all__ = ["AUTHORING_DDL", "AuthorResult", "author", "authored_path", "brief", "check_code", "check_workflow", "model_slug",
           "response_format", "save_artifact", "write_authoring_row"]

APPROACHES = ("ir", "code")
MAX_RESULT_CHARS = 1500  # of a discovery answer fed back; the rest is cut, and the cut is marked
MAX_FEEDBACK_LINES = 8
MAX_ARTEFACT_CHARS = 6000  # of a submitted workflow or script

SYSTEM = {
    "ir": ("You are an orchestrator that writes workflows in flowtape's JSON IR. Reply with one JSON action per turn. "
           "Look up tools first if you need them; when you are ready, submit the whole workflow. "
           "The workflow's outputs must have the names listed under 'Outputs'."),
    "code": ("You are an orchestrator that writes Python scripts which call MCP tools through typed stubs. Reply with one JSON "
             "action per turn. Look up tools first if you need them; when you are ready, submit the whole script. The script "
             "must print one JSON object whose keys are the names listed under 'Outputs'."),
}

CODE_GUIDE = """\
Script: `import flowtape_tools as tools`; the inputs are `tools.inputs["name"]`; a tool is called as
`tools.<server>.<tool>(argument=value, ...)` and returns the tool's result as JSON; `tools.llm(prompt)` asks a model.
Print one JSON object with the outputs: `print(json.dumps({...}))`."""

_ACTIONS = ("list_servers", "search_tools", "get_tool_schema", "submit")
_DISCOVERY_ARGS = {"list_servers": (), "search_tools": ("query",), "get_tool_schema": ("server", "tool")}

AUTHORING_DDL = """CREATE TABLE IF NOT EXISTS authoring (
    author_run_id VARCHAR NOT NULL, task VARCHAR NOT NULL, approach VARCHAR NOT NULL, model VARCHAR NOT NULL,
    status VARCHAR NOT NULL, attempts INTEGER NOT NULL, turns INTEGER NOT NULL, discoveries INTEGER NOT NULL,
    prompt_tokens BIGINT, completion_tokens BIGINT, cost_usd DOUBLE, basis VARCHAR NOT NULL,
    artifact VARCHAR, trace_path VARCHAR, cassette VARCHAR, recorded_at TIMESTAMP, diagnostics VARCHAR)"""


@dataclass
class AuthorResult:
    task: str
    approach: str
    model: str
    status: str  # valid | invalid (attempts used up) | no-submission (turns used up) | error
    attempts: int
    turns: int
    discoveries: int
    trace: Trace
    diagnostics: list[str] = field(default_factory=list)  # of the last submission
    artifact_text: str | None = None  # the valid workflow JSON or script
    artifact: Path | None = None  # where it was saved

    @property
    def prompt_tokens(self) -> int:
        return sum(s.llm.prompt_tokens or 0 for s in self.trace.steps if s.llm)

    @property
    def completion_tokens(self) -> int:
        return sum(s.llm.completion_tokens or 0 for s in self.trace.steps if s.llm)

    @property
    def cost_usd(self) -> float | None:
        costs = [s.llm.cost_usd for s in self.trace.steps if s.llm]
        return None if not costs or any(c is None for c in costs) else float(sum(c for c in costs if c is not None))


def authored_path(task: Task, approach: str, model: str) -> Path:
    """Where a valid artefact is saved: `<task>/authored/<model>/workflow.json|baseline.py`."""
    return task.folder / "authored" / model_slug(model) / ("workflow.json" if approach == "ir" else "baseline.py")


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "string")


def brief(task: Task, approach: str, tools: dict[str, list[ToolInfo]]) -> str:
    """The task as the orchestrator is told it (the user message of the first turn)."""
    example = task.cases[0].spec.inputs if task.cases else {}
    names = list(dict.fromkeys(k for c in task.cases for k in c.spec.inputs))
    outputs = list(dict.fromkeys(k for c in task.cases for k in c.spec.outputs))
    lines = [f"Task: {' '.join(task.spec.description.split())}", "", "Inputs:"]
    lines += [f"- {n} ({_json_type(example.get(n))}), e.g. {json.dumps(example.get(n), ensure_ascii=False)[:120]}" for n in names] or ["- (none)"]
    lines += ["", "Outputs: " + (", ".join(outputs) or "(none judged)"), ""]
    lines.append("MCP servers: " + (", ".join(f"{s} ({len(t)} tools)" for s, t in tools.items()) or "none"))
    lines.append("Discovery: {\"action\": \"list_servers\"}, {\"action\": \"search_tools\", \"query\": \"words\"}, "
                 "{\"action\": \"get_tool_schema\", \"server\": \"s\", \"tool\": \"t\"}")
    if approach == "ir":
        from harness.accounting.context import NODE_TYPES

        catalog = NODE_TYPES.rsplit("\nTools:", 1)[0]
        lines += ["", catalog, "", "Submit the workflow as JSON text: {\"action\": \"submit\", \"workflow_json\": \"{\\\"inputs\\\": {...}, \\\"nodes\\\": [...], \\\"edges\\\": [...], \\\"outputs\\\": {...}}\"}"]
    else:
        lines += ["", CODE_GUIDE, "", "Submit: {\"action\": \"submit\", \"script\": \"...python...\"}"]
    return "\n".join(lines)


def response_format(approach: str) -> dict[str, Any]:
    """The JSON schema each reply must match: one flat object of short strings, the action and
    its fields; the workflow travels as JSON text (`workflow_json`), parsed and checked after.
    Strings only, each with a length cap: a free-form object in llama.cpp's grammar made SmolLM2
    write about one token a second, and run on until `max_tokens`."""
    props: dict[str, Any] = {"action": {"type": "string", "enum": list(_ACTIONS)}, "query": {"type": "string", "maxLength": 80},
                             "server": {"type": "string", "maxLength": 60}, "tool": {"type": "string", "maxLength": 80}}
    if approach == "ir":
        props["workflow_json"] = {"type": "string", "maxLength": MAX_ARTEFACT_CHARS}
    else:
        props["script"] = {"type": "string", "maxLength": MAX_ARTEFACT_CHARS}
    return {"type": "json_schema", "json_schema": {"name": "action", "schema": {"type": "object", "properties": props, "required": ["action"]}}}


def check_workflow(document: Any, task: Task, tools: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """flowtape's diagnostics for a submitted workflow: the runner's validation, the tool names
    and literal params against the recorded tools, and the outputs the cases judge."""
    from harness.toolcheck import check_tools
    from runner.validate import check

    if not isinstance(document, dict):
        return [f"$: a workflow is a JSON object, not {type(document).__name__}"]
    document = {"ir_version": "0.1.0", **document}
    problems = [str(d) for d in check(document, mcp_servers=list(task.spec.servers)) if d.severity == "error"]
    problems += check_tools(document, task.spec.servers, tools)[0]
    declared = document.get("outputs") if isinstance(document.get("outputs"), dict) else {}
    for name in dict.fromkeys(k for c in task.cases for k in c.spec.outputs):
        if name not in declared:
            problems.append(f"$.outputs: no output '{name}' (the cases judge it)")
    return list(dict.fromkeys(problems))


def check_code(script: Any, task: Task, tools: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Diagnostics for a submitted script: Python syntax, and each `tools.<server>.<tool>(...)`
    naming a server of the task and a tool it lists."""
    from runner._hints import did_you_mean

    if not isinstance(script, str) or not script.strip():
        return ["script: empty; submit the whole Python script as a string"]
    try:
        tree = ast.parse(script)
    except SyntaxError as err:
        return [f"script line {err.lineno}: {err.msg}"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Attribute):
            server, tool = node.func.value.attr, node.func.attr
            if isinstance(node.func.value.value, ast.Name) and node.func.value.value.id == "tools" and server not in ("inputs",):
                if server not in task.spec.servers:
                    problems.append(f"script line {node.lineno}: no server '{server}'{did_you_mean(server, list(task.spec.servers))}")
                elif server in tools and tool not in tools[server]:
                    problems.append(f"script line {node.lineno}: server '{server}' has no tool '{tool}'{did_you_mean(tool, list(tools[server]))}")
    if "print" not in script:
        problems.append("script: prints nothing; print one JSON object with the outputs")
    return problems


def _parse_workflow(text: Any) -> tuple[Any, list[str]]:
    """A submitted `workflow_json` parsed, or the diagnostics saying why it is not a workflow."""
    from runner import JSONInputError, parse_json

    if not isinstance(text, str) or not text.strip():
        return None, ["workflow_json: missing; submit the whole workflow as JSON text"]
    try:
        return parse_json(text, source="workflow_json"), []
    except JSONInputError as err:
        return None, [str(err)]


class _Discovery:
    """list_servers / search_tools / get_tool_schema over the recorded tools/list."""

    def __init__(self, tools: dict[str, list[ToolInfo]]) -> None:
        self.tools = tools

    def list_servers(self) -> list[str]:
        return list(self.tools)

    def search_tools(self, query: str = "") -> list[str]:
        words = str(query).lower().split()
        return [f"{server}.{t.name}: {(t.description.strip().splitlines() or [''])[0]}"
                for server, infos in self.tools.items() for t in infos
                if all(w in f"{server}.{t.name} {t.description}".lower() for w in words)]

    def get_tool_schema(self, server: str = "", tool: str = "") -> Any:
        for info in self.tools.get(server, []):
            if info.name == tool:
                return {"description": info.description, "input_schema": info.input_schema}
        raise LookupError(f"no tool '{tool}' on server '{server}' (servers: {', '.join(self.tools) or 'none'})")


def _cut(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + f" ... [cut: {len(text) - MAX_RESULT_CHARS} more characters]"


def author(task: Task, approach: str, *, llm: LLMClient, model: str, tools: dict[str, list[ToolInfo]],
           max_attempts: int = 3, max_turns: int = 10, max_tokens: int = 1024,
           log: Callable[[str], None] | None = None) -> AuthorResult:
    """Let `model` write `task`'s `approach` artefact (see the module docstring). `tools` are the
    task's servers' tools as recorded (`recorded_tool_infos`). Never raises for what the model
    does; a provider error or a cassette miss ends the run with status `error`."""
    from runner.executor import new_run_id

    if approach not in APPROACHES:
        raise ValueError(f"approach {approach!r}: flowtape author writes ir or code")
    schemas = {s: {t.name: t.input_schema for t in infos} for s, infos in tools.items()}
    discovery = _Discovery(tools)
    fmt = response_format(approach)
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM[approach]}, {"role": "user", "content": brief(task, approach, tools)}]
    steps: list[StepRecord] = []
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    attempts = discoveries = turns = 0
    status, error, diagnostics, artifact = "no-submission", None, [], None
    while turns < max_turns and attempts < max_attempts:
        turns += 1
        record = StepRecord(step_id=f"author-{turns}", kind="llm", node_type="llm", started_at=datetime.now(timezone.utc),
                            params={"model": model, "protocol": "json-schema", "messages": len(messages)})
        t0 = time.perf_counter()
        try:
            reply = llm.complete(LLMRequest(model=model, messages=list(messages), temperature=0, max_tokens=max_tokens,
                                            response_format=fmt, step_id=record.step_id))
        except Exception as err:  # a provider error or a cassette miss ends the run, recorded as such
            record.error, record.action = f"{type(err).__name__}: {err}", "error"
            record.duration_ms = (time.perf_counter() - t0) * 1000
            steps.append(record)
            status, error = "error", record.error
            break
        record.duration_ms = (time.perf_counter() - t0) * 1000
        record.output = {"response": reply.text}
        record.llm = LLMUsage(model=reply.model, prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                              cached_tokens=reply.cached_tokens, cost_usd=reply.cost_usd, usage_source=reply.usage_source)  # type: ignore[arg-type]
        steps.append(record)
        messages.append({"role": "assistant", "content": reply.text})
        try:
            action = json.loads(reply.text)
            name = action.get("action") if isinstance(action, dict) else None
        except ValueError as err:
            action, name = None, None
            feedback = f"Your reply is not JSON ({err}). Reply with one JSON action."
        if name in ("list_servers", "search_tools", "get_tool_schema"):
            discoveries += 1
            args = {k: str(action[k]) for k in _DISCOVERY_ARGS[name] if k in action}
            found = StepRecord(step_id=f"discover-{discoveries}:{name}", kind="code", node_type=f"code-{name}", params=args,
                               started_at=datetime.now(timezone.utc))
            try:
                result = getattr(discovery, name)(**args)
                found.output, found.action = {"result": result}, "default"
                feedback = f"{name} returned: {_cut(result)}"
            except LookupError as err:
                found.error, found.action = str(err).strip("'\""), "error"
                feedback = f"{name} failed: {found.error}"
            steps.append(found)
        elif name == "submit":
            attempts += 1
            if approach == "ir":
                submitted, diagnostics = _parse_workflow(action.get("workflow_json"))
                diagnostics = diagnostics or check_workflow(submitted, task, schemas)
            else:
                submitted = action.get("script")
                diagnostics = check_code(submitted, task, schemas)
            steps.append(StepRecord(step_id=f"submit-{attempts}", kind="code", node_type="code-submit", started_at=datetime.now(timezone.utc),
                                    output={"diagnostics": diagnostics}, action="default" if not diagnostics else "error",
                                    error="; ".join(diagnostics[:MAX_FEEDBACK_LINES]) or None))
            if not diagnostics:
                status = "valid"
                artifact = json.dumps({"ir_version": "0.1.0", **submitted}, indent=2, ensure_ascii=False) + "\n" if approach == "ir" else submitted
                break
            shown = diagnostics[:MAX_FEEDBACK_LINES]
            more = f"\n(and {len(diagnostics) - len(shown)} more)" if len(diagnostics) > len(shown) else ""
            feedback = "flowtape rejected the submission:\n" + "\n".join(f"- {d}" for d in shown) + more + "\nFix these and submit again."
            status = "invalid"
        elif action is not None:
            feedback = f"Unknown action {json.dumps(name)}; use one of {', '.join(_ACTIONS)}."
        messages.append({"role": "user", "content": feedback})
        if log:
            log(f"{task.name} [{approach}] turn {turns}: {name or 'unreadable reply'}" + (f" ({len(diagnostics)} problems)" if name == "submit" and diagnostics else ""))
    trace = Trace(run_id=new_run_id(), task=task.name, case="(authoring)", approach=approach, workflow_hash="",
                  status=RunStatus.PASSED if status == "valid" else (RunStatus.ERROR if status == "error" else RunStatus.FAILED),
                  error=error or (None if status == "valid" else f"{status} after {attempts} submission(s) in {turns} turn(s)"),
                  started_at=started, duration_ms=(time.perf_counter() - clock) * 1000, steps=steps,
                  outputs={"artifact": artifact} if artifact else {})
    return AuthorResult(task.name, approach, model, status, attempts, turns, discoveries, trace, diagnostics, artifact)


def save_artifact(result: AuthorResult, task: Task) -> Path | None:
    """Write a valid artefact atomically to `authored_path`; returns the path (None: nothing valid)."""
    if result.artifact_text is None:
        return None
    path = authored_path(task, result.approach, result.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, result.artifact_text)
    result.artifact = path
    return path


def write_authoring_row(ledger: Path, result: AuthorResult, *, trace_path: Path | None, cassette: Path | None) -> None:
    """Add the run to the ledger's `authoring` table (created if missing): tokens as the
    provider reported them (`basis` measured), attempts, turns, the artefact."""
    from harness.accounting._schema import connect

    conn = connect(Path(ledger))
    try:
        conn.execute(AUTHORING_DDL)
        measured = all(s.llm.usage_source == "provider" for s in result.trace.steps if s.llm)
        conn.execute("INSERT INTO authoring VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            result.trace.run_id, result.task, result.approach, result.model, result.status, result.attempts, result.turns,
            result.discoveries, result.prompt_tokens, result.completion_tokens, result.cost_usd, "measured" if measured else "counted",
            str(result.artifact) if result.artifact else None, str(trace_path) if trace_path else None,
            str(cassette) if cassette else None, result.trace.started_at, "\n".join(result.diagnostics) or None])
    finally:
        conn.close()
