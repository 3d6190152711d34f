"""Compare approaches (direct, code, ir) on the same recorded cases, from the ledger.

    from harness.compare import account_run, compare, render

    account_run("reports/ledger.duckdb")                 # context rows of the latest run (+ direct, modelled)
    report = compare("reports/ledger.duckdb")            # pass rates, tokens, cost, savings, paired tests
    print(render(report, "markdown"))                    # rows where an approach does not win are marked

Per task and over every task: pass rate per approach, context tokens and cost per run, authoring
tokens and payback against direct, savings per tool call (median and total), and for each pair of
approaches a seeded paired bootstrap 95% interval of the per-run token difference and an exact
two-sided McNemar test on pass/fail.
"""

from harness.compare._account import account_run, schemas_from_cassette
from harness.compare._render import NOT_WIN, RenderFormat, render
from harness.compare._report import ApproachSummary, CaseFigures, PairComparison, Report, compare
from harness.compare._stats import DEFAULT_RESAMPLES, DEFAULT_SEED, BootstrapInterval, mcnemar_exact, paired_bootstrap, quantile

__all__ = [
    "ApproachSummary",
    "BootstrapInterval",
    "CaseFigures",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "NOT_WIN",
    "PairComparison",
    "RenderFormat",
    "Report",
    "account_run",
    "compare",
    "mcnemar_exact",
    "paired_bootstrap",
    "quantile",
    "render",
    "schemas_from_cassette",
]
