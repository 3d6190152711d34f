"""The release gate: judge a run of the ledger by a policy, against a baseline.

    from harness.gate import find_policy, gate, render_markdown, update_baseline, write_junit

    update_baseline("reports/ledger.duckdb")                  # on main: this run is the baseline
    result = gate("reports/ledger.duckdb", find_policy())     # on a PR: the latest run vs the baseline
    result.exit_code                                          # 0 passed, 1 failed
    for failure in result.failures:                           # the largest regression first
        print(failure.message)
    # git-release-digest/last-50 [ir] step log: tokens 5,784 > 5,259 (max_regression.tokens); baseline 4,781 (+21.0%) -- allowed growth: relative 0.1
    write_junit(result, "reports/gate.xml")
    print(render_markdown(result))

The policy: `[tool.flowtape.gate]` in pyproject.toml or `[gate]` in flowtape.toml (found from the
current folder up; both is an error), or any TOML file given. Every rule is optional:

    [tool.flowtape.gate]
    min_pass_rate = {ir = 1.0, code = 0.9}              # per approach ("*": any other); default 1.0
    max_tokens_per_case = {ir = 60000, "*" = 80000}     # or one number for every approach
    max_cost_per_case = 0.05                            # USD
    max_tokens_per_step = {"*" = 45000, headline = 300} # step id patterns (fnmatch); the most specific applies
    max_cost_per_step = {"call-*" = 0.01}
    max_schema_tokens = {git = 1200, "*" = 2000}        # per MCP server, its tools/list definitions
    required_savings = [{approach = "ir", over = "direct", at_least = 0.5}]
    max_regression = {tokens = {relative = 0.10}, cost = {relative = 0.10, absolute = 0.001},
                      duration = {relative = 0.5, absolute = 2000}, pass_rate = {absolute = 0.0}}

What each figure is (`harness.gate._figures`): a case's or step's **tokens** are its model calls'
prompt + completion tokens as reported plus its MCP results' tokens; **cost** is its model calls'
USD (unknown when a price is: a cost limit then fails); **duration** is milliseconds. A case
**passes** when its run passed and no golden check failed.

The rules (`harness.gate._rules`):

- golden checks: an approach whose pass rate is under its `min_pass_rate` (default 1.0: every case
  must pass) fails with one failure per failing step or output of each failing case; when the rate
  holds, those cases are allowed and listed as notes (and in the JUnit test case's system-out).
- `max_*_per_case` / `max_*_per_step`: value > limit fails.
- `max_regression` needs a baseline: tokens, cost and duration per (task, case, approach) and per
  step both runs have; the allowed growth is max(absolute, relative x baseline). `pass_rate` is
  per approach over the cases both runs have (a drop past max(absolute, relative x baseline)),
  and names every case that passed in the baseline and fails now. No baseline: noted, not checked.
- `required_savings`: per case, 1 - approach / over on the orchestrator context tokens per run
  (`context_tokens`, phase `per_run`; computed into the ledger as `flowtape compare` does when the
  run has none); no case with both figures fails too.
- `max_schema_tokens`: a server's recorded `tools/list` answer, counted as
  `harness.accounting.context.schema_text` counts it, from the run's cassettes.
- a run that did not complete fails.

The baseline (`harness.gate._baseline`) is kept in the ledger, table `gate_baseline`, written by
`update_baseline` (`flowtape gate --update-baseline`); `--baseline` takes a run id, another
ledger file (its latest run) or `git:<commit>` (the latest run at that commit) instead.
"""

from typing import TYPE_CHECKING

from runner._lazy import lazy_getattr

# Exported lazily: `flowtape diff` and the report read the recorded baseline
# (`harness.gate._baseline`) without the gate's rules, report and schema counting.
_WHERE = {
    **{name: ("harness.gate._baseline", name) for name in ("BASELINE_DDL", "BaselineRef", "recorded_baseline", "resolve_baseline")},
    **{name: ("harness.gate._figures", name) for name in ("CaseFigures", "RunFigures", "StepFigures", "load_run")},
    **{name: ("harness.gate._gate", name) for name in ("GateResult", "gate", "update_baseline")},
    **{name: ("harness.gate._policy", name) for name in ("APPROACHES", "GateError", "Limit", "LoadedPolicy", "MaxRegression", "Policy",
                                                         "PolicyError", "Savings", "find_policy", "load_policy")},
    **{name: ("harness.gate._report", name) for name in ("GATE_SUITE", "render_markdown", "render_text", "write_junit")},
    "Failure": ("harness.gate._rules", "Failure"),
    **{name: ("harness.gate._schemas", name) for name in ("ServerSchema", "schema_tokens")},
}

__getattr__ = lazy_getattr(__name__, _WHERE, globals())

if TYPE_CHECKING:
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
