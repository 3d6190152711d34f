"""`flowtape validate FILE`: check a workflow without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness._cli._common import EXIT_BAD_INPUT, fail, parse_inputs, project
from harness._cli.run import read_workflow


def _live_problems(document: Any, configs: dict[str, Any], file: Path) -> list[str]:
    """The workflow's MCP nodes against the tools their servers list: each server the workflow
    names is started, asked for tools/list, and stopped."""
    from harness.toolcheck import check_live
    from runner.live.mcp import LiveMCPClient

    with LiveMCPClient(configs) as client:
        try:
            return check_live(document, client)
        except Exception as err:  # noqa: BLE001 - a server that does not start is the problem to report
            return [f"cannot list an MCP server's tools: {err}"]


def validate(
    file: Annotated[Path, typer.Argument(help="The workflow to check (JSON IR or .pflow.md), or a task folder (goldens/<task>: its workflow.json, servers and recorded tools).", show_default=False)],
    input_: Annotated[Optional[list[str]], typer.Option("--input", "-i", help="NAME=VALUE: also check this input value (repeatable).")] = None,
    mcp_config: Annotated[Optional[Path], typer.Option("--mcp-config", help="pflow-style {\"mcpServers\": ...} JSON; mcp-<server>-<tool> types are checked against it: the servers the workflow names are started and their tools/list checked (tool names, required and literal arguments).")] = None,
    task: Annotated[Optional[Path], typer.Option("--task", help="A task folder whose servers (task.yaml) and recorded tools/list the workflow is checked against.", show_default=False)] = None,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="Where the task's recordings are (its tools/list answers) (default: the project's `cassettes` setting, else cassettes).", show_default=False)] = None,
) -> None:
    """Validate a workflow: schema, node types and params, template references, order, cycles,
    outputs, and (with -i) input values. Given a task folder (or --task), also every MCP node
    against the task's servers and the tools they recorded: the tool exists (did-you-mean), its
    required arguments are given, literal arguments fit its schema. Exit 0 when valid, 2 with
    every problem on stderr."""
    from runner.validate import check

    if file.is_dir() and (file / "task.yaml").is_file():
        from harness.goldens import ir_file

        task, file = file, ir_file(file)
    document = read_workflow(file)
    servers = None
    if mcp_config is not None:
        from harness._cli.run import load_servers

        configs = load_servers(mcp_config)
        servers = list(configs)
    tool_problems: list[str] = []
    if mcp_config is not None and task is None:
        tool_problems = _live_problems(document, configs, file)
    if task is not None:
        from harness.goldens import GoldenError, load_task
        from harness.toolcheck import check_tools, recorded_tools

        try:
            spec = load_task(task).spec
        except GoldenError as err:
            fail(str(err))
        servers = [*(servers or []), *spec.servers]
        tool_problems, notes = check_tools(document, servers, recorded_tools((cassettes or project().cassettes) / task.name))
        for note in notes:
            typer.echo(f"{file}: note: {note}", err=True)
    inputs = parse_inputs(document, input_ or [], str(file)) if input_ else None
    diagnostics = check(document, inputs=inputs, mcp_servers=servers)
    for d in diagnostics:
        typer.echo(d.located(str(file)), err=True)
    for problem in tool_problems:
        typer.echo(f"{file}: {problem}", err=True)
    errors = sum(d.severity == "error" for d in diagnostics) + len(tool_problems)
    if errors:
        typer.echo(f"{file}: {errors} problem{'s' if errors != 1 else ''}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(f"{file}: valid ({len(document['nodes'])} nodes)")
