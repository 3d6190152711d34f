"""`mcp-<server>-<tool>`: call one MCP tool with the node's params as its arguments.

Output `result`, as pflow gives it: the structured content when the server sends one, else the
text of the one content block (a list when there are several). With `result_format:
"json_block"`, the single fenced ```json block of the text, parsed. An `isError` result fails the
node (routable via an `error` edge). `timeout` and `result_format` are node settings, not tool
arguments."""

from __future__ import annotations

import json
import re
from typing import Any

from runner.clients import MCPError
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType
from runner.trace import ToolUsage

NODE_SETTINGS = ("timeout", "result_format")
_JSON_FENCE = re.compile(r"```json\s*\n(.*?)\n\s*```", re.S)


def split_type(node_type: str, servers: list[str] | None) -> tuple[str, str] | None:
    """`mcp-my-server-get_x` → ("my-server", "get_x"), preferring the longest configured server
    name; with no server list, the server is the part before the next '-'."""
    if not node_type.startswith("mcp-"):
        return None
    rest = node_type[4:]
    if servers is not None:
        for server in sorted(servers, key=len, reverse=True):
            if rest.startswith(server + "-") and len(rest) > len(server) + 1:
                return server, rest[len(server) + 1 :]
        return None
    server, sep, tool = rest.partition("-")
    return (server, tool) if sep and server and tool else None


def result_value(content: list[dict[str, Any]], structured: dict[str, Any] | None, result_format: str | None = None) -> Any:
    """The node's `result` from a tool result's content blocks and structured content."""
    if structured is not None:
        return structured
    if result_format == "json_block":
        texts = [b.get("text", "") for b in content if b.get("type") == "text"]
        bodies = [m.group(1) for t in texts for m in _JSON_FENCE.finditer(t)]
        if len(texts) != len(content) or len(bodies) != 1:
            raise NodeFailure(f"result_format 'json_block' needs exactly one fenced json block in text content, found {len(bodies)}", retryable=False)
        try:
            return json.loads(bodies[0])
        except json.JSONDecodeError as err:
            raise NodeFailure(f"result_format 'json_block': the block is not valid JSON ({err.msg})", retryable=False) from None
    values = [b["text"] if b.get("type") == "text" else b for b in content]
    return values[0] if len(values) == 1 else values


class MCPNode(NodeType):
    kind = "mcp"
    open_params = True
    outputs = ("result", "error")

    def __init__(self, server: str, tool: str) -> None:
        self.server = server
        self.tool = tool
        self.name = f"mcp-{server}-{tool}"  # type: ignore[misc]

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        if ctx.mcp is None:
            raise NodeFailure("no MCP client configured (pass --mcp-config)", retryable=False)
        arguments = {k: v for k, v in params.items() if k not in NODE_SETTINGS}
        try:
            res = ctx.mcp.call_tool(self.server, self.tool, arguments, step_id=ctx.step_id)
        except MCPError as err:
            raise NodeFailure(str(err)) from err
        usage = ToolUsage(server=self.server, tool=self.tool, request_bytes=res.request_bytes, result_bytes=res.result_bytes, is_error=res.is_error)
        if res.is_error:
            text = " ".join(b.get("text", "") for b in res.content if b.get("type") == "text")
            raise NodeFailure(f"{self.server}.{self.tool} returned an error: {text[:500]}", {"error": text}, retryable=False, tool=usage)
        try:
            result = result_value(res.content, res.structured_content, params.get("result_format"))
        except NodeFailure as err:
            err.tool = usage
            raise
        return NodeResult({"result": result}, tool=usage)
