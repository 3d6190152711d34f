"""`flowtape rescore`: judge a past run's stored traces with the current golden cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import EXIT_FAILED, fail, project


def rescore(
    suite: Annotated[Optional[Path], typer.Argument(help="The golden suite folder (default: the project's `suite` setting, else goldens).", show_default=False)] = None,
    run: Annotated[Optional[str], typer.Option("--run", help="The run whose traces are judged (default: the latest test run in the ledger).")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Only this task.")] = None,
    case: Annotated[Optional[str], typer.Option("--case", help="Only this case.")] = None,
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="Recordings (model-judged evaluators replay from them) (default: the project's `cassettes` setting, else cassettes).", show_default=False)] = None,
    traces: Annotated[Optional[Path], typer.Option("--trace-dir", help="Where runs' traces are stored (default: the project's `traces` setting, else reports/traces).", show_default=False)] = None,
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

    proj = project()
    suite, ledger, cassettes, traces = suite or proj.suite, ledger or proj.ledger, cassettes or proj.cassettes, traces or proj.traces
    options = SuiteOptions(suite=suite, task=task, case=case, ledger=ledger, cassettes=cassettes, traces=traces, tokenizer=tokenizer)
    try:
        result = do_rescore(options, run)
    except (GoldenError, LedgerError, CassetteError) as err:
        fail(str(err))
    _print_table(result)
    if result.exit_code:
        raise typer.Exit(EXIT_FAILED)
