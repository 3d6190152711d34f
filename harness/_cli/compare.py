"""`flowtape compare [SUITE]`: the same tasks three ways -- direct tool calling (modelled), code
execution and the IR workflow -- on the same recorded calls."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import fail, project


def compare(
    suite: Annotated[Optional[Path], typer.Argument(help="The golden suite folder (default: the project's `suite` setting, else goldens).", show_default=False)] = None,
    format_: Annotated[str, typer.Option("--format", help="table, json or markdown.")] = "table",
    run: Annotated[Optional[str], typer.Option("--run", help="Compare this run of the ledger instead of replaying the suite now.")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Only this task.")] = None,
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="Where the recordings are (default: the project's `cassettes` setting, else cassettes).", show_default=False)] = None,
    traces: Annotated[Optional[Path], typer.Option("--trace-dir", help="Where runs' traces are stored (default: the project's `traces` setting, else reports/traces).", show_default=False)] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes for the replay.")] = 1,
    model: Annotated[str, typer.Option("--model", help="The orchestrator model the context is priced at (litellm's local price map).")] = "gpt-4o-mini",
    system_tokens: Annotated[int, typer.Option("--system-tokens", help="The orchestrator's system prompt, carried by every turn (modelled).")] = 400,
) -> None:
    """Replay the suite offline (every approach from its cassettes), account the orchestrator's
    context per (case, approach) -- direct modelled from the same recorded calls -- into the
    ledger (context_tokens, savings_per_tool_call), and report per task and overall: pass rate,
    tokens and cost per run, authoring tokens and payback, savings per tool call, a paired
    bootstrap interval of token differences and an exact McNemar test on pass/fail. Rows where an
    approach does not win are marked as plainly as wins."""
    proj = project()
    suite, ledger, cassettes, traces = suite or proj.suite, ledger or proj.ledger, cassettes or proj.cassettes, traces or proj.traces
    from harness.accounting import LedgerError
    from harness.accounting.context import Settings
    from harness.cassettes import CassetteError
    from harness.compare import account_run, compare as build, render
    from harness.goldens import GoldenError

    if format_ not in ("table", "json", "markdown"):
        fail(f"--format {format_!r}: choose table, json or markdown")
    try:
        if run is None:
            from harness._cli.test import _progress
            from harness.suiterun import SuiteOptions, run_suite

            result = run_suite(SuiteOptions(suite=suite, task=task, workers=workers, ledger=ledger, cassettes=cassettes, traces=traces), progress=_progress())
            run = result.run_id
        account_run(ledger, run, suite=suite, cassettes=cassettes, settings=Settings(model=model, system_prompt_tokens=system_tokens))
        report = build(ledger, run)
    except (GoldenError, LedgerError, CassetteError, FileNotFoundError) as err:
        fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    typer.echo(render(report, format_))
