"""`build_report` reads a run's report from the ledger alone: the shipped suite, replayed."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from harness.accounting import query
from harness.reports import FailedCheck, UnknownRunError, build_report


def test_the_latest_run_is_reported_by_default(replayed):
    assert build_report(replayed.ledger).run.run_id == replayed.run


def test_the_header_names_run_time_commit_and_suite(replayed):
    run = build_report(replayed.ledger, replayed.run).run
    _, rows = query(replayed.ledger, "SELECT git_commit, suite FROM runs WHERE run_id = ?", [replayed.run])
    assert (run.git_commit, run.suite) == rows[0] and run.suite.endswith("goldens")
    assert run.status == "completed" and run.started_at.endswith(" UTC") and run.started_at <= run.finished_at


def test_every_case_and_approach_passed_with_its_checks_counted(replayed):
    data = build_report(replayed.ledger, replayed.run)
    assert len(data.cases) == 89 and data.passed == 89  # 42 x (ir, code) + doc-intake's 5 (ir)
    assert {(c.task, c.approach) for c in data.cases} >= {("review-triage", "ir"), ("review-triage", "code")}
    assert sum(c.checks for c in data.cases) == 385  # as tests/harness/test_cli_suite.py counts them
    assert all(not c.failed and c.error is None for c in data.cases)


def test_a_failing_check_names_target_evaluator_and_reason(replayed):
    data = build_report(replayed.ledger, replayed.first)
    failing = {(c.case, c.approach): c for c in data.cases if c.status == "failed"}
    assert set(failing) == {("lisbon-tokyo", "ir"), ("lisbon-tokyo", "code")}
    (check,) = failing["lisbon-tokyo", "ir"].failed
    assert isinstance(check, FailedCheck) and (check.target, check.evaluator) == ("outputs.difference", "Equals")
    assert "+9.0h" in check.reason and "+8.0h" in check.reason
    rates = {(p.task, p.target): (p.passed, p.total) for p in data.pass_rates}
    assert rates["meeting-times", "outputs.difference"] == (14, 16)  # eight cases x two approaches, one case wrong


def test_tokens_come_from_the_context_rows_with_direct_modelled(replayed):
    data = build_report(replayed.ledger, replayed.run)
    assert data.tokens_source == "context"
    figures = {(t.task, t.approach): t for t in data.tokens}
    assert len(figures) == 26  # eight tasks x direct (modelled for every task), code, ir; doc-intake x direct, ir
    for task in ("git-release-digest", "meeting-times", "review-triage", "team-memory"):
        assert figures[task, "direct"].per_run_tokens > figures[task, "ir"].per_run_tokens > 0
        assert figures[task, "direct"].authoring_tokens is None and figures[task, "ir"].authoring_tokens > 0
    _, rows = query(replayed.ledger, """SELECT avg(t) FROM (SELECT "case", sum(tokens) AS t FROM context_tokens
                                         WHERE run_id = ? AND task = 'git-release-digest' AND approach = 'ir' AND phase = 'per_run'
                                         AND component <> 'llm_calls' GROUP BY 1)""", [replayed.run])
    assert figures["git-release-digest", "ir"].per_run_tokens == pytest.approx(rows[0][0])


def test_without_context_rows_tokens_are_measured_tool_results_and_model_tokens(replayed):
    data = build_report(replayed.ledger, replayed.first)
    assert data.tokens_source == "measured" and data.savings == ()
    _, rows = query(replayed.ledger, """SELECT (SELECT sum(result_tokens) FROM tool_calls WHERE run_id = $r AND approach = 'ir')
                                            + coalesce((SELECT sum(prompt_tokens + completion_tokens) FROM llm_calls WHERE run_id = $r AND approach = 'ir'), 0)""",
                    {"r": replayed.first})
    (ir,) = [t for t in data.tokens if t.approach == "ir"]
    assert ir.cases == 8 and ir.per_run_tokens == pytest.approx(rows[0][0] / 8)


def test_savings_are_every_recorded_tool_call_largest_first(replayed):
    savings = build_report(replayed.ledger, replayed.run).savings
    assert sum(s.approach == "ir" for s in savings) == sum(s.approach == "code" for s in savings) == 107
    assert [s.saved_tokens for s in savings] == sorted((s.saved_tokens for s in savings), reverse=True)
    top = savings[0]
    # The 130 KB git log whose changelog draft is then written through another tool: under direct
    # calling both the log and the draft pass through the model.
    assert (top.task, top.case, top.tool) == ("changelog-export", "full-history", "git_log")
    assert top.saved_tokens == top.direct_tokens - top.approach_tokens > 30_000


def test_cost_history_ends_with_the_run_and_ignores_later_runs(replayed):
    costs = build_report(replayed.ledger, replayed.run).costs
    assert [c.run_id for c in costs] == [replayed.first, replayed.run]
    first, run = costs
    assert first.context_cost_usd is None and first.llm_cost_usd == 0  # not compared; SmolLM2 is priced 0
    assert run.context_cost_usd > 0 and run.total_usd == pytest.approx(run.llm_cost_usd + run.context_cost_usd)
    # how each figure was accounted, for the chart's lines: SmolLM2's calls are all priced (at 0); compare priced the context
    assert first.llm_accounting == run.llm_accounting == "every call priced"
    assert first.context_accounting is None and run.context_accounting.startswith("priced at ")
    assert [c.run_id for c in build_report(replayed.ledger, replayed.first).costs] == [replayed.first]
    assert [c.run_id for c in build_report(replayed.ledger, replayed.run, last_runs=1).costs] == [replayed.run]


def test_pass_rates_group_verdicts_by_target_steps_in_run_order_then_outputs(replayed):
    rates = build_report(replayed.ledger, replayed.run).pass_rates
    digest = [p.target for p in rates if p.task == "git-release-digest"]
    assert digest == ["steps.log", "steps.counts", "steps.headline", "outputs.features"]
    assert sum(p.total for p in rates) == 385 and all(p.rate == 1 for p in rates)


def test_an_unknown_run_or_a_missing_ledger_is_an_error(replayed, tmp_path):
    with pytest.raises(UnknownRunError, match="has no run 'nope'; latest: "):
        build_report(replayed.ledger, "nope")
    with pytest.raises(FileNotFoundError):
        build_report(tmp_path / "none.duckdb")


def test_a_ledger_never_compared_has_measured_tokens_and_no_savings(replayed, tmp_path):
    path = tmp_path / "ledger.duckdb"
    shutil.copy(replayed.ledger, path)
    with duckdb.connect(str(path)) as conn:  # as `flowtape test` alone leaves a ledger
        conn.execute("DROP VIEW savings_per_tool_call; DROP TABLE tool_call_savings; DROP TABLE context_tokens")
    data = build_report(path, replayed.run)
    assert data.tokens_source == "measured" and data.savings == ()
    assert {t.approach for t in data.tokens} == {"code", "ir"}  # direct is only ever modelled by compare
    assert all(c.context_cost_usd is None and c.total_usd == 0 for c in data.costs)
