"""`flowtape test [SUITE]`: replay every case offline, judge every step, write the ledger."""

from __future__ import annotations

import json
import re
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness._cli._common import MESSAGE_LIMIT, AddressOption, ExecutorName, ExecutorOption, fail, project
from harness._readers import clip


_NOT_RUN = re.compile(r"step '(.+)' did not run")  # an evaluator's reason for a step that never ran


class Format(str, Enum):
    table = "table"
    json = "json"


def test(
    suite: Annotated[Optional[Path], typer.Argument(help="The golden suite folder (tasks with task.yaml) (default: the project's `suite` setting, else goldens).", show_default=False)] = None,
    task: Annotated[Optional[list[str]], typer.Option("--task", help="Only this task (repeat for several).", show_default=False)] = None,
    case: Annotated[Optional[list[str]], typer.Option("--case", help="Only this case (repeat for several).", show_default=False)] = None,
    approach: Annotated[Optional[list[str]], typer.Option("--approach", help="Only this approach: ir, code, direct, or ir@<model> / code@<model> (what `flowtape author` saved for that model) (repeat for several).", show_default=False)] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", help="Run every case under this model (a litellm model name; repeat to compare models on the same cases); each model's recordings are its own (see `flowtape record --model`). Default: each task's llm.model.", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Cases run in parallel in this many processes (default: the project's `workers` setting, else 1).", show_default=False)] = None,
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger the run is added to (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="Where the recordings are (default: the project's `cassettes` setting, else cassettes).", show_default=False)] = None,
    traces: Annotated[Optional[Path], typer.Option("--trace-dir", help="Traces are written to <DIR>/<run_id>/ (default: the project's `traces` setting, else reports/traces).", show_default=False)] = None,
    strict: Annotated[bool, typer.Option("--strict", help="A case that leaves recordings unused fails.")] = False,
    tokenizer: Annotated[str, typer.Option("--tokenizer", help="tiktoken encoding for token counts.")] = "o200k_base",
    format_: Annotated[Format, typer.Option("--format", help="table: for people; json: one object per run.")] = Format.table,
    executor: ExecutorOption = ExecutorName.local,
    address: AddressOption = None,
) -> None:
    """Replay every (case, approach) of the suite from its cassettes (offline: no server, no
    model, no key), judge each step and output against the golden case, add the run to the
    ledger, and print case x approach x status with the failing steps and why. Exit 0 when all
    pass, 1 when any fails, 2 for bad input (also when a case cannot run: a corrupt cassette, an
    invalid workflow; it is still recorded in the ledger, as an error)."""
    from harness._ray import RayError
    from harness.accounting import LedgerError
    from harness.goldens import GoldenError
    from harness.suiterun import SuiteOptions, run_suite

    proj = project()
    suite, ledger, cassettes, traces = suite or proj.suite, ledger or proj.ledger, cassettes or proj.cassettes, traces or proj.traces
    workers = workers or proj.workers
    options = SuiteOptions(suite=suite, task=task, case=case, approach=approach, models=model, workers=workers, ledger=ledger,
                           cassettes=cassettes, traces=traces, tokenizer=tokenizer, strict=strict, executor=executor.value, address=address)
    try:
        result = run_suite(options, progress=_progress(len(set(model or ())) > 1), started=_started(workers, executor.value))
    except (GoldenError, LedgerError, RayError) as err:
        fail(str(err))
    if format_ is Format.json:
        typer.echo(json.dumps({"run_id": result.run_id, "exit_code": result.exit_code, "ledger": str(result.ledger),
                               "units": [vars(u) for u in result.units], "skipped": result.skipped}, default=str))
    else:
        _print_table(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _started(workers: int, executor: str = "local") -> Any:
    """The first line, as soon as the run starts (the first case can take seconds)."""
    def say(units: int, run_id: str) -> None:
        where = "on Ray" if executor == "ray" else f"{min(workers, units)} worker{'s' * (min(workers, units) > 1)}"
        print(f"flowtape test: {units} cases, {where}, run {run_id}", file=sys.stderr, flush=True)

    return say


def _progress(several_models: bool = False) -> Any:
    """A rich progress bar on a terminal; one line per finished case elsewhere (CI logs)."""
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("[bold]flowtape test"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       TextColumn("{task.description}"), console=Console(stderr=True), transient=True)
        state: dict[str, Any] = {}

        def live(unit: Any, done: int, total: int) -> None:
            if "task" not in state:
                bar.start()
                state["task"] = bar.add_task("", total=total)
            bar.update(state["task"], completed=done, description=f"{unit.task}/{unit.case} {unit.status}")
            if done == total:
                bar.stop()

        return live

    def report(unit: Any, done: int, total: int) -> None:
        note = f" ({clip(unit.error, MESSAGE_LIMIT)})" if unit.error else ""
        label = f"{unit.approach} · {unit.model}" if several_models else unit.approach
        print(f"[{done}/{total}] {unit.task}/{unit.case} [{label}] {unit.status} {unit.duration_ms:.0f} ms{note}", file=sys.stderr, flush=True)

    return report


def _print_table(result: Any) -> None:
    from tabulate import tabulate

    models = len({u.model for u in result.units}) > 1  # a column (and a label) only when there is a choice
    rows = [(u.task, u.case, u.approach, *([u.model] if models else []), u.status, len(u.failures) or "") for u in result.units]
    typer.echo(tabulate(rows, headers=["task", "case", "approach", *(["model"] if models else []), "status", "failed checks"], tablefmt="simple"))
    failing = [u for u in result.units if u.status != "passed"]
    if failing:
        typer.echo("")
    for u in failing:
        where = f"{u.task}/{u.case} [{u.approach}{' · ' + u.model if models else ''}]"
        failures = u.failures
        if u.error:
            typer.echo(f"{where}: {clip(u.error, MESSAGE_LIMIT)}")
            # The run stopped: the checks of the steps after it failed only because those never
            # ran. One line for them, under the cause, rather than one each burying it.
            knock_on = [f for f in failures if _NOT_RUN.fullmatch(f[2] or "")]
            if knock_on:
                steps = list(dict.fromkeys(_NOT_RUN.fullmatch(reason).group(1) for _, _, reason in knock_on))  # type: ignore[union-attr]
                typer.echo(f"{where}: so {len(steps)} later step(s) did not run ({', '.join(steps)}): {len(knock_on)} check(s) failed for that")
                failures = [f for f in failures if f not in knock_on]
        for target, evaluator, reason in failures:
            typer.echo(f"{where} {target} {evaluator}: {clip(reason, MESSAGE_LIMIT)}")
    stale = [(u, line) for u in result.units for line in u.unused]
    if stale:
        typer.echo(f"\n{len(stale)} stale recording(s), not used by this run (`flowtape cassettes prune` removes them; --strict fails on them):")
        for u, line in stale[:20]:
            typer.echo(f"  {u.task}/{u.case} [{u.approach}] {line}")
        if len(stale) > 20:
            typer.echo(f"  ... and {len(stale) - 20} more")
    for note in result.skipped:
        typer.echo(f"skipped: {note}")
    passed = sum(u.status == "passed" for u in result.units)
    typer.echo(f"\n{len(result.units)} cases: {passed} passed, {len(result.units) - passed} failed · run {result.run_id} · "
               f"ledger {result.ledger} · {result.seconds:.1f} s")
