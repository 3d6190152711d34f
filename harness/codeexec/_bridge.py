"""The harness end of the tool bridge: answer a sandboxed script's calls and record each as a step.

Tool calls go through the run's `MCPClient` (so the cassette records or replays them exactly as
for the IR approach) under step ids `call-<n>:<server>.<tool>`; model calls through its
`LLMClient` as `call-<n>:llm` (n counts both, from 1). Discovery calls (`list_servers`,
`search_tools`, `get_tool_schema`) are answered from the tool lists and recorded as
`discover-<n>:<function>` steps whose output is what the script read, so accounting can count it.

    bridge = Bridge(tools, runtime)
    bridge({"op": "tool", "server": "time", "tool": "get_current_time", "arguments": {"timezone": "UTC"}})
    bridge.steps[-1].step_id   # "call-1:time.get_current_time"

A script may call in a loop, so each case has a budget: at most `max_calls` requests, and at most
`max_trace_bytes` of arguments and results kept in the trace (as JSON). The request that would
go over is not made: `LimitExceeded` stops the script and the run ends `limit`.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Any

from harness.codeexec._sandbox import LimitExceeded
from runner.clients import LLMRequest, MCPError, ToolCallResult, ToolInfo
from runner.executor import Runtime
from runner.nodes.llm import DEFAULT_MODEL
from runner.trace import LLMUsage, StepRecord, ToolUsage

__all__ = ["MAX_CALLS", "MAX_TRACE_BYTES", "Bridge", "script_value"]

MAX_CALLS = 1000  # requests of any kind per case
MAX_TRACE_BYTES = 32 << 20  # JSON of the calls' arguments and results kept per case

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)


class _Failed(Exception):
    """A call failed; `error_type` is the exception the script sees."""

    def __init__(self, message: str, error_type: str, output: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.error_type, self.output = error_type, output


def script_value(result: ToolCallResult) -> Any:
    """What a stub returns: the structured content when present, else the text (parsed when it
    is JSON); several content blocks give a list of such values."""
    if result.structured_content is not None:
        return result.structured_content
    values = [_maybe_json(b["text"]) if b.get("type") == "text" else b for b in result.content]
    return values[0] if len(values) == 1 else values


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class Bridge:
    """Answers one script's requests (the sandbox's `handler`); `steps` grows with each."""

    def __init__(self, tools: dict[str, list[ToolInfo]], runtime: Runtime, *, max_calls: int = MAX_CALLS,
                 max_trace_bytes: int = MAX_TRACE_BYTES) -> None:
        self.tools, self.runtime = tools, runtime
        self.max_calls, self.max_trace_bytes = max_calls, max_trace_bytes
        self.steps: list[StepRecord] = []
        self.calls = self.discoveries = self.requests = self.trace_bytes = 0

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request. Raises LimitExceeded when it would go over the case's budget."""
        if self.requests >= self.max_calls:
            raise LimitExceeded(f"the cap of {self.max_calls} tool, model and discovery calls per case was reached")
        size = len(json.dumps(request, ensure_ascii=False, default=str))
        if self.trace_bytes + size > self.max_trace_bytes:
            raise LimitExceeded(f"the next call would take the trace past {self.max_trace_bytes / (1 << 20):g} MB of "
                                "arguments and results, the cap per case")
        self.requests += 1
        self.trace_bytes += size
        reply = self._dispatch(request)
        self.trace_bytes += len(json.dumps(reply, ensure_ascii=False, default=str))
        return reply

    def _dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "tool":
            self.calls += 1
            server, tool, arguments = str(request.get("server")), str(request.get("tool")), request.get("arguments", {})
            record = StepRecord(step_id=f"call-{self.calls}:{server}.{tool}", kind="mcp", node_type=f"mcp-{server}-{tool}",
                                params=arguments if isinstance(arguments, dict) else {})
            return self._run(record, lambda: self._tool(record, server, tool, arguments))
        if op == "llm":
            self.calls += 1
            params = {k: request[k] for k in ("prompt", "system", "max_tokens", "temperature", "output_schema") if k in request}
            record = StepRecord(step_id=f"call-{self.calls}:llm", kind="llm", node_type="llm", params=params)
            return self._run(record, lambda: self._llm(record, params))
        if op in ("list_servers", "search_tools", "get_tool_schema"):
            self.discoveries += 1
            params = {k: v for k, v in request.items() if k != "op"}
            record = StepRecord(step_id=f"discover-{self.discoveries}:{op}", kind="code", node_type=f"code-{op}", params=params)
            return self._run(record, lambda: {"result": getattr(self, f"_{op}")(**params)})
        return {"error": f"unknown request {op!r}", "error_type": "RuntimeError"}

    def _run(self, record: StepRecord, call: Any) -> dict[str, Any]:
        """Make the call, fill `record` with its output or error, and build the script's answer."""
        record.started_at, started = datetime.now(timezone.utc), time.perf_counter()
        try:
            record.output, record.action = call(), "default"
            return {"result": record.output["response" if record.kind == "llm" else "result"]}
        except _Failed as err:
            record.error, record.action, record.output = str(err), "error", err.output
            return {"error": str(err), "error_type": err.error_type}
        except Exception as err:  # arguments of the wrong shape (TypeError), a bad schema, a bug
            record.error, record.action = f"{type(err).__name__}: {err}", "error"
            return {"error": record.error, "error_type": "LLMError" if record.kind == "llm" else "ToolError"}
        finally:
            record.duration_ms = (time.perf_counter() - started) * 1000
            self.steps.append(record)

    def _tool(self, record: StepRecord, server: str, tool: str, arguments: Any) -> dict[str, Any]:
        if not isinstance(arguments, dict):
            raise _Failed(f"{server}.{tool}: arguments must be an object, not {type(arguments).__name__}", "ToolError")
        if self.runtime.mcp is None:
            raise _Failed("no MCP client configured", "ToolError")
        try:
            res = self.runtime.mcp.call_tool(server, tool, arguments, step_id=record.step_id)
        except MCPError as err:
            raise _Failed(str(err), "ToolError") from None
        except Exception as err:  # a cassette miss, or a client bug: this call's failure, named
            raise _Failed(f"{type(err).__name__}: {err}", "ToolError") from None
        record.tool = ToolUsage(server=server, tool=tool, request_bytes=res.request_bytes, result_bytes=res.result_bytes, is_error=res.is_error)
        if res.is_error:
            text = " ".join(b.get("text", "") for b in res.content if b.get("type") == "text")
            raise _Failed(f"{server}.{tool} returned an error: {text[:500]}", "ToolError", {"error": text})
        return {"result": script_value(res)}

    def _llm(self, record: StepRecord, params: dict[str, Any]) -> dict[str, Any]:
        if self.runtime.llm is None:
            raise _Failed("no LLM client configured", "LLMError")
        prompt, schema = params.get("prompt"), params.get("output_schema")
        messages = ([{"role": "system", "content": str(params["system"])}] if params.get("system") else [])
        messages.append({"role": "user", "content": prompt if isinstance(prompt, str) else json.dumps(prompt)})
        request = LLMRequest(
            model=self.runtime.default_model or DEFAULT_MODEL, messages=messages, temperature=params.get("temperature"),
            max_tokens=params.get("max_tokens"), step_id=record.step_id,
            response_format={"type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": True}} if schema else None)
        try:
            reply = self.runtime.llm.complete(request)
        except Exception as err:  # a provider error of any kind is this call's failure
            raise _Failed(f"model call failed: {err}", "LLMError") from None
        record.llm = LLMUsage(model=reply.model, prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                              cached_tokens=reply.cached_tokens, cost_usd=reply.cost_usd, usage_source=reply.usage_source)  # type: ignore[arg-type]
        return {"response": _contract(reply.text, schema) if schema else reply.text}

    def _list_servers(self) -> list[str]:
        return list(self.tools)

    def _search_tools(self, query: str) -> list[str]:
        words = str(query).lower().split()
        return [f"{server}.{t.name}: {(t.description.strip().splitlines() or [''])[0]}"
                for server, infos in self.tools.items() for t in infos
                if all(w in f"{server}.{t.name} {t.description}".lower() for w in words)]

    def _get_tool_schema(self, server: str, tool: str) -> dict[str, Any]:
        if server not in self.tools:
            raise _Failed(f"unknown MCP server {server!r} (servers: {', '.join(self.tools) or 'none'})", "ToolError")
        for info in self.tools[server]:
            if info.name == tool:
                return info.input_schema
        raise _Failed(f"server {server!r} has no tool {tool!r}", "ToolError")


def _contract(text: str, schema: dict[str, Any]) -> Any:
    """The reply parsed and checked against `output_schema`, as the IR `llm` node does."""
    import jsonschema

    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except ValueError as err:
        raise _Failed(f"output_schema: reply is not JSON ({err})", "LLMError", {"response": text}) from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise _Failed(f"output_schema: reply violates the schema at {where}: {error.message}", "LLMError", {"response": text})
    return value
