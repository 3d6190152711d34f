"""`flowtape cassettes show|prune`: read a cassette step by step; drop the recordings nothing uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness._cli._common import EXIT_FAILED, fail, project

app = typer.Typer(help="Look at a cassette step by step, or prune the recordings a suite no longer uses.", no_args_is_help=True)


@app.command("show")
def show(
    path: Annotated[Path, typer.Argument(help="A cassette file (.yaml or .json).")],
    width: Annotated[int, typer.Option("--width", min=20, help="Characters of each request shown.")] = 100,
) -> None:
    """List a cassette's recordings in order, one line each: step, kind, server, method, the
    request (cut to --width) and the size of the response."""
    from tabulate import tabulate

    from harness.cassettes import Cassette, CassetteError

    try:
        tape = Cassette.open(path, "none")
    except CassetteError as err:
        fail(str(err))
    meta = tape.meta
    servers = ", ".join(sorted(meta.get("servers") or {})) or "none"
    llm = (meta.get("llm") or {}).get("recorded_from")
    typer.echo(f"{path}: {len(tape.interactions)} interactions · flowtape {meta.get('flowtape', '?')} · servers: {servers}"
               + (f" · llm: {llm}" if llm else ""))
    rows = [(i.step or "(set-up)", i.kind, i.server, i.method, _cut(i.request, width), _size(i.response)) for i in tape.interactions]
    typer.echo(tabulate(rows, headers=["step", "kind", "server", "method", "request", "response"], tablefmt="simple"))


@app.command("prune")
def prune(
    suite: Annotated[Optional[Path], typer.Argument(help="The golden suite folder (tasks with task.yaml) (default: the project's `suite` setting, else goldens).", show_default=False)] = None,
    task: Annotated[Optional[list[str]], typer.Option("--task", help="Only this task (repeat for several).", show_default=False)] = None,
    case: Annotated[Optional[list[str]], typer.Option("--case", help="Only this case (repeat for several).", show_default=False)] = None,
    approach: Annotated[Optional[list[str]], typer.Option("--approach", help="Only this approach: ir, code, direct, or ir@<model> / code@<model> (what `flowtape author` saved for that model) (repeat for several).", show_default=False)] = None,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="Where the recordings are (default: the project's `cassettes` setting, else cassettes).", show_default=False)] = None,
    fixtures: Annotated[Optional[Path], typer.Option("--fixtures", help="Built fixtures (default .fixtures, or FLOWTAPE_FIXTURES).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be removed; write nothing.")] = False,
) -> None:
    """Replay every (case, approach) offline and remove from its cassette the recordings no call
    used (stale steps, calls the workflow no longer makes). A case whose replay did not complete
    is left alone: what it did not reach is not stale. Each cassette is rewritten atomically.
    Exit 0 when every replay completed, 1 when some were left alone, 2 for bad input."""
    proj = project()
    suite, cassettes = suite or proj.suite, cassettes or proj.cassettes
    from harness.cassettes import CassetteError, CassetteMiss, LeakedSecretError, RecordModeError
    from harness.goldens import GoldenError, load_suite, select_units
    from harness.suite import completed, run_case
    from runner import InvalidWorkflow

    try:
        units = select_units(load_suite(suite, task=task, case=case), approach)
    except GoldenError as err:
        fail(str(err))
    if not units:
        fail(f"{suite}: no (case, approach) to run (no selected task lists an approach)")
    left_alone = removed = 0
    for t, c, a in units:
        where = f"{t.name}/{c.name} [{a}]"
        try:
            run = run_case(t, c, cassettes=cassettes, mode="none", ci=True, fixtures=fixtures, approach=a)
        except (CassetteError, CassetteMiss, RecordModeError, InvalidWorkflow, GoldenError) as err:
            typer.echo(f"{where}: left alone, it cannot replay: {str(err).splitlines()[0]}")
            left_alone += 1
            continue
        if not completed(run.trace):
            typer.echo(f"{where}: left alone, its replay did not complete ({run.trace.error})")
            left_alone += 1
            continue
        dropped = run.cassette.prune_unused()
        if not dropped:
            continue
        removed += len(dropped)
        listed = "; ".join(i.summary(60) for i in dropped[:5])
        more = f"; and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        if not dry_run:
            try:
                run.cassette.save()
            except LeakedSecretError as err:
                fail(str(err))
        typer.echo(f"{where}: {'would remove' if dry_run else 'removed'} {len(dropped)} unused from {run.cassette.path}: {listed}{more}")
    typer.echo(f"{len(units)} cassettes replayed · {removed} unused recordings {'found' if dry_run else 'removed'}"
               + (f" · {left_alone} left alone" if left_alone else ""))
    if left_alone:
        raise typer.Exit(EXIT_FAILED)


def _cut(value: Any, width: int) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def _size(value: Any) -> str:
    return f"{len(json.dumps(value, ensure_ascii=False).encode()):,} B"
