"""`flowtape compare [SUITE]`: the same tasks three ways -- direct tool calling (modelled), code
execution and the IR workflow -- on the same recorded calls, with the modelled constants swept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import AddressOption, ExecutorName, ExecutorOption, fail, project


def compare(
    suite: Annotated[Optional[Path], typer.Argument(help="The golden suite folder (default: the project's `suite` setting, else goldens).", show_default=False)] = None,
    format_: Annotated[str, typer.Option("--format", help="table, json or markdown.")] = "table",
    run: Annotated[Optional[str], typer.Option("--run", help="Compare this run of the ledger instead of replaying the suite now.")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Only this task.")] = None,
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="Where the recordings are (default: the project's `cassettes` setting, else cassettes).", show_default=False)] = None,
    traces: Annotated[Optional[Path], typer.Option("--trace-dir", help="Where runs' traces are stored (default: the project's `traces` setting, else reports/traces).", show_default=False)] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes for the replay.")] = 1,
    model: Annotated[Optional[list[str]], typer.Option("--model", help="Replay every case under this model (repeat to compare models on the same cases; each has its own recordings); with --run: compare only this model's cases. Default: each task's llm.model, or every model the run has.", show_default=False)] = None,
    price_model: Annotated[str, typer.Option("--price-model", help="The orchestrator model the modelled context is priced at (litellm's local price map).")] = "gpt-4o-mini",
    system_tokens: Annotated[int, typer.Option("--system-tokens", min=0, help="The orchestrator's system prompt, carried by every turn (modelled).")] = 400,
    calls_per_turn: Annotated[int, typer.Option("--calls-per-turn", min=1, help="Tool calls the modelled direct orchestrator makes per turn (1: one at a time).")] = 1,
    sweep_system: Annotated[str, typer.Option("--sweep-system-tokens", help="LOW..HIGH: the system prompt sizes a verdict is checked over; 'off' to skip.")] = "200..2000",
    executor: ExecutorOption = ExecutorName.local,
    address: AddressOption = None,
) -> None:
    """Replay the suite offline (every approach from its cassettes), account the orchestrator's
    context per (case, approach) -- direct modelled from the same recorded calls -- into the
    ledger (context_tokens, savings_per_tool_call), and report per task and overall: pass rate,
    tokens and cost per run, authoring tokens and payback, savings per tool call, a paired
    bootstrap interval of token differences and an exact McNemar test on pass/fail (each only
    when the sample allows; "n too small" otherwise). The modelled constants are swept (system
    prompt LOW..HIGH tokens, 1, 2 and 4 tool calls per turn) and a verdict that flips inside the
    range says "depends on ...". Rows where an approach does not win are marked as plainly as
    wins."""
    proj = project()
    suite, ledger, cassettes, traces = suite or proj.suite, ledger or proj.ledger, cassettes or proj.cassettes, traces or proj.traces
    from harness._ray import RayError
    from harness.accounting import LedgerError
    from harness.accounting.context import Settings
    from harness.cassettes import CassetteError
    from harness.compare import account_run, compare as build, latest_run, load_run, render_models, run_models, sweep, swept_ranges
    from harness.goldens import GoldenError

    if format_ not in ("table", "json", "markdown"):
        fail(f"--format {format_!r}: choose table, json or markdown")
    swept: tuple[int, int] | None = None
    if sweep_system != "off":
        low, sep, high = sweep_system.partition("..")
        if not (sep and low.isdigit() and high.isdigit() and int(low) < int(high)):
            fail(f"--sweep-system-tokens {sweep_system!r}: write LOW..HIGH with LOW < HIGH (e.g. 200..2000), or off")
        swept = (int(low), int(high))
    try:
        if run is None:
            from harness._cli.test import _progress
            from harness.suiterun import SuiteOptions, run_suite

            result = run_suite(SuiteOptions(suite=suite, task=task, models=model, workers=workers, ledger=ledger, cassettes=cassettes,
                                            traces=traces, executor=executor.value, address=address),
                               progress=_progress(len(set(model or ())) > 1))
            run = result.run_id
        settings = Settings(model=price_model, system_prompt_tokens=system_tokens, calls_per_turn=calls_per_turn)
        account_run(ledger, run, suite=suite, cassettes=cassettes, settings=settings)
        run = run or latest_run(ledger)
        models = run_models(ledger, run) if run else [""]
        missing = [m for m in model or [] if m not in models]
        if missing:
            fail(f"--model {missing[0]}: run {run} has no cases run with it (it has {', '.join(models) or 'none'})")
        reports = []
        for one in [m for m in models if not model or m in model] or [""]:
            flips, ranges = [], {}
            if swept is not None and run:
                flips = sweep(load_run(ledger, run, suite=suite, cassettes=cassettes, model=one), settings, system_tokens=swept)
                ranges = swept_ranges(swept)
            reports.append(build(ledger, run, flips=flips, swept=ranges, model=one))
    except (GoldenError, LedgerError, CassetteError, FileNotFoundError, RayError) as err:
        fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    typer.echo(render_models(reports, format_))
