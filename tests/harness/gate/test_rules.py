"""Each policy rule, passing and failing, on small ledgers (see conftest: every case has a tool
step of 1,000 result tokens and a model step of 120 tokens costing $0.001)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.gate import Failure, Policy, gate
from tests.harness.gate._ledgers import CONTEXT, ROOT, specs, write_run


def policy(**rules) -> Policy:
    return Policy.model_validate(rules)


def judge(ledger: Path, rules: dict, **kwargs) -> list[Failure]:
    return list(gate(ledger, policy(**rules), **kwargs).failures)


def test_a_clean_run_passes_the_default_policy(ledger: Path) -> None:
    result = gate(ledger)
    assert result.passed and result.exit_code == 0 and result.run.run_id == "base"
    case = result.run.cases[("meeting-times", "lisbon-tokyo", "ir", "")]  # "": a ledger written without models
    assert (case.tokens, case.cost_usd, case.passed) == (1120, 0.001, True)


# -- golden checks and min_pass_rate ----------------------------------------------------------

def test_a_failed_golden_check_fails_the_gate_by_default_naming_the_step(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    write_run(path, "r", specs(**{"lisbon-tokyo/ir": {"failed": ("steps.summary",)}}))
    [failure] = judge(path, {})
    assert (failure.task, failure.case, failure.approach, failure.step) == ("meeting-times", "lisbon-tokyo", "ir", "summary")
    assert (failure.rule, failure.metric, failure.value, failure.threshold) == ("default min_pass_rate", "pass_rate", 0.5, 1.0)
    assert failure.message == ("meeting-times/lisbon-tokyo [ir] step summary: pass_rate 50.0% < 100.0% (default min_pass_rate); "
                               "baseline n/a -- golden check failed: steps.summary JsonSchema: planted failure")


def test_min_pass_rate_allows_failures_up_to_the_rate(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    write_run(path, "r", specs(**{"lisbon-tokyo/code": {"failed": ("outputs.answer",)}}))
    result = gate(path, policy(min_pass_rate={"code": 0.5}))
    assert result.passed
    assert result.allowed == {("meeting-times", "lisbon-tokyo", "code", ""): ["golden check failed: outputs.answer Equals: planted failure"]}
    assert "allowed by min_pass_rate.code = 0.5" in result.notes[0]
    [failure] = judge(path, {"min_pass_rate": {"code": 0.9, "ir": 1.0}})
    assert failure.rule == "min_pass_rate.code" and failure.step is None and "outputs.answer" in failure.detail


def test_a_case_that_errored_fails_with_its_status(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    write_run(path, "r", specs(**{"new-york-berlin/ir": {"status": "error"}}))
    [failure] = judge(path, {})
    assert failure.case == "new-york-berlin" and failure.detail == "case error"


# -- absolute limits --------------------------------------------------------------------------

@pytest.mark.parametrize(("rules", "failing"), [
    ({"max_tokens_per_case": {"ir": 1120}}, []),
    ({"max_tokens_per_case": {"ir": 1119}}, [("lisbon-tokyo", "ir", None, "max_tokens_per_case.ir"), ("new-york-berlin", "ir", None, "max_tokens_per_case.ir")]),
    ({"max_tokens_per_case": 1119, "min_pass_rate": 1}, [(c, a, None, 'max_tokens_per_case."*"') for c in ("lisbon-tokyo", "new-york-berlin") for a in ("code", "ir")]),
    ({"max_cost_per_case": {"code": 0.001}}, []),
    ({"max_cost_per_case": {"code": 0.0009}}, [(c, "code", None, "max_cost_per_case.code") for c in ("lisbon-tokyo", "new-york-berlin")]),
    ({"max_tokens_per_step": {"*": 1000}}, []),
    ({"max_tokens_per_step": {"*": 5000, "convert": 999}}, [(c, "ir", "convert", "max_tokens_per_step.convert") for c in ("lisbon-tokyo", "new-york-berlin")]),
    ({"max_tokens_per_step": {"call-*:time.*": 999}}, [(c, "code", "call-1:time.convert_time", 'max_tokens_per_step."call-*:time.*"') for c in ("lisbon-tokyo", "new-york-berlin")]),
    ({"max_cost_per_step": {"summary": 0.001}}, []),
    ({"max_cost_per_step": {"summary": 0.0005}}, [(c, "ir", "summary", "max_cost_per_step.summary") for c in ("lisbon-tokyo", "new-york-berlin")]),
], ids=["case-tokens-ok", "case-tokens", "case-tokens-global", "case-cost-ok", "case-cost", "step-tokens-ok", "step-tokens",
        "step-pattern", "step-cost-ok", "step-cost"])
def test_limits_per_case_and_per_step(ledger: Path, rules: dict, failing: list[tuple]) -> None:
    failures = judge(ledger, rules)
    assert sorted((f.case, f.approach, f.step, f.rule) for f in failures) == sorted(failing)


def test_an_unknown_cost_breaks_a_cost_limit(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    write_run(path, "r", specs(**{"lisbon-tokyo/ir": {"cost_usd": None}}))
    failures = judge(path, {"max_cost_per_case": 1.0, "max_cost_per_step": {"*": 1.0}})
    assert sorted((f.step or "", f.value) for f in failures) == [("", None), ("summary", None)]
    assert all("no known price" in f.message and "cost_usd unknown, limit $1.000000" in f.message for f in failures)


# -- regressions against the baseline ---------------------------------------------------------

def regressed(ledger: Path, **changes) -> Path:
    write_run(ledger, "now", specs(**changes), context=CONTEXT)
    return ledger


def test_a_token_regression_names_the_step_first(ledger: Path) -> None:
    regressed(ledger, **{"lisbon-tokyo/ir": {"tool_tokens": 1500}})
    failures = judge(ledger, {"max_regression": {"tokens": {"relative": 0.1}}}, baseline="base")
    assert [(f.case, f.approach, f.step, f.value, f.baseline) for f in failures] == [
        ("lisbon-tokyo", "ir", "convert", 1500, 1000),  # +50%: the largest regression first
        ("lisbon-tokyo", "ir", None, 1620, 1120),       # the case, +44.6%
    ]
    assert failures[0].threshold == pytest.approx(1100)
    assert failures[0].message == ("meeting-times/lisbon-tokyo [ir] step convert: tokens 1,500 > 1,100 (max_regression.tokens); "
                                   "baseline 1,000 (+50.0%) -- allowed growth: relative 0.1")
    assert judge(ledger, {"max_regression": {"tokens": {"relative": 0.5}}}, baseline="base") == []
    # the larger allowance applies: 600 tokens absolute covers the +500
    assert judge(ledger, {"max_regression": {"tokens": {"relative": 0.1, "absolute": 600}}}, baseline="base") == []


def test_cost_and_duration_regressions(ledger: Path) -> None:
    regressed(ledger, **{"new-york-berlin/code": {"cost_usd": 0.002, "duration_ms": 400.0, "step_ms": 12.0}})
    failures = judge(ledger, {"max_regression": {"cost": {"relative": 0.5}, "duration": {"relative": 1.0, "absolute": 50}}}, baseline="base")
    assert sorted((f.metric, f.case, f.approach, f.step or "") for f in failures) == [
        ("cost_usd", "new-york-berlin", "code", ""), ("cost_usd", "new-york-berlin", "code", "call-2:llm"),
        ("duration_ms", "new-york-berlin", "code", ""),  # steps grew 2 ms: inside the 50 ms allowance
    ]
    assert judge(ledger, {"max_regression": {"cost": {"relative": 1.0}, "duration": {"absolute": 300}}}, baseline="base") == []


def test_a_pass_rate_regression_names_the_cases_that_flipped(ledger: Path) -> None:
    regressed(ledger, **{"new-york-berlin/ir": {"failed": ("outputs.answer",)}})
    rules = {"min_pass_rate": 0.5, "max_regression": {"pass_rate": {"absolute": 0.0}}}
    [failure] = judge(ledger, rules, baseline="base")
    assert (failure.rule, failure.case, failure.approach, failure.value, failure.baseline) == ("max_regression.pass_rate", "new-york-berlin", "ir", 0.5, 1.0)
    assert "passed in the baseline, fails now" in failure.message
    assert judge(ledger, {**rules, "max_regression": {"pass_rate": {"absolute": 0.5}}}, baseline="base") == []


def test_without_a_baseline_regressions_are_noted_not_checked(ledger: Path) -> None:
    result = gate(ledger, policy(max_regression={"tokens": {"relative": 0.0}}))
    assert result.passed and result.baseline is None
    assert "no baseline: max_regression not checked" in result.notes[0]


# -- required savings and schema sizes --------------------------------------------------------

def test_required_savings_on_orchestrator_context(ledger: Path) -> None:
    assert judge(ledger, {"required_savings": [{"approach": "ir", "over": "direct", "at_least": 0.7}]}) == []
    failures = judge(ledger, {"required_savings": [{"approach": "code", "over": "direct", "at_least": 0.7}]})
    assert [(f.case, f.approach, round(f.value, 3)) for f in failures] == [("lisbon-tokyo", "code", 0.6), ("new-york-berlin", "code", 0.6)]
    assert "code over direct: 400 vs 1,000 orchestrator context tokens per run" in failures[0].message


def test_required_savings_without_figures_fail(ledger: Path) -> None:
    write_run(ledger, "partial", specs(), context={("lisbon-tokyo", "ir"): 300, ("lisbon-tokyo", "code"): 400})
    [failure] = judge(ledger, {"required_savings": [{"approach": "ir", "over": "direct", "at_least": 0.5}]}, run_id="partial")
    assert "no case has context figures for both ir and direct" in failure.message


def test_max_schema_tokens_per_server_from_the_cassettes(ledger: Path) -> None:
    # mcp-server-time's two tools, as recorded: 261 tokens (o200k_base)
    assert judge(ledger, {"max_schema_tokens": {"time": 261}}, cassettes=ROOT / "cassettes") == []
    [failure] = judge(ledger, {"max_schema_tokens": 200}, cassettes=ROOT / "cassettes")
    assert (failure.server, failure.value, failure.threshold) == ("time", 261, 200)
    assert failure.message.startswith('server time: schema_tokens 261 > 200 (max_schema_tokens."*"); baseline n/a -- 2 tools, tools/list recorded in ')


def test_an_interrupted_run_fails(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    write_run(path, "r", specs()[:1], status="interrupted")
    [failure] = judge(path, {})
    assert failure.message == "run: run r is interrupted: not every case completed"
