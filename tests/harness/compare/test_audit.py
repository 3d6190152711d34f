"""The audit's items on cases small enough to check by hand: statistics only above a minimum
sample, task rows as labelled means printed after the cases, the per-run gap as the calls'
savings plus the rest, orchestrator and llm-node tokens apart, and a sweep that finds where a
verdict flips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.accounting import Ledger, LedgerPart, case_rows, part_path
from harness.accounting.context import Component, ContextCost, Settings, ToolCallSaving, write_context_rows
from harness.compare import compare, render, sweep
from harness.compare._account import LoadedRun, _Case
from runner.trace import RunStatus, Trace

RUN = "run-1"


def ledger_of(path: Path, cases: list[tuple[str, str, int, int, bool, bool]]) -> Path:
    """(task, case, direct per run, ir per run, code passed, ir passed) per case; $1 per million tokens."""
    ledger = Ledger(path)
    ledger.start_run(RUN, "suite", git_commit=None, flowtape_version=None)
    costs = []
    with LedgerPart(part_path(path, RUN)) as part:
        for task, case, direct, ir, code_passed, ir_passed in cases:
            for approach, passed in (("code", code_passed), ("ir", ir_passed)):
                trace = Trace(run_id=f"{case}-{approach}", task=task, case=case, approach=approach, workflow_hash="h", status=RunStatus.PASSED)
                verdict = {"target": "outputs.a", "evaluator": "Equals", "passed": passed, "score": None, "reason": "", "error": False}
                part.add_case(case_rows(RUN, trace, [verdict]))
            costs.append(ContextCost(task, case, "direct", (Component("context", "per_run", "modelled", direct, 0, direct / 1e6, "orch"),)))
            costs.append(ContextCost(task, case, "ir", (Component("context", "per_run", "measured", ir, 0, ir / 1e6, "orch"),)))
            costs.append(ContextCost(task, case, "code", (Component("context", "per_run", "measured", ir, 0, ir / 1e6, "orch"),)))
    ledger.merge_parts(RUN)
    ledger.finish_run(RUN, "completed")
    ledger.close()
    write_context_rows(path, RUN, costs)
    return path


def pair(report, first: str, second: str, task=None):
    return next(p for p in report.pairs if (p.task, p.first, p.second) == (task, first, second))


def test_an_interval_needs_ten_paired_cases(tmp_path: Path) -> None:
    nine = compare(ledger_of(tmp_path / "nine.duckdb", [("t", f"c{i}", 100 + i, 50, True, True) for i in range(9)]))
    assert pair(nine, "direct", "ir").tokens is None
    assert pair(nine, "direct", "ir").tokens_note == "n too small (n=9)"
    assert pair(nine, "direct", "ir").tokens_mean == 54  # (100 + ... + 108) / 9 - 50 = 104 - 50
    ten = compare(ledger_of(tmp_path / "ten.duckdb", [("t", f"c{i}", 100 + i, 50, True, True) for i in range(10)]))
    interval = pair(ten, "direct", "ir").tokens
    assert interval is not None and interval.n == 10 and interval.low <= 54.5 <= interval.high  # mean of 50..59
    assert pair(ten, "direct", "ir").tokens_note is None


def test_mcnemar_needs_six_discordant_pairs_and_says_so_in_every_format(tmp_path: Path) -> None:
    # code fails where ir passes in 5 cases (b = 0, c = 5): the best a test could give is p = 2 / 2^5 = 0.0625
    five = compare(ledger_of(tmp_path / "five.duckdb", [("t", f"c{i}", 100, 50, i >= 5, True) for i in range(12)]))
    code_ir = pair(five, "code", "ir")
    assert (code_ir.b, code_ir.c, code_ir.p_value, code_ir.mcnemar_note) == (0, 5, None, "n too small (discordant pairs=5)")
    table, markdown, data = render(five), render(five, "markdown"), json.loads(render(five, "json"))
    assert "n too small (discordant pairs=5)" in table and "n too small (discordant pairs=5)" in markdown
    assert next(p for p in data["pairs"] if p["first"] == "code" and p["task"] is None)["mcnemar"] == "n too small (discordant pairs=5)"
    # 6 discordant pairs (b = 0, c = 6): p = 2 * (1 / 2^6) = 0.03125
    six = compare(ledger_of(tmp_path / "six.duckdb", [("t", f"c{i}", 100, 50, i >= 6, True) for i in range(12)]))
    assert pair(six, "code", "ir").p_value == pytest.approx(0.03125)


def test_task_rows_are_labelled_means_printed_after_every_case(tmp_path: Path) -> None:
    report = compare(ledger_of(tmp_path / "l.duckdb", [("t", "small", 8_096, 500, True, True), ("t", "large", 42_317, 500, True, True)]))
    direct = next(s for s in report.summaries if s.task == "t" and s.approach == "direct")
    assert (direct.cases, direct.per_run_tokens) == (2, (42_317 + 8_096) / 2)  # 25,206.5: neither case's figure
    lines = render(report).splitlines()
    task_row = next(i for i, line in enumerate(lines) if line.startswith("t ") and "mean of 2 cases" in line)
    case_rows_at = [i for i, line in enumerate(lines) if line.split()[:2] in (["t", "small"], ["t", "large"])]
    assert len(case_rows_at) == 6 and max(case_rows_at) < task_row  # each case's own figure first
    assert [lines[i].split()[2:5] for i in case_rows_at if "direct" in lines[i]] == [["direct", "(modelled)", "n/a"]] * 2
    assert any("42,317 + 0" in lines[i] for i in case_rows_at) and any("8,096 + 0" in lines[i] for i in case_rows_at)
    assert "direct (modelled)  mean of 2 cases" in lines[task_row] and "25,206 + 0" in lines[task_row]
    assert "| mean of 2 cases |" in render(report, "markdown")


def test_the_gap_to_direct_is_the_calls_savings_plus_the_rest(tmp_path: Path) -> None:
    path = ledger_of(tmp_path / "l.duckdb", [("t", "c", 1_000, 100, True, True)])
    # one call: under direct it costs 700 read + 20 written; under ir 30 of the outputs derive from it
    ir = ContextCost("t", "c", "ir", (Component("context", "per_run", "measured", 100, 0, 100e-6, "orch"),
                                      Component("llm_calls", "per_run", "measured", 400, 50, 0.0, "smollm2")),
                     (ToolCallSaving(0, "read", "fs", "read", 720, 30, 20, None),))
    write_context_rows(path, RUN, [ir])
    f = next(c for c in compare(path).cases if c.approach == "ir")
    # gap: 1,000 - 100 = 900 read, 0 written; calls: 720 - 20 - 30 = 670 read + 20 written = 690; rest 900 - 690 = 210
    assert (f.gap.gap, f.gap.calls_input, f.gap.calls_output, f.gap.rest) == (900, 670, 20, 210)
    assert (f.gap.rest_input, f.gap.rest_output) == (230, -20)  # direct writes nothing here beyond the call's arguments
    # the llm node's 450 tokens (its own tokenizer) stay out of the orchestrator's 100
    assert (f.per_run_tokens, f.llm_node_tokens) == (100, 450)
    assert "900 = 690 + 210" in render(compare(path))


def words(text: str) -> int:
    return len(text.split())


def test_the_sweep_finds_where_a_verdict_flips() -> None:
    from tests.harness.accounting.test_context import IR, PRICES, SCHEMAS, two_calls

    run = LoadedRun(RUN, (_Case("notes", "fox", {"ir": two_calls()}, SCHEMAS, {"ir": IR}, {}),))
    settings = Settings(model="orch", node_types="NODES", prices=PRICES, counter=words)
    # With S system tokens (see tests/harness/accounting/test_context.py for each figure):
    #   tokens: ir authoring S + 2 + 6 + 40, per run S + 2 + 3; direct per run 3S + 9 + 6 + 5 + 13 + 6
    #           -> wins on one run when 2S + 53 <= 3S + 39, S >= 14
    #   cost ($1 in, $4 out; the llm node $17e-6 a run): authoring S + 8 + 160, per run S + 5 + 17;
    #           direct 3S + 33 + 24 -> wins when 2S + 190 <= 3S + 57, S >= 133
    flips = sweep(run, settings, system_tokens=(0, 300), calls_per_turn=(1,))
    assert [(f.task, f.approach, f.constant, f.flips_at, f.wins_below) for f in flips] == [
        ("notes", "ir", "system_prompt_tokens", 133, False), (None, "ir", "system_prompt_tokens", 133, False)]
    assert flips[0].describe() == "depends on system prompt size (flips at ~133 tokens)"
    # At S = 200 with both calls in one turn, direct reads 2S + 21 and writes 6: 2S + 53 > 2S + 27 on tokens,
    # never a win; with one call a turn it wins (453 <= 639 tokens, $568e-6 <= $657e-6).
    turns = sweep(run, Settings(model="orch", node_types="NODES", prices=PRICES, counter=words, system_prompt_tokens=200),
                  system_tokens=(200, 201), calls_per_turn=(1, 2))
    assert [(f.task, f.constant, f.flips_at, f.wins_below) for f in turns] == [("notes", "calls_per_turn", 2, True), (None, "calls_per_turn", 2, True)]
