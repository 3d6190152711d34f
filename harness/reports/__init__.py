"""Reports of one run, built from the ledger alone: a past run's report can be rebuilt when its
traces and cassettes are gone.

    from harness.reports import build_report, to_html, to_markdown, to_terminal

    data = build_report("reports/ledger.duckdb")              # the latest run; or run_id="..."
    print(to_terminal(data))                                  # tabulate tables
    Path("report.html").write_text(to_html(data))             # one self-contained page, four SVG charts
    build_report(ledger, baseline="previous")                 # compared with another run than the gate's baseline

Sections: the run (id, time, git commit, suite); case x approach x status with every failing
check (target, evaluator, reason); the cases that changed since the baseline (`harness.diff`,
against the gate's recorded baseline by default); tokens per approach per task (the orchestrator's context from
`context_tokens` when `flowtape compare` accounted the run, else measured tool results + model
tokens); savings per tool call (`savings_per_tool_call`); cost over the last runs (model calls
and per-run context, each line one accounting); pass rate per step (evaluations grouped by
target). The HTML adds every case's steps from the stored traces, paged and filtered in the page.
"""

from harness.reports._build import DEFAULT_LAST_RUNS, build_report
from harness.reports._data import (
    Baseline,
    CaseChange,
    CaseRow,
    FailedCheck,
    ReportData,
    RunCost,
    RunHeader,
    StepPassRate,
    TaskTokens,
    TokenSource,
    ToolCallSaving,
    UnknownRunError,
)
from harness.reports._html import to_html
from harness.reports._text import to_markdown, to_terminal

__all__ = [
    "Baseline",
    "CaseChange",
    "CaseRow",
    "DEFAULT_LAST_RUNS",
    "FailedCheck",
    "ReportData",
    "RunCost",
    "RunHeader",
    "StepPassRate",
    "TaskTokens",
    "TokenSource",
    "ToolCallSaving",
    "UnknownRunError",
    "build_report",
    "to_html",
    "to_markdown",
    "to_terminal",
]
