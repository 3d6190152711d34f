"""`flowtape validate FILE`: check a workflow without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import EXIT_BAD_INPUT, parse_inputs
from harness._cli.run import read_workflow
from runner.validate import check


def validate(
    file: Annotated[Path, typer.Argument(help="The JSON IR workflow to check.", show_default=False)],
    input_: Annotated[Optional[list[str]], typer.Option("--input", "-i", help="NAME=VALUE: also check this input value (repeatable).")] = None,
    mcp_config: Annotated[Optional[Path], typer.Option("--mcp-config", help="pflow-style {\"mcpServers\": ...} JSON; mcp-<server>-<tool> types are checked against it.")] = None,
) -> None:
    """Validate a workflow: schema, node types and params, template references, order, cycles,
    outputs, and (with -i) input values. Exit 0 when valid, 2 with every problem on stderr."""
    document = read_workflow(file)
    servers = None
    if mcp_config is not None:
        from harness._cli.run import load_servers

        servers = list(load_servers(mcp_config))
    inputs = parse_inputs(document, input_ or [], str(file)) if input_ else None
    diagnostics = check(document, inputs=inputs, mcp_servers=servers)
    for d in diagnostics:
        typer.echo(f"{file}: {d}", err=True)
    errors = sum(d.severity == "error" for d in diagnostics)
    if errors:
        typer.echo(f"{file}: {errors} problem{'s' if errors != 1 else ''}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(f"{file}: valid ({len(document['nodes'])} nodes)")
