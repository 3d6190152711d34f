"""The orchestrator's context cost: every component of a two-call case checked by hand (a word
counter stands in for the tokenizer), per-call savings, payback, and the ledger rows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from harness.accounting import Ledger, query
from harness.accounting.context import (
    Settings,
    context_cost,
    context_rows,
    node_catalog,
    payback_runs,
    per_run_gap,
    runs_to_pay_back,
    schema_text,
    write_context_rows,
)
from runner.trace import LLMUsage, RunStatus, StepRecord, ToolUsage, Trace

ROOT = Path(__file__).resolve().parents[3]


def words(text: str) -> int:
    return len(text.split())


# schema_text: [{"name":"search","description":"Search the notes","inputSchema":{"type":"object"}}] -> 3 words
SCHEMAS = {"notes": [{"name": "search", "description": "Search the notes", "input_schema": {"type": "object"}}]}
PRICES = {"orch": {"input_per_mtok": 1.0, "output_per_mtok": 4.0}, "small": {"input_per_mtok": 0.5, "output_per_mtok": 1.0}}
# S = 10 system tokens; the catalog's node types are one word
SETTINGS = Settings(model="orch", system_prompt_tokens=10, node_types="NODES", prices=PRICES, counter=words)
# 40 words: the compact JSON splits only at the spaces in the purposes (19 + 18), "alpha beta" and the prompt (1 + 1)
IR = json.dumps({
    "nodes": [
        {"id": "c1", "type": "mcp-notes-search", "purpose": " ".join(["find"] * 20), "params": {"q": "alpha beta"}},
        {"id": "c2", "type": "mcp-notes-search", "purpose": " ".join(["more"] * 19), "params": {"q": "gamma"}},
        {"id": "sum", "type": "llm", "params": {"prompt": "${c1.result} ${c2.result}"}},
    ],
    "edges": [{"from": "c1", "to": "c2"}, {"from": "c2", "to": "sum"}],
    "outputs": {"answer": {"source": "${sum.response}"}},
}, separators=(",", ":"))


def mcp(step_id: str, arguments: dict, result: str, node_type: str = "mcp-notes-search") -> StepRecord:
    return StepRecord(step_id=step_id, kind="mcp", node_type=node_type, params=arguments, output={"result": result},
                      tool=ToolUsage(server="notes", tool="search"))


def two_calls(approach: str = "ir") -> Trace:
    """Two calls of known size, then an llm step: a_1 = 2, r_1 = 5, a_2 = 1, r_2 = 3 words; the
    request {"topic":"red fox"} is 2 words, the outputs {"answer":"alpha beta gamma"} 3."""
    return Trace(
        run_id="exec", task="notes", case="fox", approach=approach, workflow_hash="h", status=RunStatus.PASSED,
        inputs={"topic": "red fox"}, outputs={"answer": "alpha beta gamma"},
        steps=[
            mcp("c1", {"q": "alpha beta", "timeout": 5}, "one two three four five"),  # timeout is a node setting, not an argument
            mcp("c2", {"q": "gamma"}, "six seven eight"),
            StepRecord(step_id="sum", kind="llm", node_type="llm", params={"prompt": "..."}, output={"response": "alpha beta gamma"},
                       llm=LLMUsage(model="small", prompt_tokens=20, completion_tokens=7)),
        ],
    )


def figures(cost) -> dict:
    return {(c.name, c.phase): (c.input_tokens, c.output_tokens, c.basis) for c in cost.components}


def test_the_ir_is_worth_its_forty_words() -> None:
    assert words(IR) == 40
    assert words(schema_text(SCHEMAS["notes"])) == 3


def test_direct_every_turn_rereads_schemas_system_request_and_earlier_calls() -> None:
    # S=10 H=3 R=2, three turns: (15 in, 2 out), (15+2+5 in, 1 out), (15+2+5+1+3 in, 3 out)
    cost = context_cost(two_calls(), SCHEMAS, SETTINGS, approach="direct")
    assert figures(cost) == {
        ("system", "per_run"): (30, 0, "modelled"),
        ("schemas", "per_run"): (9, 0, "modelled"),
        ("request", "per_run"): (6, 0, "modelled"),
        ("tool_arguments", "per_run"): (2 * 2 + 1 * 1, 2 + 1, "modelled"),  # written once, re-read by every later turn
        ("tool_results", "per_run"): (5 * 2 + 3 * 1, 0, "modelled"),
        ("final_answer", "per_run"): (0, 3, "modelled"),
    }
    assert (cost.input_tokens("per_run"), cost.output_tokens("per_run")) == (15 + 22 + 26, 2 + 1 + 3) == (63, 6)
    assert cost.tokens("per_run") == 69 and cost.tokens("authoring") == 0
    assert cost.cost_usd() == pytest.approx((63 * 1.0 + 6 * 4.0) / 1e6)
    assert cost.component("tool_arguments").cost_usd == pytest.approx((5 * 1.0 + 3 * 4.0) / 1e6)
    assert cost.tool_calls == ()


def test_direct_does_not_write_the_llm_steps_answer_twice() -> None:
    # The llm step wrote "alpha beta gamma" (7 completion tokens); under direct that answer is the
    # final answer F = {"answer":"alpha beta gamma"} (3 words), written once: nothing is added for it.
    cost = context_cost(two_calls(), SCHEMAS, SETTINGS, approach="direct")
    assert "llm_work" not in {c.name for c in cost.components}
    assert cost.output_tokens("per_run") == 3 + 3  # arguments 2 + 1, F 3; not + 7


def test_parallel_tool_calls_mean_fewer_turns() -> None:
    # Both calls in one turn (calls_per_turn=2): T = ceil(2 / 2) + 1 = 2 turns, each call re-read by 1 later turn.
    # reads: (S+H+R) * 2 = 15 * 2 = 30, arguments (2+1) * 1 = 3, results (5+3) * 1 = 8 -> 41; writes 2 + 1 + 3 = 6
    cost = context_cost(two_calls(), SCHEMAS, replace(SETTINGS, calls_per_turn=2), approach="direct")
    assert (cost.input_tokens("per_run"), cost.output_tokens("per_run")) == (41, 6)
    # A call that uses a value the other call's result brought in ("three", not in the request)
    # cannot be written in the same turn: three turns again, as with one call a turn (63 read).
    dependent = two_calls()
    dependent.steps[1].params["q"] = "three"
    cost = context_cost(dependent, SCHEMAS, replace(SETTINGS, calls_per_turn=2), approach="direct")
    assert cost.input_tokens("per_run") == 63


def test_ir_authoring_reads_the_catalog_and_writes_the_ir_once() -> None:
    trace = two_calls()
    assert node_catalog(trace, SCHEMAS, "NODES") == 'NODES\nmcp-notes-search: Search the notes {"type":"object"}'
    cost = context_cost(trace, SCHEMAS, SETTINGS, artefact=IR)
    assert figures(cost) == {
        ("system", "authoring"): (10, 0, "modelled"),
        ("request", "authoring"): (2, 0, "modelled"),  # the case inputs stand in for a request: modelled everywhere
        ("node_catalog", "authoring"): (6, 0, "modelled"),
        ("ir", "authoring"): (0, 40, "hand-written"),  # a person wrote it; it stands in for model output
        ("system", "per_run"): (10, 0, "modelled"),
        ("request", "per_run"): (2, 0, "modelled"),
        ("outputs", "per_run"): (3, 0, "measured"),
        ("llm_calls", "per_run"): (20, 7, "measured"),
    }
    # the orchestrator's tokens; the llm node's 20 + 7 (its own tokenizer) are never added to them
    assert (cost.tokens("authoring"), cost.tokens("per_run"), cost.llm_node_tokens("per_run")) == (58, 10 + 2 + 3, 27)
    llm = cost.component("llm_calls")
    assert (llm.model, llm.cost_usd) == ("small", pytest.approx((20 * 0.5 + 7 * 1.0) / 1e6))  # at its own model
    assert cost.cost_usd("authoring") == pytest.approx((18 * 1.0 + 40 * 4.0) / 1e6)
    assert cost.cost_usd("per_run") == pytest.approx(15e-6 + 17e-6)


def test_payback_counts_runs_until_authoring_is_repaid() -> None:
    ir = context_cost(two_calls(), SCHEMAS, SETTINGS, artefact=IR)
    direct = context_cost(two_calls(), SCHEMAS, SETTINGS, approach="direct")
    # orchestrator tokens: 58 + 15n <= 69n from n = 2 (58 > 54, 58 <= 108)
    assert payback_runs(ir, direct) == 2
    # cost (USD adds up across models): 178e-6 + (15e-6 + 17e-6 llm) n <= (63 + 6 * 4)e-6 n = 87e-6 n
    # from n = 4 (178 / 55 = 3.2)
    assert payback_runs(ir, direct, by="cost_usd") == 4
    assert runs_to_pay_back(0, 5) == 1
    assert runs_to_pay_back(10, 5) == 2
    assert runs_to_pay_back(11, 5) == 3
    assert runs_to_pay_back(10, 0) is None
    assert runs_to_pay_back(10, -3) is None


def test_payback_by_cost_needs_every_price() -> None:
    unpriced = Settings(model="orch", system_prompt_tokens=10, prices={"orch": PRICES["orch"]}, counter=words)
    ir = context_cost(two_calls(), SCHEMAS, unpriced, artefact=IR)
    direct = context_cost(two_calls(), SCHEMAS, unpriced, approach="direct")
    assert ir.component("llm_calls").cost_usd is None and ir.cost_usd("per_run") is None
    with pytest.raises(ValueError, match="no known price"):
        payback_runs(ir, direct, by="cost_usd")


def test_savings_per_call_direct_minus_the_share_of_outputs_derived_from_it() -> None:
    cost = context_cost(two_calls(), SCHEMAS, SETTINGS, artefact=IR)
    # direct: a_i written + re-read, r_i re-read by every later turn (3 turns)
    # ir: the 3-word output derives from sum <- c1, c2, split 5:3 by result size -> 2 and 1
    assert [(t.step_id, t.direct_tokens, t.approach_tokens, t.saved_tokens) for t in cost.tool_calls] == [
        ("c1", 2 * 3 + 5 * 2, 2, 14),
        ("c2", 1 * 2 + 3 * 1, 1, 4),
    ]
    # input and output apart, and priced apart ($1 in, $4 out per million):
    # c1 reads (2 + 5) * 2 - 2 = 12 fewer, writes 2 fewer -> 12 + 8 = $20e-6; c2: 4 - 1 = 3 and 1 -> 3 + 4 = $7e-6
    assert [(t.saved_input_tokens, t.saved_output_tokens) for t in cost.tool_calls] == [(12, 2), (3, 1)]
    assert [t.saved_cost_usd for t in cost.tool_calls] == [pytest.approx(20e-6), pytest.approx(7e-6)]
    direct = context_cost(two_calls(), SCHEMAS, SETTINGS, approach="direct")
    assert sum(t.direct_tokens for t in cost.tool_calls) == direct.component("tool_arguments").tokens + direct.component("tool_results").tokens


def test_the_calls_savings_and_the_rest_add_up_to_the_per_run_gap() -> None:
    ir = context_cost(two_calls(), SCHEMAS, SETTINGS, artefact=IR)
    direct = context_cost(two_calls(), SCHEMAS, SETTINGS, approach="direct")
    gap = per_run_gap(ir, direct)
    # gap: direct reads 63, writes 6; ir reads 10 + 2 + 3 = 15, writes 0 -> 48 in, 6 out
    assert (gap.gap_input, gap.gap_output) == (48, 6)
    # the calls: 12 + 3 in, 2 + 1 out (above)
    assert (gap.calls_input, gap.calls_output) == (15, 3)
    # the rest: S + H + R = 15 read by 3 turns against S + R = 12 read once: 45 - 12 = 33 in
    # (the 3 output words all derive from calls, so nothing returns unattributed); F = 3 written
    assert (gap.rest_input, gap.rest_output, gap.rest) == (33, 3, 36)
    assert gap.calls + gap.rest == gap.gap == 69 - 15


def test_an_output_taken_straight_from_one_call_is_charged_to_that_call_only() -> None:
    ir = json.loads(IR)
    ir["outputs"] = {"answer": "c2.result"}  # a bare path
    cost = context_cost(two_calls(), SCHEMAS, SETTINGS, artefact=json.dumps(ir))
    assert [t.approach_tokens for t in cost.tool_calls] == [0, 3]


def test_unreadable_ir_charges_every_output_to_every_call() -> None:
    cost = context_cost(two_calls(), SCHEMAS, SETTINGS, artefact="not json")
    assert [t.approach_tokens for t in cost.tool_calls] == [2, 1]


def code_trace() -> Trace:
    """The two calls as harness.codeexec records a script's run: `call-<n>:` calls, a discovery
    read, and the `stdout` step last."""
    trace = two_calls("code")
    trace.steps = [
        # a discovery read is authoring, never a call, even one that went through a tool
        mcp("discover-1:search_tools", {"query": "notes"}, "search: Search the notes", node_type="code-search_tools"),
        mcp("call-1:notes.search", {"q": "alpha beta"}, "one two three four five"),
        mcp("call-2:notes.search", {"q": "gamma"}, "six seven eight"),
        trace.steps[2].model_copy(update={"step_id": "call-3:llm"}),
        StepRecord(step_id="stdout", kind="code", node_type="code-script", output={"stdout": "alpha beta gamma\n", "exit_code": 0}),
    ]
    trace.outputs = {"stdout": "alpha beta gamma"}
    return trace


def test_code_reads_discovery_writes_the_script_and_reads_stdout() -> None:
    script = "r = search(q='alpha') + search(q='gamma'); print(r)"  # 6 words
    cost = context_cost(code_trace(), SCHEMAS, SETTINGS, artefact=script)
    assert figures(cost) == {
        ("system", "authoring"): (10, 0, "modelled"),
        ("request", "authoring"): (2, 0, "modelled"),
        ("discovery", "authoring"): (4, 0, "measured"),
        ("script", "authoring"): (0, 6, "hand-written"),
        ("system", "per_run"): (10, 0, "modelled"),
        ("request", "per_run"): (2, 0, "modelled"),
        ("stdout", "per_run"): (3, 0, "measured"),
        ("llm_calls", "per_run"): (20, 7, "measured"),
    }
    # no lineage in a script: the 3 words of stdout are split over its calls by result size
    assert [(t.seq, t.step_id, t.direct_tokens, t.approach_tokens) for t in cost.tool_calls] == [
        (1, "call-1:notes.search", 16, 2), (2, "call-2:notes.search", 5, 1)]
    # direct modelled from the code trace: the same two calls, no discovery
    assert context_cost(code_trace(), SCHEMAS, SETTINGS, approach="direct").tokens("per_run") == 69


def test_a_script_that_discovered_nothing_read_at_least_its_tools() -> None:
    trace = code_trace()
    del trace.steps[0]
    cost = context_cost(trace, SCHEMAS, SETTINGS, artefact="print(1)")
    # 'mcp-notes-search: Search the notes {"type":"object"}', as in the ir catalog
    assert figures(cost)[("discovery", "authoring")] == (5, 0, "modelled")


def test_node_settings_are_not_arguments_but_a_scripts_arguments_are_all_arguments() -> None:
    ir, code = two_calls(), code_trace()
    ir.steps[1].params["timeout"] = code.steps[2].params["timeout"] = "in a while"
    written = [context_cost(t, SCHEMAS, SETTINGS, approach="direct").component("tool_arguments").output_tokens for t in (ir, code)]
    assert written == [3, 3 + 2]


def test_artefact_is_required_and_request_can_be_set() -> None:
    with pytest.raises(ValueError, match="IR JSON"):
        context_cost(two_calls(), SCHEMAS, SETTINGS)
    cost = context_cost(two_calls(), SCHEMAS, Settings(model="orch", prices=PRICES, counter=words, request_tokens=50), approach="direct")
    assert figures(cost)[("request", "per_run")] == (150, 0, "modelled")
    assert figures(cost)[("system", "per_run")] == (1200, 0, "modelled")  # the default 400-token system prompt


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.integers(0, 9)), max_size=6), st.integers(0, 5))
def test_direct_components_add_up_to_the_turns_it_models(calls: list[tuple[int, int]], answer: int) -> None:
    trace = Trace(run_id="x", workflow_hash="h", status=RunStatus.PASSED, outputs={"a": " ".join(["w"] * answer)},
                  steps=[mcp(f"c{i}", {"q": " ".join(["x"] * a)}, " ".join(["y"] * r)) for i, (a, r) in enumerate(calls)])
    cost = context_cost(trace, SCHEMAS, SETTINGS, approach="direct")
    base = 10 + 3 + words('{}')
    context, reads, writes = base, 0, 0
    for a, r in calls:
        reads, writes, context = reads + context, writes + a, context + a + r
    reads, writes = reads + context, writes + words(json.dumps({"a": " ".join(["w"] * answer)}, separators=(",", ":")))
    assert (sum(c.input_tokens for c in cost.components), sum(c.output_tokens for c in cost.components)) == (reads, writes)


def test_schemas_are_counted_as_the_references_count_them() -> None:
    from harness.compare import schemas_from_cassette

    schemas = schemas_from_cassette(ROOT / "cassettes/meeting-times/lisbon-tokyo.ir.yaml")
    trace = Trace(run_id="x", workflow_hash="h", status=RunStatus.PASSED)
    cost = context_cost(trace, schemas, Settings(system_prompt_tokens=0, request_tokens=0, prices=PRICES, model="orch"), approach="direct")
    assert cost.component("schemas").input_tokens == 261  # mcp-server-time in shared/REFERENCES.md (one turn)


def test_rows_go_to_the_ledger_and_replace_a_case_written_again(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    ir = context_cost(two_calls(), SCHEMAS, SETTINGS, artefact=IR)
    direct = context_cost(two_calls(), SCHEMAS, SETTINGS, approach="direct")
    rows = context_rows("run-1", [ir, direct])
    # the case key (run, task, case, approach, the case's model: '' for a trace that names none), then the component
    assert rows["context_tokens"][3] == ("run-1", "notes", "fox", "ir", "", "ir", "authoring", 40, pytest.approx(160e-6), "hand-written", 0, 40, "orch")
    assert write_context_rows(path, "run-1", [ir, direct]) == 14
    assert write_context_rows(path, "run-1", rows) == 14  # the same cases again: replaced, not doubled
    _, totals = query(path, "SELECT approach, phase, sum(input_tokens), sum(output_tokens) FROM context_tokens "
                            "WHERE component <> 'llm_calls' GROUP BY ALL ORDER BY ALL")
    assert totals == [("direct", "per_run", 63, 6), ("ir", "authoring", 18, 40), ("ir", "per_run", 15, 0)]
    _, saved = query(path, 'SELECT run_id, task, "case", approach, step_id, server, tool, direct_tokens, approach_tokens, saved_tokens, '
                           "saved_input_tokens, saved_output_tokens FROM savings_per_tool_call ORDER BY step_id")
    assert saved == [("run-1", "notes", "fox", "ir", "c1", "notes", "search", 16, 2, 14, 12, 2),
                     ("run-1", "notes", "fox", "ir", "c2", "notes", "search", 5, 1, 4, 3, 1)]
    Ledger(path).close()  # still a ledger the rest of flowtape opens


def test_rows_of_another_run_or_bad_values_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    ir = context_cost(two_calls(), SCHEMAS, SETTINGS, artefact=IR)
    with pytest.raises(ValueError, match="run-2"):
        write_context_rows(path, "run-2", context_rows("run-1", [ir]))
    bad = context_rows("run-1", [ir])
    bad["context_tokens"][0] = (*bad["context_tokens"][0][:6], "sometimes", *bad["context_tokens"][0][7:])
    with pytest.raises(duckdb.ConstraintException):
        write_context_rows(path, "run-1", bad)
    _, count = query(path, "SELECT count(*) FROM context_tokens")
    assert count == [(0,)]  # nothing of a failed write stays

