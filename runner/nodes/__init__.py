"""The built-in node types and the one place a node `type` string is turned into one."""

from __future__ import annotations

from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec
from runner.nodes.agent import AgentNode
from runner.nodes.code import CodeNode
from runner.nodes.files import CopyFileNode, DeleteFileNode, MoveFileNode, ReadFileNode, WriteFileNode
from runner.nodes.http import HttpNode
from runner.nodes.llm import LLMNode
from runner.nodes.mcp import MCPNode, split_type
from runner.nodes.review import ReviewNode, RouteNode
from runner.nodes.shell import ShellNode
from runner.nodes.workflow import WorkflowNode

__all__ = ["BUILTIN_NODES", "NodeContext", "NodeFailure", "NodeResult", "NodeType", "ParamSpec", "node_type_for"]

BUILTIN_NODES: dict[str, NodeType] = {
    n.name: n for n in (ShellNode(), ReadFileNode(), WriteFileNode(), HttpNode(), LLMNode(), WorkflowNode(), CodeNode(),
                  CopyFileNode(), MoveFileNode(), DeleteFileNode(), AgentNode(), ReviewNode(), RouteNode())
}


def node_type_for(type_name: str, mcp_servers: list[str] | None = None) -> NodeType | None:
    """The node type named `type_name`, or None. `mcp-<server>-<tool>` types are split against
    `mcp_servers` when given (a server name may contain '-')."""
    if type_name in BUILTIN_NODES:
        return BUILTIN_NODES[type_name]
    parts = split_type(type_name, mcp_servers)
    return MCPNode(*parts) if parts else None
