"""The sandbox side of the tool bridge; copied into the generated package as `flowtape_tools/_rpc.py`.

It runs inside the sandbox, under `-I`, so it uses only the standard library. Every call is one
JSON line written to the harness and one JSON line read back, over the pipe pair whose fd
numbers are in `FLOWTAPE_RPC_FDS`. The harness makes the real call (MCP tool, model, or a
discovery lookup), records it as a step, and answers `{"result": ...}` or
`{"error": "...", "error_type": "ToolError"}`, raised here as that exception.

    from flowtape_tools import time, ToolError
    try:
        time.convert_time("UTC", "12:00", "Asia/Tokyo")
    except ToolError as err:
        print("the tool said:", err)
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

__all__ = ["LLMError", "ToolError", "call_tool", "get_tool_schema", "list_servers", "llm", "search_tools"]


class ToolError(RuntimeError):
    """A tool reported an error (`isError`), or the call could not be made; the message says why."""

    __module__ = "flowtape_tools"  # as tracebacks name it: flowtape_tools.ToolError


class LLMError(RuntimeError):
    """A model call failed, or its reply broke the `output_schema` it was asked to follow."""

    __module__ = "flowtape_tools"


_ERRORS: dict[str, type[Exception]] = {"ToolError": ToolError, "LLMError": LLMError}
_lock = threading.Lock()  # one request in flight at a time, so script threads may share it
_channel: tuple[Any, Any] | None = None


def _request(op: str, **fields: Any) -> Any:
    global _channel
    line = (json.dumps({"op": op, **fields}, ensure_ascii=False) + "\n").encode()
    with _lock:
        if _channel is None:
            spec = os.environ.get("FLOWTAPE_RPC_FDS")
            if not spec:
                raise RuntimeError("flowtape_tools works only inside flowtape's code sandbox (FLOWTAPE_RPC_FDS is not set)")
            answers, requests = (int(fd) for fd in spec.split(","))
            _channel = (os.fdopen(answers, "rb"), os.fdopen(requests, "wb"))
        reader, writer = _channel
        writer.write(line)
        writer.flush()
        reply = reader.readline()
    if not reply:
        raise RuntimeError("the harness closed the tool channel")
    data = json.loads(reply)
    if "error" in data:
        raise _ERRORS.get(data.get("error_type", ""), RuntimeError)(data["error"])
    return data.get("result")


def call_tool(server: str, tool: str, arguments: dict[str, Any] | None = None) -> Any:
    """Call `tool` of `server` by its MCP names. Returns the structured content when the tool
    sends one, else its text (parsed when it is JSON). Raises ToolError."""
    return _request("tool", server=server, tool=tool, arguments=dict(arguments or {}))


def llm(prompt: str, *, system: str | None = None, max_tokens: int | None = None,
        temperature: float | None = None, output_schema: dict[str, Any] | None = None) -> Any:
    """Ask the run's model. Returns its text, or with `output_schema` (a JSON schema) the
    parsed JSON value that satisfies it. Raises LLMError."""
    options = {"system": system, "max_tokens": max_tokens, "temperature": temperature, "output_schema": output_schema}
    return _request("llm", prompt=prompt, **{k: v for k, v in options.items() if v is not None})


def list_servers() -> list[str]:
    """The MCP servers this run can call."""
    return _request("list_servers")


def search_tools(query: str) -> list[str]:
    """Tools whose name or description contains every word of `query` (case-insensitive), as
    `"server.tool: first line of its description"`."""
    return _request("search_tools", query=query)


def get_tool_schema(server: str, tool: str) -> dict[str, Any]:
    """The JSON schema of one tool's arguments. Raises ToolError for an unknown server or tool."""
    return _request("get_tool_schema", server=server, tool=tool)
