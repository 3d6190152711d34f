"""Direct tool calling: a model that calls MCP tools itself, turn by turn, until it answers.

The loop runs over the runner's two client protocols, so with the harness's cassette clients it
records and replays like a workflow does. Each model turn is one `LLMClient.complete` (step
`turn-<n>`, kind `llm`), each tool call one `MCPClient.call_tool` (step
`turn-<n>:<server>.<tool>`, kind `mcp`); the final answer's fields are the trace's outputs.

    config = AgentConfig(model="openai/smollm2", request="Convert 09:30 from Europe/Lisbon to Asia/Tokyo",
                         outputs={"difference": {"type": "string"}})
    trace = run_agent(config, llm, mcp)
    trace.status, trace.outputs, [s.step_id for s in trace.steps]

Protocols (`AgentConfig.protocol`, written into every turn's params):

- `json-schema` (the default): each turn asks for a JSON reply under a `response_format` schema,
  `{"anyOf": [{"tool": <const name>, "arguments": <the tool's input schema>}, ...,
  {"final": {<declared outputs>}}]}`. Servers that constrain output with a grammar (llama.cpp)
  can then only produce a well-formed call or answer; the tool catalog is written into the
  system message, so its tokens are in every turn's measured prompt, as provider-rendered tool
  definitions would be.
- `native`: OpenAI function tools (`tools`, `tool_calls`); the answer is a call of the function
  `final_answer` whose parameters are the declared outputs.

Whatever the model gets wrong (a reply that is not JSON, an unknown tool, arguments that break
the tool's schema, an answer missing an output) goes back to it as an error message and costs a
turn; the run fails with the reason when `max_turns` turns bring no valid answer. A provider
error, a tool listing that fails, or a call the client cannot make for reasons other than the
server's answer (a cassette miss) ends the run as `error`: the run could not complete.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from runner.clients import LLMClient, LLMRequest, LLMResponse, MCPClient, MCPError, ToolCallResult, ToolInfo
from runner.trace import LLMUsage, RunStatus, StepRecord, ToolUsage, Trace

__all__ = [
    "FINAL_TOOL",
    "PROTOCOLS",
    "AgentConfig",
    "AgentTool",
    "function_tools",
    "list_agent_tools",
    "run_agent",
    "turn_schema",
]

PROTOCOLS = ("json-schema", "native")
FINAL_TOOL = "final_answer"  # the native protocol's answer, offered as one more function

DEFAULT_SYSTEM = "You complete the user's task by calling tools, then give the final answer."


@dataclass(frozen=True)
class AgentTool:
    """One tool offered to the model: `<server>.<tool>` (`<server>__<tool>` as a native function,
    whose names allow no dot)."""

    server: str
    info: ToolInfo

    @property
    def name(self) -> str:
        return f"{self.server}.{self.info.name}"

    @property
    def function_name(self) -> str:
        return f"{self.server}__{self.info.name}"


@dataclass(frozen=True)
class AgentConfig:
    """What one agent run is given.

    Args:
        model: the litellm model name.
        request: the task, as the user's message.
        outputs: the final answer's fields, name -> JSON schema (`{}` for any value).
        system: the system message's opening (default `DEFAULT_SYSTEM`); the protocol's
            instructions and, for `json-schema`, the tool catalog follow it.
        max_turns: model turns before the run fails for want of an answer.
        protocol: `json-schema` or `native` (see the module docstring).
        max_tokens: completion limit per turn (a grammar-constrained small model can ramble).
        max_result_chars: a tool result's text is cut to this many characters before the model
            reads it, with a note saying so (the trace keeps the whole result); None: never.
        max_context_chars: the run stops (failed) before a turn whose messages would exceed
            this many characters, rather than overflow the model's context; None: no limit.
    """

    model: str
    request: str
    outputs: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    system: str | None = None
    max_turns: int = 8
    protocol: str = "json-schema"
    temperature: float | None = 0.0
    max_tokens: int | None = 512
    max_result_chars: int | None = 4000
    max_context_chars: int | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol {self.protocol!r}: not one of {', '.join(PROTOCOLS)}")
        if self.max_turns < 1:
            raise ValueError("max_turns must be at least 1")

    def digest(self) -> str:
        """The trace's `workflow_hash` for this configuration (`sha256:` + 16 hex, as the IR's)."""
        text = json.dumps({k: v for k, v in self.__dict__.items()}, sort_keys=True, default=str)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def list_agent_tools(mcp: MCPClient, servers: Sequence[str] | None = None) -> list[AgentTool]:
    """Every tool of `servers` (default: all the client's), in server then listing order."""
    names = list(servers) if servers is not None else mcp.servers()
    return [AgentTool(server, info) for server in names for info in mcp.list_tools(server)]


def outputs_schema(outputs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The final answer as one object: every declared output required, nothing else."""
    return {"type": "object", "properties": {k: dict(v) for k, v in outputs.items()}, "required": list(outputs),
            "additionalProperties": False}


def _arguments_schema(info: ToolInfo) -> dict[str, Any]:
    schema = dict(info.input_schema or {})
    schema.pop("$schema", None)  # a meta-schema URL is no constraint (and llama.cpp's converter trips on some)
    return schema or {"type": "object"}


def turn_schema(tools: Sequence[AgentTool], outputs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The JSON schema of one reply under the `json-schema` protocol: a call of one of `tools`
    (its name a constant, its arguments under the tool's own input schema) or the final answer.
    `anyOf` of objects with `required` keys and a constant name is what llama.cpp's
    schema-to-grammar converter turns into a grammar (checked against the real server)."""
    variants: list[dict[str, Any]] = [
        {"type": "object", "properties": {"tool": {"const": t.name}, "arguments": _arguments_schema(t.info)},
         "required": ["tool", "arguments"], "additionalProperties": False}
        for t in tools
    ]
    variants.append({"type": "object", "properties": {"final": outputs_schema(outputs)}, "required": ["final"],
                     "additionalProperties": False})
    return {"anyOf": variants}


def function_tools(tools: Sequence[AgentTool], outputs: Mapping[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """`tools` as OpenAI function tools (name `<server>__<tool>`, the description, the input
    schema as parameters), plus `final_answer` over `outputs` when they are given."""
    functions = [{"type": "function", "function": {"name": t.function_name, "description": t.info.description,
                                                   "parameters": _arguments_schema(t.info)}} for t in tools]
    if outputs is not None:
        functions.append({"type": "function", "function": {
            "name": FINAL_TOOL, "description": "Give the final answer; call it once, when the task is done.",
            "parameters": outputs_schema(outputs)}})
    return functions


def _catalog(tools: Sequence[AgentTool], outputs: Mapping[str, dict[str, Any]]) -> str:
    lines = ['Answer every turn with one JSON object: {"tool": "<name>", "arguments": {...}} to call a tool '
             '(its result comes back in the next message), or {"final": {...}} with the answer when the task is done.',
             "", "Tools:"]
    for t in tools:
        lines.append(f"- {t.name}: {' '.join(t.info.description.split())}")
        lines.append(f"  arguments: {_compact(_arguments_schema(t.info))}")
    lines += ["", "The final answer's fields:"]
    for name, schema in outputs.items():
        lines.append(f"- {name}: {_compact(schema)}")
    return "\n".join(lines)


def _compact(value: Any) -> str:
    # Keys sorted: a recording stores the schemas with sorted keys, and the text must not change
    # between a live listing and a replayed one.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def result_text(result: ToolCallResult) -> str:
    """What the model reads of a tool result: the text of its content blocks, once, joined by
    newlines (a non-text block as compact JSON; `Error: ` before an error result). The structured
    copy some servers send beside the text is not read again."""
    parts = [b["text"] if b.get("type") == "text" and isinstance(b.get("text"), str)
             else json.dumps(b, separators=(",", ":"), ensure_ascii=False) for b in result.content]
    return "\n".join(parts)


class _Invalid(ValueError):
    """The model's reply is not a usable call or answer; the message goes back to it."""


@dataclass
class _Call:
    tool: AgentTool | None  # None: the final answer
    arguments: dict[str, Any]
    call_id: str | None = None  # the native protocol's tool_call id


class _Run:
    def __init__(self, config: AgentConfig, llm: LLMClient, mcp: MCPClient, tools: list[AgentTool], trace: Trace,
                 stored: Callable[[str], str]) -> None:
        self.config, self.llm, self.mcp, self.tools, self.trace, self.stored = config, llm, mcp, tools, trace, stored
        self.by_name = {t.name: t for t in tools}
        self.by_function = {t.function_name: t for t in tools}
        native = config.protocol == "native"
        system = config.system or DEFAULT_SYSTEM
        if not native:
            system += "\n\n" + _catalog(tools, config.outputs)
        else:
            system += f"\n\nWhen the task is done, call {FINAL_TOOL} with the answer."
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": config.request}]
        self.response_format = None if native else {"type": "json_schema", "json_schema": {
            "name": "turn", "schema": turn_schema(tools, config.outputs), "strict": True}}
        self.functions = function_tools(tools, config.outputs) if native else None

    def go(self) -> None:
        config, trace = self.config, self.trace
        for turn in range(1, config.max_turns + 1):
            size = sum(len(self.stored(_text_of(m))) for m in self.messages)
            if config.max_context_chars is not None and size > config.max_context_chars:
                trace.status = RunStatus.FAILED
                trace.error = (f"stopped before turn {turn}: the conversation is {size:,} characters, over max_context_chars "
                               f"({config.max_context_chars:,}); no final answer")
                return
            record = StepRecord(step_id=f"turn-{turn}", kind="llm", node_type="agent-turn", started_at=_now(),
                                params={"protocol": config.protocol, "model": config.model, "turn": turn,
                                        "messages": len(self.messages), "context_chars": size})
            started = time.perf_counter()
            request = LLMRequest(model=config.model, messages=[dict(m) for m in self.messages], temperature=config.temperature,
                                 max_tokens=config.max_tokens, response_format=self.response_format, timeout=config.timeout,
                                 step_id=record.step_id, tools=self.functions)
            try:
                reply = self.llm.complete(request)
            except Exception as err:  # a provider error, a cassette miss: the run cannot go on
                record.error, record.action = f"model call failed: {type(err).__name__}: {err}", "error"
                record.duration_ms = (time.perf_counter() - started) * 1000
                trace.steps.append(record)
                trace.status, trace.error = RunStatus.ERROR, f"turn {turn}: {record.error}"
                return
            record.duration_ms = (time.perf_counter() - started) * 1000
            record.llm = LLMUsage(model=reply.model, prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                                  cached_tokens=reply.cached_tokens, cost_usd=reply.cost_usd,
                                  usage_source=reply.usage_source)  # type: ignore[arg-type]
            record.output = {"response": reply.text, **({"tool_calls": list(reply.tool_calls)} if reply.tool_calls else {})}
            trace.steps.append(record)
            try:
                calls = self._parse(reply)
            except _Invalid as err:
                record.action, record.error = "invalid", str(err)
                self._reply_with_error(reply, str(err))
                continue
            final = next((c for c in calls if c.tool is None), None)
            if final is not None:
                record.action = "final"
                trace.outputs = final.arguments
                return
            record.action = "tool"
            self._assistant(reply)
            seen: dict[str, int] = {}
            for call in calls:
                assert call.tool is not None
                step_id = f"turn-{turn}:{call.tool.name}"
                seen[step_id] = seen.get(step_id, 0) + 1
                if seen[step_id] > 1:
                    step_id += f"#{seen[step_id]}"
                fed = self._call(step_id, call)
                if fed is None:
                    return  # the run could not go on; the trace says why
                self._tool_message(call, fed)
        trace.status = RunStatus.FAILED
        last = next((s for s in reversed(trace.steps) if s.kind == "llm"), None)
        why = f" (the last turn: {last.error})" if last is not None and last.error else ""
        trace.error = f"no final answer after {config.max_turns} turns (max_turns){why}"

    # -- the model's reply -------------------------------------------------------------------

    def _parse(self, reply: LLMResponse) -> list[_Call]:
        if self.config.protocol == "native":
            return self._parse_native(reply)
        try:
            value = json.loads(reply.text)
        except ValueError as err:
            raise _Invalid(f"your reply is not JSON ({err}); answer with one JSON object") from None
        if not isinstance(value, dict):
            raise _Invalid("your reply must be a JSON object")
        if "final" in value:
            if set(value) != {"final"}:
                raise _Invalid('a final answer is {"final": {...}} and nothing else')
            return [_Call(None, self._check_final(value["final"]))]
        if "tool" not in value:
            raise _Invalid('answer with {"tool": "<name>", "arguments": {...}} or {"final": {...}}')
        name = value["tool"]
        tool = self.by_name.get(name) if isinstance(name, str) else None
        if tool is None:
            raise _Invalid(f"unknown tool {name!r}; the tools are: {', '.join(self.by_name) or 'none'}")
        return [_Call(tool, self._check_arguments(tool, value.get("arguments", {})))]

    def _parse_native(self, reply: LLMResponse) -> list[_Call]:
        if not reply.tool_calls:
            raise _Invalid(f"call a tool, or {FINAL_TOOL} with the answer")
        calls = []
        for raw in reply.tool_calls:
            function = raw.get("function") or {}
            name, text = function.get("name"), function.get("arguments") or "{}"
            try:
                arguments = json.loads(text) if isinstance(text, str) else text
            except ValueError as err:
                raise _Invalid(f"the arguments of {name} are not JSON ({err})") from None
            if name == FINAL_TOOL:
                return [_Call(None, self._check_final(arguments), raw.get("id"))]
            tool = self.by_function.get(name) if isinstance(name, str) else None
            if tool is None:
                raise _Invalid(f"unknown tool {name!r}; the tools are: {', '.join([*self.by_function, FINAL_TOOL])}")
            calls.append(_Call(tool, self._check_arguments(tool, arguments), raw.get("id")))
        return calls

    def _check_arguments(self, tool: AgentTool, arguments: Any) -> dict[str, Any]:
        if not isinstance(arguments, dict):
            raise _Invalid(f"the arguments of {tool.name} must be a JSON object")
        problem = _violation(arguments, _arguments_schema(tool.info))
        if problem:
            raise _Invalid(f"wrong arguments for {tool.name}: {problem}")
        return arguments

    def _check_final(self, answer: Any) -> dict[str, Any]:
        problem = _violation(answer, outputs_schema(self.config.outputs))
        if problem:
            raise _Invalid(f"the final answer does not fit its schema: {problem}")
        return dict(answer)

    # -- messages ----------------------------------------------------------------------------

    def _assistant(self, reply: LLMResponse) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text if reply.text or not reply.tool_calls else None}
        if reply.tool_calls:
            message["tool_calls"] = list(reply.tool_calls)
        self.messages.append(message)

    def _reply_with_error(self, reply: LLMResponse, error: str) -> None:
        self._assistant(reply)
        if self.config.protocol == "native" and reply.tool_calls:
            # Every tool call of an assistant message needs its answer, or the provider refuses the next turn.
            for raw in reply.tool_calls:
                self.messages.append({"role": "tool", "tool_call_id": raw.get("id"), "content": f"Error: {error}"})
        else:
            self.messages.append({"role": "user", "content": f"Error: {error}"})

    def _tool_message(self, call: _Call, fed: str) -> None:
        # json-schema: the result is a user message naming the tool (the protocol has no tool
        # role); native: a `tool` message answering the call's id.
        if self.config.protocol == "native":
            self.messages.append({"role": "tool", "tool_call_id": call.call_id, "content": fed})
        else:
            assert call.tool is not None
            self.messages.append({"role": "user", "content": f"Result of {call.tool.name}:\n{fed}"})

    # -- tool calls --------------------------------------------------------------------------

    def _call(self, step_id: str, call: _Call) -> str | None:
        """Make the call and return the text the model reads, or None when the run must stop."""
        tool = call.tool
        assert tool is not None
        record = StepRecord(step_id=step_id, kind="mcp", node_type=f"mcp-{tool.server}-{tool.info.name}",
                            params=dict(call.arguments), started_at=_now())
        started = time.perf_counter()
        try:
            result = self.mcp.call_tool(tool.server, tool.info.name, call.arguments, step_id=step_id)
        except MCPError as err:  # the server answered with a protocol error: the model reads it
            record.error, record.action = str(err), "error"
            record.duration_ms = (time.perf_counter() - started) * 1000
            self.trace.steps.append(record)
            return f"Error: {err}"
        except Exception as err:  # a cassette miss, a client bug: not the model's doing
            record.error, record.action = f"{type(err).__name__}: {err}", "error"
            record.duration_ms = (time.perf_counter() - started) * 1000
            self.trace.steps.append(record)
            self.trace.status, self.trace.error = RunStatus.ERROR, f"{step_id}: {record.error}"
            return None
        record.duration_ms = (time.perf_counter() - started) * 1000
        record.tool = ToolUsage(server=tool.server, tool=tool.info.name, request_bytes=result.request_bytes,
                                result_bytes=result.result_bytes, is_error=result.is_error)
        text = result_text(result)
        limit = self.config.max_result_chars
        fed, total = text, len(self.stored(text))
        cut = limit is not None and total > limit
        if cut:
            fed = _cut(text, limit, self.stored) + f"\n[flowtape: result cut to {limit:,} of its {total:,} characters (max_result_chars)]"
        if result.is_error:
            fed = f"Error: {fed}"
        # The whole result stays in the trace (as the server sent it; accounting counts its
        # text); what the model read of it is said beside it.
        record.output = {"content": result.content,
                         **({"structured_content": result.structured_content} if result.structured_content is not None else {}),
                         "read": {"chars": total, "cut_at": limit if cut else None}}
        if result.is_error:
            record.action, record.error = "error", f"{tool.name} returned an error: {text[:500]}"
        else:
            record.action = "default"
        self.trace.steps.append(record)
        return fed


def run_agent(config: AgentConfig, llm: LLMClient, mcp: MCPClient, *, servers: Sequence[str] | None = None,
              tools: Sequence[AgentTool] | None = None, task: str | None = None, case: str | None = None,
              inputs: Mapping[str, Any] | None = None, source: str | None = None, workflow_hash: str | None = None,
              stored: Callable[[str], str] | None = None) -> Trace:
    """Run the agent loop and return its trace (`approach="direct"`).

    Args:
        config: the model, request, declared outputs and limits.
        llm, mcp: the clients every turn and every call goes through.
        servers: the servers whose tools are offered (default: all of `mcp`'s); ignored when
            `tools` is given.
        tools: the tools to offer, already listed.
        task, case, inputs, source: written into the trace.
        workflow_hash: the trace's hash (default: `config.digest()`).
        stored: a text as it is stored, machine-independent (the harness passes its cassette
            normalizer: fixture paths as placeholders, timestamps masked). The size limits
            (`max_result_chars`, `max_context_chars`) measure this form, so a replay on another
            machine cuts and stops exactly where the recording did. Default: the text itself.

    Returns:
        `passed` with the answer as outputs; `failed` when no valid answer came within
        `max_turns` (or the context budget ran out); `error` when the run could not go on (the
        tools could not be listed, a model call failed, a tool call could not be made).
    """
    trace = Trace(run_id=_new_run_id(), task=task, case=case, approach="direct", workflow=source or "direct",
                  workflow_hash=workflow_hash or config.digest(), status=RunStatus.PASSED, inputs=dict(inputs or {}))
    started = time.perf_counter()
    try:
        try:
            offered = list(tools) if tools is not None else list_agent_tools(mcp, servers)
        except Exception as err:  # a server that will not start, a cassette miss: nothing ran
            trace.status, trace.error = RunStatus.ERROR, f"listing the tools failed: {type(err).__name__}: {err}"
            return trace
        _Run(config, llm, mcp, offered, trace, stored or _same).go()
        return trace
    finally:
        trace.duration_ms = (time.perf_counter() - started) * 1000


def _violation(value: Any, schema: dict[str, Any]) -> str | None:
    """The first way `value` breaks `schema`, in one line, or None."""
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except jsonschema.SchemaError as err:
        return f"the schema is invalid: {err.message}"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"at {where}: {error.message}"[:500]


def _text_of(message: dict[str, Any]) -> str:
    return (message.get("content") or "") + (json.dumps(message["tool_calls"]) if message.get("tool_calls") else "")


def _cut(text: str, limit: int, stored: Callable[[str], str]) -> str:
    """The first whole lines of `text` whose stored form fits in `limit` characters (the first
    line cut by characters when even it does not fit). Whole lines, so a machine-specific path
    is never split and the cut falls at the same place on every machine."""
    kept, size = [], 0
    for line in text.split("\n"):
        length = len(stored(line)) + (1 if kept else 0)
        if size + length > limit:
            break
        kept.append(line)
        size += length
    return "\n".join(kept) if kept else text[:limit]


def _same(text: str) -> str:
    return text


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _new_run_id() -> str:
    from runner.executor import new_run_id

    return new_run_id()
