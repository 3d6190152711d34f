"""`flowtape report`: one run's report -- cases, tokens, savings, cost, pass rates -- from the
ledger alone, for a terminal, as markdown, or as one self-contained HTML page with charts."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import fail, project


class ReportFormat(str, Enum):
    terminal = "terminal"
    markdown = "markdown"
    html = "html"


def report(
    run: Annotated[Optional[str], typer.Option("--run", help="The run to report (default: the latest run of the ledger).")] = None,
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
    format_: Annotated[ReportFormat, typer.Option("--format", help="terminal, markdown or html.")] = ReportFormat.terminal,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the report here (html default: <the project's `reports` setting, reports>/report-<run_id>.html).")] = None,
    last_runs: Annotated[int, typer.Option("--last-runs", min=1, help="Runs in the cost history, ending with this one.")] = 10,
    baseline: Annotated[str, typer.Option("--baseline", help="What the 'changed since baseline' view compares with: baseline (the gate's recorded one, if any), a run id, previous, git:<commit>; none for no comparison.")] = "baseline",
) -> None:
    """Report a run from the ledger alone (no traces or cassettes needed): the run, case x
    approach x status with every failing check, tokens per approach per task, savings per tool
    call, cost over the last runs and pass rate per step, and what changed since the baseline
    (`flowtape diff BASELINE RUN`, case by case). html is one file with inline CSS, SVG charts and
    the cases as JSON, paged and filtered by its script; it loads nothing. Exit 2 for a missing
    ledger or an unknown run."""
    from harness.accounting import LedgerError
    from harness.reports import UnknownRunError, build_report, to_html, to_markdown, to_terminal
    from runner.trace import write_atomic

    ledger = ledger or project().ledger  # the project's settings are read only when they are needed
    if not ledger.exists():
        fail(f"{ledger}: no such ledger (flowtape test writes it)")
    try:
        data = build_report(ledger, run, last_runs=last_runs, baseline=None if baseline == "none" else baseline)
    except (UnknownRunError, LedgerError, FileNotFoundError) as err:
        fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    render = {ReportFormat.terminal: to_terminal, ReportFormat.markdown: to_markdown, ReportFormat.html: to_html}[format_]
    text = render(data)
    if out is None and format_ is ReportFormat.html:
        out = project().reports / f"report-{data.run.run_id}.html"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, text)
    except OSError as err:
        fail(f"{out}: cannot write the report: {err.strerror or err}")
    typer.echo(f"flowtape report: run {data.run.run_id} written to {out}")
