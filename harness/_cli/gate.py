"""`flowtape gate`: judge the latest run of the ledger by the policy, against a baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import EXIT_FAILED, fail, project


def gate(
    policy: Annotated[Optional[Path], typer.Option("--policy", help="A TOML policy file with a gate (or tool.flowtape.gate) table; default: the project's flowtape.toml gate table or pyproject.toml tool.flowtape.gate table.")] = None,
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
    run: Annotated[Optional[str], typer.Option("--run", help="The run to judge (default: the latest run with cases).")] = None,
    baseline: Annotated[Optional[str], typer.Option("--baseline", help="A run id of the ledger, another ledger file (its latest run), or git:<commit> (the latest run at that commit); default: the one --update-baseline recorded.")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here: a test case per case x approach, a failure per violated rule.")] = None,
    summary: Annotated[Optional[Path], typer.Option("--summary", help="Write a markdown summary here (e.g. $GITHUB_STEP_SUMMARY).")] = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="Record the run as the ledger's baseline and exit 0 (nothing is judged).")] = False,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="Where the run's recordings are, for schema tokens (default: the folder the run replayed from).")] = None,
    allow_no_policy: Annotated[bool, typer.Option("--allow-no-policy", help="With no policy found, judge by the defaults (every case must pass its golden checks) instead of exiting 2.")] = False,
) -> None:
    """Judge a run by the gate policy -- pass rates, tokens and cost per case and per step,
    regressions against a baseline, required savings between approaches, MCP schema sizes --
    and print every failure naming task, case, approach, step, metric, value, threshold and
    baseline. Exit 0 when the gate passes, 1 when it fails, 2 for bad input (no policy found
    is bad input unless --allow-no-policy)."""
    from harness import gate as lib

    ledger = ledger or project().ledger
    if update_baseline and baseline is not None:
        fail("--update-baseline records the judged run as the baseline; it takes no --baseline")
    try:
        if update_baseline:
            run_id = lib.update_baseline(ledger, run, cassettes=cassettes)
            typer.echo(f"flowtape gate: baseline of {ledger} is now run {run_id}")
            return
        loaded = lib.load_policy(policy) if policy is not None else lib.find_policy()
        if loaded.source is None and not allow_no_policy:
            fail(f"no gate policy found (no [gate] in a flowtape.toml or [tool.flowtape.gate] in a pyproject.toml, looked from {Path.cwd()} up for a flowtape.toml, or a pyproject.toml with [tool.flowtape]); "
                 "give --policy FILE, or --allow-no-policy to judge by the defaults")
        result = lib.gate(ledger, loaded, run_id=run, baseline=baseline, cassettes=cassettes)
    except lib.GateError as err:
        fail(str(err))
    typer.echo(lib.render_text(result))
    try:
        if junit is not None:
            lib.write_junit(result, junit)
        if summary is not None:
            summary.parent.mkdir(parents=True, exist_ok=True)
            summary.write_text(lib.render_markdown(result), encoding="utf-8")
    except OSError as err:
        fail(f"cannot write the report: {err}")
    if result.exit_code:
        raise typer.Exit(EXIT_FAILED)
