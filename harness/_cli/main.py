"""The `flowtape` command. Each command lives in its own module and calls the library; heavy
libraries (litellm, the mcp SDK) are imported only by the commands that need them."""

from __future__ import annotations

from typing import Annotated

import typer

from harness._cli.author import author
from harness._cli.record import record
from harness._cli.report import report
from harness._cli.cassettes import app as cassettes_app
from harness._cli.compare import compare
from harness._cli.diff import diff
from harness._cli.gate import gate
from harness._cli.init import init
from harness._cli.ledger import app as ledger_app
from harness._cli.rescore import rescore
from harness._cli.run import run
from harness._cli.schema import schema
from harness._cli.test import test
from harness._cli.validate import validate

app = typer.Typer(
    name="flowtape",
    help="Evaluation and regression harness for LLM/MCP workflows: run pflow-style JSON IR workflows with a trace of every "
         "step, record every model and tool call once, replay offline, judge step by step against golden cases, account "
         "every call in a DuckDB ledger, and gate releases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"flowtape {version('flowtape')}")
        except PackageNotFoundError:
            typer.echo("flowtape (not installed: running from a source tree)")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print flowtape's version and exit.")] = False,
) -> None:
    """flowtape's global options (the commands have their own: `flowtape COMMAND --help`)."""


app.command("init")(init)
app.command("validate")(validate)
app.command("run")(run)
app.command("record")(record)
app.command("author")(author)
app.command("test")(test)
app.command("rescore")(rescore)
app.command("compare")(compare)
app.command("gate")(gate)
app.command("report")(report)
app.command("diff")(diff)
app.command("schema")(schema)
app.add_typer(ledger_app, name="ledger")
app.add_typer(cassettes_app, name="cassettes")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
