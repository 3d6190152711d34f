"""`flowtape ledger query|export`: the DuckDB ledger from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import fail, project

app = typer.Typer(help="Query or export the DuckDB ledger of runs, cases, steps, calls and evaluations.", no_args_is_help=True)


@app.command("query")
def query(
    sql: Annotated[str, typer.Argument(help='SQL, e.g. "SELECT task, sum(result_tokens) FROM tool_calls GROUP BY task".')],
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
) -> None:
    """Run a read-only SQL query against the ledger and print the result as a table."""
    from tabulate import tabulate

    from harness.accounting import LedgerError, query as run_query

    ledger = ledger or project().ledger
    if not ledger.exists():
        fail(f"{ledger}: no such ledger (flowtape test writes it)")
    try:
        columns, rows = run_query(ledger, sql)
    except LedgerError as err:
        fail(str(err))
    typer.echo(tabulate(rows, headers=columns, tablefmt="simple"))


@app.command("export")
def export(
    parquet: Annotated[Path, typer.Option("--parquet", help="Folder to write one .parquet file per table into.")],
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
) -> None:
    """Export every ledger table as Parquet."""
    from harness.accounting import LedgerError, export_parquet

    ledger = ledger or project().ledger
    if not ledger.exists():
        fail(f"{ledger}: no such ledger (flowtape test writes it)")
    try:
        paths = export_parquet(ledger, parquet)
    except LedgerError as err:
        fail(str(err))
    for path in paths:
        typer.echo(str(path))
