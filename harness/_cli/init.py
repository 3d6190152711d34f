"""`flowtape init TASK`: scaffold a task that calls one tool of a real MCP server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from harness._cli._common import fail, project

if TYPE_CHECKING:
    from harness.scaffold import ServerSpec
    from runner.clients import ToolInfo


def init(
    task: Annotated[str, typer.Argument(help="The new task's name (its folder under SUITE).")],
    suite: Annotated[Optional[Path], typer.Option("--suite", help="The golden suite folder (default: the project's `suite` setting, else goldens).", show_default=False)] = None,
    server: Annotated[Optional[str], typer.Option("--server", help="NAME=COMMAND [ARGS...], e.g. time='${BIN}/mcp-server-time --local-timezone UTC'. "
                                                  "Started once to read its tools.", show_default=False)] = None,
    tool: Annotated[Optional[str], typer.Option("--tool", help="The tool the task calls (default: the server's first).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the scaffold files of an existing task folder.")] = False,
) -> None:
    """Create SUITE/TASK with task.yaml, workflow.json (one mcp node calling the tool, its
    required arguments as inputs), baseline.py (the same call in code mode), cases/example.yaml
    (placeholder inputs from the tool's schema, a first check) and editor schemas in
    SUITE/.schema/ (and a starter gate policy in ./flowtape.toml when the folder belongs to no
    project yet). With --server the server is started once to list its tools; without it the
    task is one shell step. Then: fill in the case, `flowtape record SUITE --task TASK`,
    `flowtape test SUITE --task TASK` (README: "Your first task")."""
    from harness.scaffold import ScaffoldError, ServerSpec, scaffold, starter_policy

    suite = suite or project().suite
    try:
        spec = ServerSpec.parse(server) if server else None
        if tool and spec is None:
            raise ScaffoldError("--tool needs --server (the server whose tool the task calls)")
        info = _pick_tool(spec, tool) if spec else None
        files = scaffold(suite, task, spec, info, force=force)
    except ScaffoldError as err:
        fail(str(err))
    policy = starter_policy(Path("."))
    for path in [*files, *([policy] if policy else [])]:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: replace the placeholders in {files[-1]}, then `flowtape record {suite} --task {task}` "
               f"and `flowtape test {suite} --task {task}`")


def _pick_tool(spec: ServerSpec, name: str | None) -> ToolInfo:
    """Start the server, read its tools, and return the one asked for (or the first)."""
    import tempfile

    from harness.goldens import Places
    from harness.scaffold import ScaffoldError
    from runner._hints import did_you_mean
    from runner.clients import MCPError
    from runner.live.mcp import LiveMCPClient, ServerConfig

    with tempfile.TemporaryDirectory() as work:
        places = Places.here(Path(work))
        command, args = places.expand(spec.command), places.expand(list(spec.args))
        config = ServerConfig(name=spec.name, transport="stdio", command=command, args=tuple(args))
        typer.echo(f"starting {config.describe()} to read its tools", err=True)
        try:
            with LiveMCPClient({spec.name: config}) as client:
                tools = client.list_tools(spec.name)
        except MCPError as err:
            raise ScaffoldError(f"--server {spec.name}: {err}") from None
    if not tools:
        raise ScaffoldError(f"--server {spec.name}: the server lists no tools")
    if name is None:
        return tools[0]
    found = next((t for t in tools if t.name == name), None)
    if found is None:
        names = [t.name for t in tools]
        raise ScaffoldError(f"--tool {name!r}: server {spec.name!r} has no such tool{did_you_mean(name, names)} (tools: {', '.join(names)})")
    return found
