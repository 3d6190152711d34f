"""MCP calls through a cassette, at the JSON-RPC level.

`CassetteMCPClient` is the live client with its transport swapped for a small proxy: the SDK's
`ClientSession` talks JSON-RPC to the proxy exactly as it would to a server. Each request the
session sends is answered from the cassette when it is recorded; otherwise, when the cassette may
record, it is forwarded to the real server (started on first need, with the handshake replayed)
and the answer is recorded. With everything recorded, no server is started at all: its command
need not exist on the machine.

`tools/call` requests are keyed by the step that made them; session set-up (`initialize`,
`tools/list`, ...) belongs to no step. JSON-RPC ids are not part of a recording: answers carry the
id of the live request.

A recorded `tools/call` whose server has no session open yet is answered without one: the
recorded JSON-RPC result is returned exactly as the session would return it (same content, same
byte counts). That skips a session handshake and three cross-thread hops per call, most of a
replayed case's cost. A result of the common shape (text blocks, structured content, an error
flag: `plain_call_result`) is read as it is; anything else is validated as the SDK's
`CallToolResult` first (importing `mcp_types`, whose models take ~0.25 s to build). Tool listings
likewise. Anything not recorded goes through the session, which records it or reports the miss.
"""

from __future__ import annotations

import threading
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, AsyncIterator, Callable, Mapping

from harness.cassettes._secrets import redact_server_spec, server_credentials
from harness.cassettes._store import Cassette, CassetteMiss
from runner.clients import MCPError, ToolCallResult, ToolInfo
from runner.live.mcp import LiveMCPClient, ServerConfig
from runner.live.mcp import as_tool_call_result as _as_tool_call_result
from runner.live.mcp import json_size

_STEP_METHODS = frozenset({"tools/call"})
_HANDSHAKE_ID = "flowtape-handshake"


_PLAIN_RESULT_KEYS = frozenset({"content", "structuredContent", "isError"})


def plain_call_result(tool: str, arguments: dict[str, Any], result: Any, sized: Callable[[Any], Any]) -> ToolCallResult | None:
    """What `as_tool_call_result` makes of a recorded `tools/call` result after the SDK's
    `CallToolResult` validated it, for a result of the common shape, read without the SDK's
    models: only `content` (text blocks holding `type` and `text` alone), `structuredContent` (an
    object or null) and `isError` (a boolean). None for any other shape (the caller validates
    it with the SDK): there the model would drop, coerce or fill in something, so the bytes
    counted could differ. `tests/harness/test_cassette_mcp_plain.py` holds the two equal on every
    recorded result of the shipped cassettes."""
    if not isinstance(result, dict) or not result.keys() <= _PLAIN_RESULT_KEYS:
        return None
    content, structured, is_error = result.get("content"), result.get("structuredContent"), result.get("isError", False)
    if not isinstance(content, list) or not (structured is None or isinstance(structured, dict)) or not isinstance(is_error, bool):
        return None
    blocks = []
    for block in content:
        if not (isinstance(block, dict) and block.keys() == {"type", "text"} and block["type"] == "text" and isinstance(block["text"], str)):
            return None
        blocks.append({"type": "text", "text": block["text"]})
    return ToolCallResult(content=blocks, structured_content=structured, is_error=is_error,
                          request_bytes=json_size(sized({"name": tool, "arguments": arguments})), result_bytes=json_size(sized(result)))


def plain_tools(result: dict[str, Any]) -> list[ToolInfo] | None:
    """The tools of a recorded `tools/list` result as the SDK's `ListToolsResult` would give
    them, when every tool has a string `name`, an object `inputSchema` and a string (or no)
    `description` (what `ToolInfo` keeps); None otherwise (the caller validates it with the SDK)."""
    tools = result.get("tools")
    if not isinstance(tools, list):
        return None
    infos = []
    for tool in tools:
        if not isinstance(tool, dict):
            return None
        name, description, schema = tool.get("name"), tool.get("description"), tool.get("inputSchema")
        if not isinstance(name, str) or not isinstance(schema, dict) or not (description is None or isinstance(description, str)):
            return None
        infos.append(ToolInfo(name, description or "", dict(schema)))
    return infos


class CassetteMCPClient(LiveMCPClient):
    """A `LiveMCPClient` whose servers answer from `cassette` (and record into it when allowed).

    Args:
        configs: the servers, as for `LiveMCPClient`; their secret env values and credentials
            (secret header values, URL tokens, secret flags' values) are known secrets to the
            cassette, which refuses to save one.
        cassette: the open cassette; its mode decides replay and recording.
    """

    def __init__(self, configs: Mapping[str, ServerConfig], cassette: Cassette, **kwargs: Any) -> None:
        super().__init__(configs, **kwargs)
        self.cassette = cassette
        self._step: str | None = None
        self._misses: list[CassetteMiss] = []
        self.live_starts = 0  # real servers this client started (0 when everything replayed)
        self._record_lock = threading.Lock()
        # Every result returned, (step_id, server, tool, result) in call order: its content blocks
        # are what accounting counts (a step's output keeps only the structured copy).
        self.results: list[tuple[str | None, str, str, ToolCallResult]] = []
        for config in configs.values():
            if config.env:
                cassette.secret_envs.append(dict(config.env))
            for value, label in server_credentials(config).items():
                cassette.add_credential(value, label)

    def call_tool(self, server: str, tool: str, arguments: dict[str, Any], *, step_id: str | None = None) -> ToolCallResult:
        if server in self._configs and server not in self._connections:
            replayed = self._replay_without_session(server, tool, arguments, step_id)
            if replayed is not None:
                self.results.append((step_id, server, tool, replayed))
                return replayed
        self._step, self._misses = step_id, []
        try:
            result = super().call_tool(server, tool, arguments, step_id=step_id)
            self.results.append((step_id, server, tool, result))
            return result
        except MCPError:
            if self._misses:  # the session saw an error answer; the real reason is the miss
                raise self._misses[0] from None
            raise
        finally:
            self._step = None

    def list_tools(self, server: str) -> list[ToolInfo]:
        """A write-protected replay answers a server's tool listing from its recorded
        `tools/list`, as `call_tool` answers calls: no session, and so none of the SDK's client
        and server modules imported. Anything else (recording, a listing in pages, a server
        already connected) goes through the session."""
        if self.cassette.write_protected and server in self._configs and server not in self._connections and server not in self._tools:
            found = self.cassette.lookup("mcp", server, None, "tools/list", {})
            result = (found.response or {}).get("result") if found is not None else None
            if isinstance(result, dict) and not result.get("nextCursor"):
                tools = plain_tools(result)
                if tools is None:
                    from mcp_types import ListToolsResult

                    page = ListToolsResult.model_validate(result)
                    tools = [ToolInfo(t.name, t.description or "", dict(t.input_schema)) for t in page.tools]
                self.cassette.use_setup("mcp", server)
                self._tools[server] = tools
        return super().list_tools(server)

    def list_every_server(self) -> None:
        """Have the `tools/list` of every configured server in the cassette, used or not (what a
        direct agent is offered is every connected server's tools). Recording lists each server
        (answered from the cassette when already recorded); a write-protected replay opens no
        session and marks each server's recorded set-up used, so it is not reported unused."""
        for server in self._configs:
            if self.cassette.write_protected:
                self.cassette.use_setup("mcp", server)
            else:
                self.list_tools(server)

    def _replay_without_session(self, server: str, tool: str, arguments: dict[str, Any], step_id: str | None) -> ToolCallResult | None:
        found = self.cassette.lookup("mcp", server, step_id, "tools/call", {"name": tool, "arguments": arguments})
        if found is None or "result" not in (found.response or {}):
            return None  # not recorded, or an error answer: let the session handle it as live
        self.cassette.use_setup("mcp", server)
        plain = plain_call_result(tool, arguments, found.response["result"], self.sized_form)
        if plain is not None:
            return plain
        from mcp_types import CallToolResult

        result = CallToolResult.model_validate(found.response["result"])
        return _as_tool_call_result(tool, arguments, result, self.sized_form)

    def sized_form(self, value: Any) -> Any:
        """Calls are sized as the cassette stores them (fixture paths as `${FIXTURES}`,
        `<timestamp>`), so `request_bytes` and `result_bytes` are the same on every machine and
        the same recorded or replayed."""
        return self.cassette.normalizer.to_stored(value)

    def server_meta(self) -> dict[str, Any]:
        """The servers as the cassette's meta records them: env values, secret header values,
        secret flags' values and URL credentials redacted."""
        return self.cassette.normalizer.to_stored({
            name: redact_server_spec({k: v for k, v in {"command": c.command, "args": list(c.args) or None, "url": c.url,
                                                        "env": dict(c.env) or None, "headers": dict(c.headers) or None}.items() if v})
            for name, c in self._configs.items()
        })

    @asynccontextmanager
    async def _open_streams(self, config: ServerConfig) -> AsyncIterator[tuple[Any, Any]]:
        import anyio

        to_proxy_send, to_proxy_recv = anyio.create_memory_object_stream(64)
        to_client_send, to_client_recv = anyio.create_memory_object_stream(64)
        proxy = _Proxy(self, config, to_client_send)
        async with anyio.create_task_group() as tg:
            tg.start_soon(proxy.serve, to_proxy_recv)
            try:
                yield to_client_recv, to_proxy_send
            finally:
                tg.cancel_scope.cancel()  # proxy.serve closes the real server on its way out

    def _open_real_streams(self, config: ServerConfig) -> Any:
        """The real transport (the live client's), for calls the cassette must record."""
        return super()._open_streams(config)


class _Proxy:
    """Answers one session's JSON-RPC requests from the cassette or the real server."""

    def __init__(self, client: CassetteMCPClient, config: ServerConfig, to_client: Any) -> None:
        self.client, self.config, self.to_client = client, config, to_client
        self.cassette = client.cassette
        self.upstream: tuple[Any, Any] | None = None
        self.stack = AsyncExitStack()
        self.initialize_params: dict[str, Any] | None = None
        self.pending: dict[Any, Any] = {}  # request id -> future of the upstream answer
        self.notes: list[Any] = []  # server notifications seen while a request was pending

    async def serve(self, from_client: Any) -> None:
        from mcp_types import JSONRPCNotification, JSONRPCRequest

        try:
            async for item in from_client:
                message = item.message
                if isinstance(message, JSONRPCRequest):
                    await self._request(message)
                elif isinstance(message, JSONRPCNotification) and self.upstream is not None:
                    await self.upstream[1].send(item)
        finally:
            # The real server's transport and task group were entered in this task (by
            # _start_upstream) and must be left in it, also when the session is cancelled
            # half-way through starting it (a server that never answers `initialize`).
            await self.close()

    async def _request(self, request: Any) -> None:
        from mcp_types import JSONRPCError, JSONRPCResponse
        from mcp.shared.message import SessionMessage

        method = request.method
        params = _without_meta(request.params)
        if method == "initialize":
            self.initialize_params = params
        step = self.client._step if method in _STEP_METHODS else None
        found = self.cassette.lookup("mcp", self.config.name, step, method, params)
        if found is not None:
            answer = found.response
            for note in found.notifications:
                await self.to_client.send(SessionMessage(_notification(note)))
        elif self.cassette.write_protected:
            miss = self.cassette.miss("mcp", self.config.name, step, method, params)
            self.client._misses.append(miss)
            answer = {"error": {"code": -32603, "message": str(miss)}}
        else:
            answer, notes = await self._forward(request)
            with self.client._record_lock:
                self.cassette.record("mcp", self.config.name, step, method, params, answer, notes)
        if "error" in answer:
            reply: Any = JSONRPCError(jsonrpc="2.0", id=request.id, error=answer["error"])
        else:
            reply = JSONRPCResponse(jsonrpc="2.0", id=request.id, result=answer.get("result", {}))
        await self.to_client.send(SessionMessage(reply))

    async def _forward(self, request: Any) -> tuple[dict[str, Any], list[Any]]:
        """Send `request` to the real server (started now if needed); its answer as a dict."""
        import anyio
        from mcp.shared.message import SessionMessage

        if self.upstream is None:
            await self._start_upstream(handshake=request.method != "initialize")
        assert self.upstream is not None
        self.notes = []
        done = anyio.Event()
        self.pending[request.id] = done
        await self.upstream[1].send(SessionMessage(request))
        with anyio.fail_after(self.client._call_timeout or 300):
            await done.wait()
        answer = self.pending.pop(request.id)
        return answer, list(self.notes)

    async def _start_upstream(self, *, handshake: bool) -> None:
        import anyio
        from mcp_types import JSONRPCNotification, JSONRPCRequest
        from mcp.shared.message import SessionMessage

        self.client.live_starts += 1
        read, write = await self.stack.enter_async_context(self.client._open_real_streams(self.config))
        self.upstream = (read, write)
        group = await self.stack.enter_async_context(anyio.create_task_group())
        self.stack.callback(group.cancel_scope.cancel)
        group.start_soon(self._pump, read)
        if handshake:  # the session was initialised from the cassette: do it again for real
            done = anyio.Event()
            self.pending[_HANDSHAKE_ID] = done
            params = self.initialize_params or _default_initialize()
            await write.send(SessionMessage(JSONRPCRequest(jsonrpc="2.0", id=_HANDSHAKE_ID, method="initialize", params=params)))
            with anyio.fail_after(self.client._startup_timeout):
                await done.wait()
            self.pending.pop(_HANDSHAKE_ID)
            await write.send(SessionMessage(JSONRPCNotification(jsonrpc="2.0", method="notifications/initialized")))

    async def _pump(self, read: Any) -> None:
        """Route the real server's messages: answers to their waiters, the rest to the client."""
        from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCResponse

        async for item in read:
            if isinstance(item, Exception):
                continue
            message = item.message
            if isinstance(message, (JSONRPCResponse, JSONRPCError)) and message.id in self.pending:
                event = self.pending[message.id]
                self.pending[message.id] = (
                    {"result": message.result} if isinstance(message, JSONRPCResponse)
                    else {"error": message.error.model_dump(mode="json", exclude_none=True)}
                )
                event.set()
                continue
            if isinstance(message, JSONRPCNotification):
                self.notes.append(message.model_dump(mode="json", by_alias=True, exclude_none=True))
            await self.to_client.send(item)

    async def close(self) -> None:
        await self.stack.aclose()


def _without_meta(params: Any) -> Any:
    """Request params without `_meta` (progress tokens and the like differ run to run)."""
    if isinstance(params, dict):
        return {k: v for k, v in params.items() if k != "_meta"}
    if params is None:
        return {}
    return params


def _notification(data: dict[str, Any]) -> Any:
    from mcp_types import JSONRPCNotification

    return JSONRPCNotification.model_validate(data)


def _default_initialize() -> dict[str, Any]:
    from mcp_types import LATEST_PROTOCOL_VERSION

    return {"protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "flowtape", "version": "0"}}
