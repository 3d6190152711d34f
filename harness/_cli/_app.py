"""The typer app behind `flowtape` (see `main`: what is imported when)."""

from __future__ import annotations

from importlib import import_module
from typing import Annotated

import typer

__all__ = ["COMMANDS", "GROUPS", "build_app"]

# name -> (module, attribute): a command function, or a typer sub-app (groups).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("harness._cli.init", "init"),
    "validate": ("harness._cli.validate", "validate"),
    "run": ("harness._cli.run", "run"),
    "record": ("harness._cli.record", "record"),
    "author": ("harness._cli.author", "author"),
    "test": ("harness._cli.test", "test"),
    "rescore": ("harness._cli.rescore", "rescore"),
    "compare": ("harness._cli.compare", "compare"),
    "gate": ("harness._cli.gate", "gate"),
    "report": ("harness._cli.report", "report"),
    "diff": ("harness._cli.diff", "diff"),
    "schema": ("harness._cli.schema", "schema"),
}
GROUPS: dict[str, tuple[str, str]] = {
    "ledger": ("harness._cli.ledger", "app"),
    "cassettes": ("harness._cli.cassettes", "app"),
}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"flowtape {version('flowtape')}")
        except PackageNotFoundError:
            typer.echo("flowtape (not installed: running from a source tree)")
        raise typer.Exit()


def _main(
    show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print flowtape's version and exit.")] = False,
) -> None:
    """flowtape's global options (the commands have their own: `flowtape COMMAND --help`)."""


def build_app(only: str | None = None) -> typer.Typer:
    """The `flowtape` app: every command, or only the command (or group) `only`."""
    app = typer.Typer(
        name="flowtape",
        help="Evaluation and regression harness for LLM/MCP workflows: run pflow-style JSON IR workflows with a trace of every "
             "step, record every model and tool call once, replay offline, judge step by step against golden cases, account "
             "every call in a DuckDB ledger, and gate releases.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_main)
    for name, (module, attribute) in COMMANDS.items():
        if only is None or only == name:
            app.command(name)(getattr(import_module(module), attribute))
    for name, (module, attribute) in GROUPS.items():
        if only is None or only == name:
            app.add_typer(getattr(import_module(module), attribute), name=name)
    return app
