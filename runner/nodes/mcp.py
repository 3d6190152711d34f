"""`mcp-<server>-<tool>`: call one MCP tool with the node's params as arguments.

Output `result`: the structured content when the server gives one, else the text of the content
blocks (parsed as JSON when it is JSON), else the blocks themselves. An `isError` result fails
the node (routable via an `error` edge)."""

from __future__ import annotations

import json
from typing import Any

from runner.clients import MCPError
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType
from runner.trace import ToolUsage


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


def result_value(content: list[dict[str, Any]], structured: dict[str, Any] | None) -> Any:
    if structured is not None:
        return structured
    texts = [block.get("text", "") for block in content if block.get("type") == "text"]
    if len(texts) == len(content) and texts:
        text = "\n".join(texts)
        if text.lstrip()[:1] in ("{", "["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                pass
        return text
    return content


class MCPNode(NodeType):
    kind = "mcp"
    open_params = True
    outputs = ("result", "content", "is_error")

    def __init__(self, server: str, tool: str) -> None:
        self.server = server
        self.tool = tool
        self.name = f"mcp-{server}-{tool}"  # type: ignore[misc]

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        if ctx.mcp is None:
            raise NodeFailure("no MCP client configured (pass --mcp-config)", retryable=False)
        try:
            res = ctx.mcp.call_tool(self.server, self.tool, params, step_id=ctx.step_id)
        except MCPError as err:
            raise NodeFailure(str(err)) from err
        usage = ToolUsage(server=self.server, tool=self.tool, request_bytes=res.request_bytes, result_bytes=res.result_bytes, is_error=res.is_error)
        output = {"result": result_value(res.content, res.structured_content), "content": res.content, "is_error": res.is_error}
        if res.is_error:
            text = " ".join(b.get("text", "") for b in res.content if b.get("type") == "text")
            raise NodeFailure(f"{self.server}.{self.tool} returned an error: {text[:300]}", output, retryable=False, tool=usage)
        return NodeResult(output, tool=usage)
