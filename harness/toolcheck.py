"""Static checks of a workflow's MCP nodes against the tools its servers recorded.

`flowtape validate goldens/<task>` reads the servers from task.yaml and each server's
`tools/list` from the task's cassettes, then checks every `mcp-<server>-<tool>` node: the server
is one the task names, the tool is one the server lists (with a did-you-mean), every required
argument is given, and each argument written literally (no template) fits the tool's input
schema. Nothing is started: a typo is found before a live run takes the server's "Unknown tool"
text for a result.

    problems, notes = check_tools(document, ["sqlite"], recorded_tools(Path("cassettes/shop-sales")))
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runner._hints import did_you_mean
from runner.clients import ToolInfo

__all__ = ["check_live", "check_tools", "recorded_tool_infos", "recorded_tools"]


def recorded_tools(folder: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """server -> tool name -> input schema, from every `tools/list` recorded in the cassettes
    in `folder` (unreadable cassettes are skipped: `flowtape test` names them)."""
    return {server: {t.name: t.input_schema for t in infos} for server, infos in recorded_tool_infos(folder).items()}


def recorded_tool_infos(folder: Path) -> dict[str, list[ToolInfo]]:
    """server -> its tools (name, description, input schema), from every `tools/list` recorded
    in the cassettes in `folder`, the last recording of a tool winning."""
    from harness.cassettes import Cassette, CassetteError

    found: dict[str, dict[str, ToolInfo]] = {}
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.json")):
        try:
            tape = Cassette.open(path, "none")
        except CassetteError:
            continue
        for item in tape.interactions:
            if item.kind == "mcp" and item.method == "tools/list" and isinstance(item.response, dict):
                for tool in (item.response.get("result") or {}).get("tools") or []:
                    if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                        schema = tool.get("inputSchema") or tool.get("input_schema") or {}
                        found.setdefault(item.server, {})[tool["name"]] = ToolInfo(
                            tool["name"], str(tool.get("description") or ""), schema if isinstance(schema, dict) else {})
    return {server: list(infos.values()) for server, infos in found.items()}


def check_live(document: Any, client: Any) -> list[str]:
    """The workflow's MCP nodes checked as `check_tools` checks them, against the tools the
    running servers (`client`, a LiveMCPClient) list: only the servers the workflow's nodes name
    are asked. The check `flowtape run --mcp-config` and `flowtape validate --mcp-config` make
    before anything runs. A server that cannot be started raises what the client raises."""
    from runner.nodes.mcp import split_type

    names = client.servers()
    nodes = document.get("nodes") if isinstance(document, dict) else None
    used = {parts[0] for node in (nodes if isinstance(nodes, list) else [])
            if isinstance(node, dict) and isinstance(node.get("type"), str) and (parts := split_type(node["type"], names))}
    tools = {server: {t.name: t.input_schema for t in client.list_tools(server)} for server in sorted(used)}
    return check_tools(document, list(tools), tools)[0]


def check_tools(document: Any, servers: Iterable[str], tools: dict[str, dict[str, dict[str, Any]]]) -> tuple[list[str], list[str]]:
    """(problems, notes) for the workflow's MCP nodes, each `$.nodes[i]... (node id): message`."""
    import jsonschema

    names = sorted(servers, key=len, reverse=True)  # a server name may itself hold '-'
    problems: list[str] = []
    notes: list[str] = []
    unrecorded: set[str] = set()
    nodes = document.get("nodes") if isinstance(document, dict) else None
    for i, node in enumerate(nodes if isinstance(nodes, list) else []):
        kind = node.get("type") if isinstance(node, dict) else None
        if not isinstance(kind, str) or not kind.startswith("mcp-"):
            continue
        where = f"$.nodes[{i}] (node {node.get('id')})"
        server = next((s for s in names if kind.startswith(f"mcp-{s}-")), None)
        if server is None:
            continue  # the runner's own validation names an unknown server
        tool = kind[len(f"mcp-{server}-"):]
        listed = tools.get(server)
        if listed is None:
            unrecorded.add(server)
            continue
        if tool not in listed:
            problems.append(f"{where}.type: server '{server}' has no tool '{tool}'{did_you_mean(tool, listed)} (its tools: {', '.join(sorted(listed))})")
            continue
        schema = listed[tool]
        params = {k: v for k, v in (node.get("params") or {}).items() if k not in ("timeout", "result_format")}
        for name in schema.get("required") or []:
            if name not in params:
                problems.append(f"{where}.params: tool '{server}.{tool}' needs '{name}'")
        props = schema.get("properties") or {}
        for name, value in params.items():
            if props and name not in props and schema.get("additionalProperties") is False:
                problems.append(f"{where}.params.{name}: tool '{server}.{tool}' takes no '{name}'{did_you_mean(name, props)}")
            elif name in props and not _templated(value):
                for error in jsonschema.Draft202012Validator(props[name]).iter_errors(value):
                    problems.append(f"{where}.params.{name}: {error.message}")
                    break
    for server in sorted(unrecorded):
        notes.append(f"no recorded tools/list for server '{server}': its tool names are checked once the task is recorded")
    return problems, notes


def _templated(value: Any) -> bool:
    """Whether a param holds a template anywhere (its value is known only at run time)."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_templated(v) for v in value.values())
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    return False
