"""The live `MCPClient`: real MCP servers over stdio or streamable HTTP, via the official SDK.

The SDK is async and its transports hold anyio task groups that must be exited by the task
that entered them, while the runner is synchronous. So one asyncio loop runs in a daemon
thread, and each server gets a long-lived task there that opens its transport and session,
hands the session out, and holds it until `close()`. `mcp` is imported lazily so that code
which only reads configs (the CLI) never pays for, or depends on, the SDK.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import os
import re
import shlex
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.clients import MCPError, ToolCallResult, ToolInfo

if TYPE_CHECKING:
    import asyncio

__all__ = ["LiveMCPClient", "MCPConfigError", "ServerConfig", "as_tool_call_result", "json_size", "load_mcp_config", "parse_mcp_config"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MCPConfigError(ValueError):
    """An unreadable or malformed MCP config; the message is one line naming file and place."""


@dataclass(frozen=True)
class ServerConfig:
    """One entry of `mcpServers`: a stdio command (`transport="stdio"`) or an HTTP `url`."""

    name: str
    transport: str  # "stdio" or "http" (streamable HTTP)
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """How the server is reached, for error messages."""
        if self.transport == "stdio":
            return f"command: {shlex.join([self.command or '', *self.args])}"
        return f"url: {self.url}"


def load_mcp_config(path: Path) -> dict[str, ServerConfig]:
    """Read a pflow-style `{"mcpServers": {...}}` file; raises `MCPConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MCPConfigError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MCPConfigError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return parse_mcp_config(data, source=str(path))


def parse_mcp_config(data: Any, source: str = "<config>") -> dict[str, ServerConfig]:
    """Validate an already-decoded config; `source` names it in error messages."""

    def fail(place: str, problem: str) -> MCPConfigError:
        return MCPConfigError(f"{source}: {place}: {problem}" if place else f"{source}: {problem}")

    def strings(value: Any, place: str) -> dict[str, str]:
        """A string map with `${VAR}` / `${VAR:-default}` expanded from the process environment."""
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise fail(place, "must be an object of strings")

        def expand(key: str, match: re.Match[str]) -> str:
            if (found := os.environ.get(match[1], match[2])) is None:
                raise fail(f"{place}.{key}", f"environment variable {match[1]} is not set")
            return found

        return {k: _VAR.sub(lambda m, k=k: expand(k, m), v) for k, v in value.items()}

    if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
        raise fail("", 'needs a "mcpServers" object at the top level')
    configs: dict[str, ServerConfig] = {}
    for name, entry in data["mcpServers"].items():
        place = f"mcpServers.{name}"
        if not isinstance(entry, dict):
            raise fail(place, "must be an object")
        command, url, kind = entry.get("command"), entry.get("url"), entry.get("type")
        if (command is None) == (url is None):
            raise fail(place, 'needs "command" or "url"' + (", not both" if command is not None else ""))
        if kind not in (None, "stdio", "http", "streamable-http"):
            raise fail(f"{place}.type", f'unsupported transport {kind!r} (use "stdio" or "http")')
        if kind is not None and (kind == "stdio") != (command is not None):
            raise fail(f"{place}.type", f"{kind!r} needs " + ('"command"' if kind == "stdio" else '"url"'))
        if command is not None:
            if not isinstance(command, str) or not command.strip():
                raise fail(f"{place}.command", "must be a non-empty string")
            args, cwd = entry.get("args", []), entry.get("cwd")
            if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
                raise fail(f"{place}.args", "must be a list of strings")
            if cwd is not None and not isinstance(cwd, str):
                raise fail(f"{place}.cwd", "must be a string")
            env = strings(entry.get("env", {}), f"{place}.env")
            configs[name] = ServerConfig(name, "stdio", command=command, args=tuple(args), env=env, cwd=cwd)
        else:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise fail(f"{place}.url", "must be an http(s) URL")
            configs[name] = ServerConfig(name, "http", url=url, headers=strings(entry.get("headers", {}), f"{place}.headers"))
    return configs


def _one_line(exc: BaseException) -> str:
    """The innermost meaningful error, on one line (task groups wrap errors in groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text, kind = " ".join(str(exc).split()), type(exc).__name__
    if kind == "MCPError" and text:  # ours or the SDK's JSON-RPC error: the message says it all
        return text
    return f"{kind}: {text}" if text else kind


def json_size(value: Any) -> int:
    """Bytes of the compact JSON the SDK puts on the wire (UTF-8, non-ASCII unescaped)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def as_tool_call_result(tool: str, arguments: dict[str, Any], result: Any,
                        sized: Callable[[Any], Any] | None = None) -> ToolCallResult:
    """The runner's view of an SDK `CallToolResult`, with the sizes of request and result.

    The result is sized as it arrived: only the fields the server sent (`exclude_unset`), not the
    defaults the SDK's model fills in (`isError: false`, `resultType`). `sized` maps the request
    and result to the form they are sized in (a cassette sizes its stored form, so a fixture path
    counts as `${FIXTURES}` on every machine); default: as they are.
    """
    form = sized or (lambda value: value)
    return ToolCallResult(
        content=[block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content],
        structured_content=result.structured_content,
        is_error=bool(result.is_error),
        request_bytes=json_size(form({"name": tool, "arguments": arguments})),
        result_bytes=json_size(form(result.model_dump(mode="json", by_alias=True, exclude_unset=True))),
    )


@dataclass
class _Connection:
    session: Any
    stop: Any  # anyio.Event, set from the loop thread
    task: concurrent.futures.Future[None]


class LiveMCPClient:
    """Synchronous `MCPClient` over real servers; sessions start on first use and live until `close()`.

    Args:
        configs: Servers by name, e.g. from `load_mcp_config`.
        startup_timeout: Seconds a server gets to start and answer `initialize`.
        call_timeout: Seconds a `tools/list` or `tools/call` may take (None: no limit).
    """

    def __init__(self, configs: Mapping[str, ServerConfig], *, startup_timeout: float = 30.0,
                 call_timeout: float | None = 300.0) -> None:
        self._configs = dict(configs)
        self._startup_timeout, self._call_timeout = startup_timeout, call_timeout
        self._connections: dict[str, _Connection] = {}
        self._tools: dict[str, list[ToolInfo]] = {}
        self._stderr: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def servers(self) -> list[str]:
        return list(self._configs)

    def list_tools(self, server: str) -> list[ToolInfo]:
        if server not in self._tools:
            from mcp.types import PaginatedRequestParams

            session, tools, cursor = self._session(server), [], None
            while True:  # follow pagination: the runner needs every tool to resolve node names
                params = PaginatedRequestParams(cursor=cursor) if cursor else None
                page = self._call(server, "tools/list", session.list_tools(params=params))
                tools += [ToolInfo(t.name, t.description or "", dict(t.input_schema)) for t in page.tools]
                if not (cursor := page.next_cursor):
                    break
            self._tools[server] = tools
        return list(self._tools[server])

    def call_tool(self, server: str, tool: str, arguments: dict[str, Any], *,
                  step_id: str | None = None) -> ToolCallResult:
        session = self._session(server)
        # A misspelt tool is an error before the call: some servers answer an unknown tool with
        # ordinary text ("Error: Unknown tool"), which would pass as a result.
        names = [t.name for t in self.list_tools(server)]
        if names and tool not in names:
            from runner._hints import did_you_mean

            raise MCPError(f"server '{server}' has no tool '{tool}'{did_you_mean(tool, names)} (its tools: {', '.join(names[:20])}"
                           + (", ..." if len(names) > 20 else "") + ")")
        result = self._call(server, f"tools/call {tool}", session.call_tool(tool, arguments))
        return as_tool_call_result(tool, arguments, result, self.sized_form)

    def sized_form(self, value: Any) -> Any:
        """Hook for subclasses: the form a call's request and result are sized in (see
        `as_tool_call_result`); as they are here."""
        return value

    def wrap_streams(self, server: str, read: Any, write: Any) -> tuple[Any, Any]:
        """Hook for subclasses (recording) to wrap the transport streams; identity here.

        Called on the client's event-loop thread, once per server start, with the streams the
        transport yielded (`SessionMessage | Exception` in, `SessionMessage` out); the returned
        pair must implement the SDK's `ReadStream` / `WriteStream` protocols.
        """
        return read, write

    def close(self) -> None:
        """Stop every session and server process, then the loop thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections, self._connections = list(self._connections.values()), {}
            self._tools.clear()
        loop = self._loop
        if loop is None:
            return
        for conn in connections:
            loop.call_soon_threadsafe(conn.stop.set)
        for conn in connections:  # each stdio shutdown is bounded (~6 s worst case) by the SDK
            concurrent.futures.wait([conn.task], timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=15)

    def __enter__(self) -> LiveMCPClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _call(self, server: str, what: str, coro: Any) -> Any:
        """Run a session coroutine on the loop; every failure becomes a one-line `MCPError`."""
        import asyncio

        assert self._loop is not None
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result()
        except Exception as exc:
            raise MCPError(f"MCP server {server!r}: {what} failed: {_one_line(exc)}") from exc

    def _session(self, server: str) -> Any:
        if server not in self._configs:
            known = ", ".join(sorted(self._configs)) or "none"
            raise MCPError(f"unknown MCP server {server!r} (configured: {known})")
        with self._lock:
            if self._closed:
                raise MCPError("the MCP client is closed")
            if server not in self._connections:
                self._connections[server] = self._start(self._configs[server])
            return self._connections[server].session

    def _start(self, config: ServerConfig) -> _Connection:
        import asyncio  # here, not at the top: reading a server config or replaying needs no event loop (~0.05 s)

        import mcp  # noqa: F401  (the first import is slow; keep it off the event loop)

        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._run_loop, name="flowtape-mcp", daemon=True)
            self._thread.start()
        ready: concurrent.futures.Future[tuple[Any, Any]] = concurrent.futures.Future()
        task = asyncio.run_coroutine_threadsafe(self._hold(config, ready), self._loop)
        try:  # _hold enforces the deadline itself; the margin only guards against a wedged loop
            session, stop = ready.result(timeout=self._startup_timeout + 15)
        except Exception as exc:
            detail = "TimeoutError: no answer" if isinstance(exc, TimeoutError) else _one_line(exc)
            raise MCPError(f"MCP server {config.name!r} failed to start ({config.describe()}): {detail}") from None
        return _Connection(session, stop, task)

    def _run_loop(self) -> None:
        import asyncio

        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    async def _hold(self, config: ServerConfig, ready: concurrent.futures.Future[tuple[Any, Any]]) -> None:
        """Open transport and session, publish them through `ready`, keep them until stopped."""
        import anyio
        from mcp import ClientSession

        stop = anyio.Event()
        try:
            with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog, anyio.CancelScope() as scope:
                self._stderr[config.name] = errlog
                scope.deadline = anyio.current_time() + self._startup_timeout
                try:
                    async with AsyncExitStack() as stack:
                        read, write = await stack.enter_async_context(self._open_streams(config))
                        read, write = self.wrap_streams(config.name, read, write)
                        session = await stack.enter_async_context(
                            ClientSession(read, write, read_timeout_seconds=self._call_timeout))
                        await session.initialize()
                        scope.deadline = math.inf
                        ready.set_result((session, stop))
                        await stop.wait()
                except Exception as exc:
                    if tail := _tail(errlog):  # why a stdio server died is usually on its stderr
                        exc.add_note(f"stderr: {tail}")
                    raise
            if scope.cancelled_caught and not ready.done():
                raise TimeoutError(f"no answer within {self._startup_timeout:g} s")
        except Exception as exc:
            if not ready.done():
                notes = "".join(f"; {n}" for n in getattr(exc, "__notes__", []))
                ready.set_exception(MCPError(_one_line(exc) + notes))
        finally:
            self._stderr.pop(config.name, None)

    @asynccontextmanager
    async def _open_streams(self, config: ServerConfig) -> AsyncIterator[tuple[Any, Any]]:
        """The transport's `(read, write)` streams, before any `ClientSession` sees them."""
        if config.transport == "stdio":
            from mcp import StdioServerParameters, stdio_client

            params = StdioServerParameters(command=config.command or "", args=list(config.args),
                                           env=config.env or None, cwd=config.cwd)
            async with stdio_client(params, errlog=self._stderr[config.name]) as streams:
                yield streams
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            timeout = httpx2.Timeout(self._startup_timeout, read=self._call_timeout)
            async with httpx2.AsyncClient(headers=config.headers, timeout=timeout) as http:
                async with streamable_http_client(config.url or "", http_client=http) as streams:
                    yield streams


def _tail(errlog: Any, limit: int = 4096) -> str:
    """The last non-empty line a server wrote to stderr (read without moving the shared offset)."""
    size = os.fstat(errlog.fileno()).st_size
    data = os.pread(errlog.fileno(), limit, max(0, size - limit)).decode("utf-8", "replace")
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    return lines[-1] if lines else ""
