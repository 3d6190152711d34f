"""`flowtape rescore`: judge a past run's stored traces with the current golden cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import EXIT_FAILED, fail


def rescore(
    suite: Annotated[Path, typer.Argument(help="The golden suite folder.")] = Path("goldens"),
    run: Annotated[Optional[str], typer.Option("--run", help="The run whose traces are judged (default: the latest test run in the ledger).")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Only this task.")] = None,
    case: Annotated[Optional[str], typer.Option("--case", help="Only this case.")] = None,
    ledger: Annotated[Path, typer.Option("--ledger", help="The DuckDB ledger.")] = Path("reports/ledger.duckdb"),
    cassettes: Annotated[Path, typer.Option("--cassettes", help="Recordings (model-judged evaluators replay from them).")] = Path("cassettes"),
    traces: Annotated[Path, typer.Option("--trace-dir", help="Where runs' traces are stored.")] = Path("reports/traces"),
    tokenizer: Annotated[str, typer.Option("--tokenizer")] = "o200k_base",
) -> None:
    """Re-evaluate the stored traces of a run with the goldens as they are now, without running
    any workflow, server or model; the verdicts are added to the ledger as a new run. Exit 0
    when all pass, 1 when any fails, 2 for bad input."""
    from harness._cli.test import _print_table
    from harness.accounting import LedgerError
    from harness.cassettes import CassetteError
    from harness.goldens import GoldenError
    from harness.suiterun import SuiteOptions, rescore as do_rescore

    options = SuiteOptions(suite=suite, task=task, case=case, ledger=ledger, cassettes=cassettes, traces=traces, tokenizer=tokenizer)
    try:
        result = do_rescore(options, run)
    except (GoldenError, LedgerError, CassetteError) as err:
        fail(str(err))
    _print_table(result)
    if result.exit_code:
        raise typer.Exit(EXIT_FAILED)
