"""Compare approaches (direct, code, ir) on the same recorded cases, from the ledger.

    from harness.compare import account_run, compare, load_run, render, sweep, swept_ranges

    account_run("reports/ledger.duckdb")                 # context rows of the latest run (+ direct, modelled)
    flips = sweep(load_run("reports/ledger.duckdb"))     # verdicts that flip within the modelled constants' range
    report = compare("reports/ledger.duckdb", flips=flips, swept=swept_ranges())
    print(render(report, "markdown"))                    # rows where an approach does not win are marked

Per case first: pass/fail, the orchestrator's context tokens per run (read and written apart),
cost, the llm nodes' own tokens apart, authoring, and the per-run gap to direct as the tool calls'
savings plus the rest; then per tool call; then per task as labelled means over its cases, with
payback against direct. For each pair of approaches a seeded paired bootstrap 95% interval of the
per-run token difference (from 10 paired cases) and an exact two-sided McNemar test on pass/fail
(from 6 discordant pairs), "n too small (n=...)" otherwise.
"""

from harness.compare._account import LoadedRun, account_run, context_costs, latest_run, load_run, run_models, schemas_from_cassette
from harness.compare._render import NOT_WIN, RenderFormat, approach_label, render, render_models
from harness.compare._report import (
    MIN_MEDIAN_CALLS,
    ApproachSummary,
    CallSaving,
    CaseFigures,
    Flip,
    PairComparison,
    Report,
    compare,
    verdicts,
)
from harness.compare._stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    MIN_BOOTSTRAP_PAIRS,
    MIN_DISCORDANT_PAIRS,
    BootstrapInterval,
    mcnemar_exact,
    paired_bootstrap,
    quantile,
    too_small,
)
from harness.compare._sweep import CALLS_PER_TURN, SYSTEM_TOKENS, sweep, swept_ranges

__all__ = [
    "ApproachSummary",
    "BootstrapInterval",
    "CALLS_PER_TURN",
    "CallSaving",
    "CaseFigures",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "Flip",
    "LoadedRun",
    "MIN_BOOTSTRAP_PAIRS",
    "MIN_DISCORDANT_PAIRS",
    "MIN_MEDIAN_CALLS",
    "NOT_WIN",
    "PairComparison",
    "RenderFormat",
    "Report",
    "SYSTEM_TOKENS",
    "account_run",
    "approach_label",
    "compare",
    "context_costs",
    "latest_run",
    "load_run",
    "mcnemar_exact",
    "paired_bootstrap",
    "quantile",
    "render",
    "render_models",
    "run_models",
    "schemas_from_cassette",
    "sweep",
    "swept_ranges",
    "too_small",
    "verdicts",
]
