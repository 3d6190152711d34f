"""`flowtape diff A B`: what changed between two runs of the ledger, or two workflow files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import fail, project


def diff(
    a: Annotated[str, typer.Argument(help="The first run (A): a run id, latest, previous, baseline (the gate's), git:<commit>; or a workflow file.", show_default=False)],
    b: Annotated[str, typer.Argument(help="The second run (B), as A; or a workflow file when A is one.", show_default=False)] = "latest",
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
    format_: Annotated[str, typer.Option("--format", help="table (terminal), markdown or json.")] = "table",
) -> None:
    """Compare two runs case by case, the changes that matter first: a golden check that now
    fails, a status change, steps that ran in one run and not the other, step outputs that
    changed (the path and both values; strings from where they part ways), then token, cost and
    duration deltas. Given two workflow files (JSON IR or .pflow.md), compare their structure with node ids as
    keys: nodes and edges added or removed, params, inputs and outputs changed. Exit 0 when
    nothing changed, 1 when something did, 2 for bad input."""
    from harness.diff import DiffError, diff_runs, diff_workflows, render_runs, render_workflows
    from runner import JSONInputError
    from runner.pflowmd import read_workflow, without_annotations

    if format_ not in ("table", "markdown", "json"):
        fail(f"--format {format_!r}: choose table, markdown or json")
    workflow = (".json", ".md")  # JSON IR or pflow's markdown (`.pflow.md`)
    if a.endswith(workflow) or b.endswith(workflow):
        if not (a.endswith(workflow) and b.endswith(workflow)):
            fail(f"{a if not a.endswith(workflow) else b}: a workflow is compared with a workflow (two .json or .pflow.md files), a run with a run")
        try:
            # the markdown's line annotations are where things are written, not what the workflow is
            documents = [without_annotations(read_workflow(Path(path))) for path in (a, b)]
        except JSONInputError as err:
            fail(str(err))
        except OSError as err:
            fail(f"{err.filename}: {err.strerror}")
        result = diff_workflows(documents[0], documents[1], a, b)
        typer.echo(render_workflows(result, format_), nl=False)
        raise typer.Exit(1 if result.changed else 0)
    try:
        runs = diff_runs(ledger or project().ledger, a, b)
    except DiffError as err:
        fail(str(err))
    typer.echo(render_runs(runs, format_), nl=False)
    raise typer.Exit(1 if runs.cases else 0)
