"""The release gate: judge a run of the ledger by a policy, against a baseline.

    from harness.gate import find_policy, gate, render_markdown, update_baseline, write_junit

    update_baseline("reports/ledger.duckdb")                  # on main: this run is the baseline
    result = gate("reports/ledger.duckdb", find_policy())     # on a PR: the latest run vs the baseline
    result.exit_code                                          # 0 passed, 1 failed
    for failure in result.failures:                           # the largest regression first
        print(failure.message)  # git-release-digest/full-history [ir] step log: tokens 78,112 > 42,962 (max_regression.tokens); baseline 39,056 (+100.0%) ...
    write_junit(result, "reports/gate.xml")
    print(render_markdown(result))

The policy (`[tool.flowtape.gate]` in pyproject.toml, `[gate]` in flowtape.toml) is described in
`harness.gate._policy`, the figures it reads in `harness.gate._figures`, where the baseline is
kept in `harness.gate._baseline`.
"""

from harness.gate._baseline import BASELINE_DDL, BaselineRef, recorded_baseline, resolve_baseline
from harness.gate._figures import CaseFigures, RunFigures, StepFigures, load_run
from harness.gate._gate import GateResult, gate, update_baseline
from harness.gate._policy import (
    APPROACHES,
    GateError,
    Limit,
    LoadedPolicy,
    MaxRegression,
    Policy,
    PolicyError,
    Savings,
    find_policy,
    load_policy,
)
from harness.gate._report import GATE_SUITE, render_markdown, render_text, write_junit
from harness.gate._rules import Failure
from harness.gate._schemas import ServerSchema, schema_tokens

__all__ = [
    "APPROACHES",
    "BASELINE_DDL",
    "BaselineRef",
    "CaseFigures",
    "Failure",
    "GATE_SUITE",
    "GateError",
    "GateResult",
    "Limit",
    "LoadedPolicy",
    "MaxRegression",
    "Policy",
    "PolicyError",
    "RunFigures",
    "Savings",
    "ServerSchema",
    "StepFigures",
    "find_policy",
    "gate",
    "load_policy",
    "load_run",
    "recorded_baseline",
    "render_markdown",
    "render_text",
    "resolve_baseline",
    "schema_tokens",
    "update_baseline",
    "write_junit",
]
