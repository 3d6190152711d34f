"""compare() reads a ledger of three approaches on two tasks: one where ir wins from the first
run, one where direct is cheaper (ir only after 6 runs, code never); render() marks the second as
plainly as the first, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.accounting import Ledger, LedgerPart, case_rows, part_path, query
from harness.accounting.context import Component, ContextCost, Settings, ToolCallSaving, write_context_rows
from harness.compare import NOT_WIN, account_run, compare, render
from runner.trace import RunStatus, Trace

ROOT = Path(__file__).resolve().parents[3]
RUN = "run-1"


def cost(task: str, case: str, approach: str, per_run: int, authoring: int = 0, saved: tuple[tuple[int, int], ...] = ()) -> ContextCost:
    """A context cost priced at $1 per million tokens, in and out."""
    components = [Component("context", "per_run", "modelled", per_run, 0, per_run / 1e6, "orch")]
    if authoring:
        components.append(Component("artefact", "authoring", "measured", 0, authoring, authoring / 1e6, "orch"))
    calls = tuple(ToolCallSaving(i, f"c{i}", "notes", "search", direct, mine) for i, (direct, mine) in enumerate(saved))
    return ContextCost(task, case, approach, tuple(components), calls)


COSTS = [
    *(cost("big", c, "direct", d) for c, d in (("b1", 1000), ("b2", 1200), ("b3", 1400))),
    *(cost("big", c, "ir", 100, 300, ((900, 10),)) for c in ("b1", "b2", "b3")),
    *(cost("big", c, "code", 300, 100, ((900, 50),)) for c in ("b1", "b2", "b3")),
    *(cost("small", c, "direct", 200) for c in ("s1", "s2")),
    *(cost("small", c, "ir", 150, 300, ((40, 30),)) for c in ("s1", "s2")),
    *(cost("small", c, "code", 250, 100, ((40, 45),)) for c in ("s1", "s2")),
]
CODE_FAILS = {"b1", "b2"}


def build_ledger(path: Path) -> Path:
    ledger = Ledger(path)
    ledger.start_run(RUN, "suite", git_commit=None, flowtape_version=None)
    with LedgerPart(part_path(path, RUN)) as part:
        for task, cases in (("big", ("b1", "b2", "b3")), ("small", ("s1", "s2"))):
            for case in cases:
                for approach in ("ir", "code"):
                    trace = Trace(run_id=f"{case}-{approach}", task=task, case=case, approach=approach, workflow_hash="h", status=RunStatus.PASSED)
                    passed = not (approach == "code" and case in CODE_FAILS)
                    verdict = {"target": "outputs.answer", "evaluator": "Equals", "passed": passed, "score": None, "reason": "", "error": False}
                    part.add_case(case_rows(RUN, trace, [verdict]))
    ledger.merge_parts(RUN)
    ledger.finish_run(RUN, "completed")
    ledger.close()
    write_context_rows(path, RUN, COSTS)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    return compare(build_ledger(tmp_path_factory.mktemp("compare") / "ledger.duckdb"))


def row(report, task, approach):
    return next(s for s in report.summaries if s.task == task and s.approach == approach)


def test_pass_rates_tokens_and_authoring_per_task_and_overall(report) -> None:
    assert report.run_id == RUN and report.approaches == ("direct", "code", "ir") and report.tasks == ("big", "small")
    big_ir, big_code, big_direct = row(report, "big", "ir"), row(report, "big", "code"), row(report, "big", "direct")
    assert (big_ir.passed, big_ir.judged, big_ir.pass_rate) == (3, 3, 1.0)
    assert (big_code.passed, big_code.judged) == (1, 3)
    assert (big_direct.judged, big_direct.pass_rate) == (0, None)  # direct is modelled: no verdicts
    assert (big_direct.per_run_tokens, big_ir.per_run_tokens, big_ir.authoring_tokens) == (1200, 100, 300)
    assert big_ir.per_run_cost_usd == pytest.approx(100e-6)
    everything = row(report, None, "ir")
    assert (everything.cases, everything.pass_rate, everything.per_run_tokens) == (5, 1.0, 120)
    assert everything.authoring_tokens == 600  # one artefact per task
    assert row(report, None, "code").pass_rate == pytest.approx(3 / 5)


def test_savings_per_tool_call(report) -> None:
    assert (row(report, "big", "ir").saved_median, row(report, "big", "ir").saved_total) == (890, 2670)
    # two calls have no median worth the name: the values are given instead
    small = row(report, "small", "code")
    assert (small.saved_median, small.saved_values, small.saved_total) == (None, (-5, -5), -10)
    assert "-5, -5 (2 calls: no median)" in render(report)
    assert (row(report, None, "ir").tool_calls, row(report, None, "ir").saved_median) == (5, 890)
    assert row(report, None, "direct").saved_median is None


def test_payback_and_where_an_approach_does_not_win(report) -> None:
    big_ir, small_ir, small_code = row(report, "big", "ir"), row(report, "small", "ir"), row(report, "small", "code")
    assert (big_ir.payback_runs, big_ir.payback_runs_cost, big_ir.wins) == (1, 1, True)
    # small: 300 to author, 50 saved a run -> 6 runs; code costs more per run than direct -> never
    assert (small_ir.payback_runs, small_ir.payback_runs_cost, small_ir.wins) == (6, 6, False)
    assert small_ir.not_winning == ("direct is cheaper for a single run: 200 tokens vs 300 to author + 150 per run"
                                    " ($0.000200 vs $0.000300 to author + $0.000150 per run); pays back after 6 runs",)
    assert (small_code.payback_runs, small_code.wins) == (None, False)
    assert small_code.not_winning == ("direct is cheaper per run: 200 tokens vs 250 ($0.000200 vs $0.000250)",)
    assert row(report, "big", "code").not_winning == ("lower pass rate than ir: 33% vs 100%",)
    overall = row(report, None, "ir")  # 600 to author, 1,400 - 250 saved per run of every task
    assert (overall.payback_runs, overall.wins) == (1, True)
    assert [n.split(":")[0] for n in report.notes] == ["big", "small", "all tasks", "direct"]
    assert report.notes[1] == f"small: code does not win: {small_code.not_winning[0]} | ir does not win: {small_ir.not_winning[0]}"


def test_pairs_bootstrap_the_token_difference_and_test_pass_fail(report) -> None:
    pairs = {(p.task, p.first, p.second): p for p in report.pairs}
    assert list(pairs)[:3] == [("big", "direct", "code"), ("big", "direct", "ir"), ("big", "code", "ir")]
    direct_ir = pairs[(None, "direct", "ir")]
    assert (direct_ir.tokens_n, direct_ir.tokens_mean) == (5, 680)  # (900 + 1100 + 1300 + 50 + 50) / 5
    # 5 paired cases: no interval (it would need 10), and it says so
    assert (direct_ir.tokens, direct_ir.tokens_note) == (None, "n too small (n=5)")
    assert (direct_ir.verdicts, direct_ir.p_value, direct_ir.mcnemar_note) == (0, None, None)
    code_ir = pairs[(None, "code", "ir")]
    # b = 0, c = 2: two discordant pairs, below the 6 a McNemar test needs
    assert (code_ir.verdicts, code_ir.b, code_ir.c, code_ir.p_value) == (5, 0, 2, None)
    assert code_ir.mcnemar_note == "n too small (discordant pairs=2)"
    assert code_ir.tokens_mean == 160


def test_render_marks_what_does_not_win_in_every_format(report) -> None:
    table = render(report)
    small_ir = next(line for line in table.splitlines() if line.startswith("small") and " ir " in line and "mean of" in line)
    assert small_ir.rstrip().endswith(NOT_WIN) and "6 / 6" in small_ir
    big_ir = next(line for line in table.splitlines() if line.startswith("big") and " ir " in line and "mean of" in line)
    assert big_ir.rstrip().endswith("wins")
    assert "  small: code does not win: direct is cheaper per run: 200 tokens vs 250" in table
    markdown = render(report, "markdown")
    assert f"| **{NOT_WIN}** |" in markdown and "## Where an approach does not win" in markdown
    assert "- small: code does not win" in markdown and "| (all tasks) | code − ir" in markdown
    data = json.loads(render(report, "json"))
    marked = {(s["task"], s["approach"]) for s in data["summaries"] if not s["wins"]}
    assert marked == {("big", "code"), ("small", "ir"), ("small", "code"), (None, "code")}
    assert data["notes"] == list(report.notes)
    assert (data["pairs"][-1]["interval"], data["pairs"][-1]["mcnemar"]) == ("n too small (n=5)", "n too small (discordant pairs=2)")
    with pytest.raises(ValueError):
        render(report, "html")


def test_approaches_can_be_chosen_and_a_ledger_without_context_rows_still_compares(tmp_path: Path, report) -> None:
    only = compare(report.ledger, RUN, approaches=["ir", "direct"])
    assert [(s.task, s.approach) for s in only.summaries if not s.wins] == [("small", "ir")]
    assert only.approaches == ("ir", "direct") and [(p.first, p.second) for p in only.pairs][:1] == [("ir", "direct")]
    ledger = Ledger(tmp_path / "bare.duckdb")
    ledger.start_run(RUN, "suite", git_commit=None, flowtape_version=None)
    with LedgerPart(part_path(ledger.path, RUN)) as part:
        part.add_case(case_rows(RUN, Trace(run_id="x", task="t", case="c", workflow_hash="h", status=RunStatus.FAILED)))
    ledger.merge_parts(RUN)
    ledger.close()
    bare = compare(tmp_path / "bare.duckdb")
    assert [(s.approach, s.pass_rate, s.per_run_tokens) for s in bare.summaries] == [("ir", 0.0, None), ("ir", 0.0, None)]
    assert "n/a" in render(bare)


def test_account_run_fills_context_rows_from_a_replayed_case(tmp_path: Path) -> None:
    from harness.goldens import load_task
    from harness.suite import run_case

    task = load_task(ROOT / "goldens/meeting-times")
    case = next(c for c in task.cases if c.name == "lisbon-tokyo")
    trace = run_case(task, case, cassettes=ROOT / "cassettes", mode="none", ci=True).trace
    path = tmp_path / "ledger.duckdb"
    ledger = Ledger(path)
    ledger.start_run(RUN, "goldens", git_commit=None, flowtape_version=None)
    with LedgerPart(part_path(path, RUN)) as part:
        part.add_case(case_rows(RUN, trace, trace_path=str(trace.write(tmp_path / "traces"))))
    ledger.merge_parts(RUN)
    ledger.close()
    prices = {"gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}  # litellm's, without importing it
    costs = account_run(path, suite=ROOT / "goldens", cassettes=ROOT / "cassettes", settings=Settings(prices=prices))
    assert [c.approach for c in costs] == ["ir", "direct"]
    direct = costs[1]
    assert direct.component("schemas").input_tokens == 261 * 3  # mcp-server-time, carried by three turns
    _, rows = query(path, "SELECT approach, phase, basis, count(*) FROM context_tokens GROUP BY ALL ORDER BY ALL")
    # direct: six components, every one modelled; the IR is hand-written, the catalog, system and request modelled
    assert rows == [("direct", "per_run", "modelled", 6), ("ir", "authoring", "hand-written", 1), ("ir", "authoring", "modelled", 3),
                    ("ir", "per_run", "measured", 2), ("ir", "per_run", "modelled", 2)]
    report = compare(path)
    assert row(report, "meeting-times", "ir").per_run_tokens < row(report, "meeting-times", "direct").per_run_tokens


def test_approaches_judged_on_different_numbers_of_checks_are_named(tmp_path) -> None:
    path = tmp_path / "ledger.duckdb"
    ledger = Ledger(path)
    ledger.start_run(RUN, "suite", git_commit=None, flowtape_version=None)
    with LedgerPart(part_path(path, RUN)) as part:
        for approach, targets in (("ir", ("steps.a", "steps.b", "outputs.answer")), ("code", ("outputs.answer",))):
            trace = Trace(run_id=f"t-{approach}", task="t", case="c", approach=approach, workflow_hash="h", status=RunStatus.PASSED)
            verdicts = [{"target": t, "evaluator": "Equals", "passed": True, "score": None, "reason": "", "error": False} for t in targets]
            part.add_case(case_rows(RUN, trace, verdicts))
    ledger.merge_parts(RUN)
    ledger.finish_run(RUN, "completed")
    ledger.close()
    report = compare(path)
    assert (row(report, "t", "ir").checks, row(report, "t", "code").checks) == (3, 1)
    assert "t: pass rates rest on different numbers of golden checks (code 1, ir 3): a pass under fewer checks says less" in report.notes
    table = render(report, "table")
    assert "1/1 (100%) on 3 checks" in table and "1/1 (100%) on 1 check " in table


def test_equal_numbers_of_checks_need_no_note(report) -> None:
    assert not [n for n in report.notes if "golden checks" in n]
    assert (row(report, "big", "ir").checks, row(report, "big", "code").checks) == (3, 3)
