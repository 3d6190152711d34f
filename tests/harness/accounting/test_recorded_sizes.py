"""What one recorded tool call counts as: its result's tokens by the documented rule (the text of the
content blocks, once, never a re-dump of the structured copy), its bytes as recorded (no fields the
SDK fills in), its request in the cassette's portable form, and placeholders at their live size."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import yaml

from harness.accounting import count_tokens, query, tool_result_tokens, with_result_tokens
from harness.accounting._tokens import LIVE_STAND_INS, live_size_text
from harness.accounting.context import Settings, context_cost, write_context_rows
from harness.cassettes import Normalizer
from runner.live.mcp import as_tool_call_result
from runner.trace import RunStatus, StepRecord, ToolUsage, Trace

ROOT = Path(__file__).resolve().parents[3]


def recorded_result(cassette: str, step: str) -> dict:
    """The `tools/call` result a cassette holds for `step`, read straight from the YAML."""
    tape = yaml.safe_load((ROOT / "cassettes" / cassette).read_text(encoding="utf-8"))
    return next(i["response"]["result"] for i in tape["interactions"] if i["kind"] == "mcp" and i.get("step") == step)


def step(step_id: str, output: dict, tool: str = "read_text_file") -> StepRecord:
    return StepRecord(step_id=step_id, kind="mcp", node_type=f"mcp-fs-{tool}", output=output, tool=ToolUsage(server="fs", tool=tool))


def test_a_result_counts_the_text_of_its_content_blocks_not_the_structured_copy() -> None:
    # The filesystem server sends the file as a text block and again as {"content": <the text>}; an
    # IR step keeps the structured copy only. The rule counts the text block: "one two three" is 3
    # o200k tokens (one per word); the indented re-dump {\n  "content": "one two three"\n} is more.
    raw = {"content": [{"type": "text", "text": "one two three"}], "structuredContent": {"content": "one two three"}}
    trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED, steps=[step("read1", {"result": raw["structuredContent"]})])
    assert tool_result_tokens(trace.steps[0].output)[1] == "o200k_base:json"  # what a step output alone gives
    counted = with_result_tokens(trace, [("read1", "fs", "read_text_file", raw)])
    usage = counted.steps[0].tool
    assert (usage.result_tokens, usage.tokenizer) == (3, "o200k_base:text")
    assert trace.steps[0].tool.result_tokens is None  # the trace given is not changed


def test_shipped_recordings_count_as_the_rule_gives() -> None:
    # review-triage read1 and team-memory create, from the cassettes' text blocks, counted once.
    for cassette, step_id, tool, server in (("review-triage/two-reviews.ir.yaml", "read1", "read_text_file", "fs"),
                                            ("team-memory/skylark.ir.yaml", "create", "create_entities", "memory")):
        raw = recorded_result(cassette, step_id)
        by_rule = count_tokens("\n".join(b["text"] for b in raw["content"]))
        redump = count_tokens(json.dumps(raw["structuredContent"], indent=2, ensure_ascii=False))
        trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED, steps=[
            StepRecord(step_id=step_id, kind="mcp", node_type=f"mcp-{server}-{tool}", output={"result": raw["structuredContent"]},
                       tool=ToolUsage(server=server, tool=tool))])
        counted = with_result_tokens(trace, [(step_id, server, tool, raw)]).steps[0].tool.result_tokens
        assert counted == by_rule != redump
    # the audit's figures: read1 72 (not 83), create 103 (not 110)
    assert count_tokens(recorded_result("review-triage/two-reviews.ir.yaml", "read1")["content"][0]["text"]) == 72


def test_a_retried_step_is_counted_by_its_last_result_and_a_counted_step_is_left_alone() -> None:
    first = {"content": [{"type": "text", "text": "a b c d e"}]}
    last = {"content": [{"type": "text", "text": "one two"}]}  # 2 tokens
    trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED, steps=[
        step("read1", {"result": "one two"}),
        StepRecord(step_id="read2", kind="mcp", node_type="mcp-fs-read_text_file", output={"result": "x"},
                   tool=ToolUsage(server="fs", tool="read_text_file", result_tokens=9, tokenizer="o200k_base:text"))])
    counted = with_result_tokens(trace, [("read1", "fs", "read_text_file", first), ("read1", "fs", "read_text_file", last),
                                         ("read2", "fs", "read_text_file", first)])
    assert [s.tool.result_tokens for s in counted.steps] == [2, 9]


def test_result_bytes_are_the_fields_the_server_sent() -> None:
    from mcp_types import CallToolResult

    # {"content":[{"type":"text","text":"hi"}]}: 1 + 9 + 1 + 1 + 1 + 6 + 1 + 6 + 1 + 6 + 1 + 4 + 1 + 1 + 1 = 41 bytes;
    # the SDK's model would add ,"isError":false (16) and ,"resultType":"complete" (24) if dumped whole
    result = CallToolResult.model_validate({"content": [{"type": "text", "text": "hi"}]})
    assert as_tool_call_result("read", {}, result).result_bytes == 41
    sent = CallToolResult.model_validate({"content": [{"type": "text", "text": "hi"}], "isError": False})
    assert as_tool_call_result("read", {}, sent).result_bytes == 41 + len(',"isError":false')  # sent, so counted


def test_request_bytes_do_not_depend_on_where_the_checkout_is() -> None:
    from mcp_types import CallToolResult

    result = CallToolResult.model_validate({"content": []})
    # stored form {"name":"read","arguments":{"path":"${FIXTURES}/a.txt"}}: {"name": 8, "read" 6, "," 1,
    # "arguments": 12, {"path": 8, "${FIXTURES}/a.txt" 19, }} 2 -> 56 bytes, wherever the fixtures are
    expected = 56
    for checkout in ("/tmp/fx", "/home/someone/a/much/longer/checkout/.fixtures"):
        portable = Normalizer(placeholders={"FIXTURES": checkout}).to_stored
        sized = as_tool_call_result("read", {"path": f"{checkout}/a.txt"}, result, portable)
        assert sized.request_bytes == expected


def test_replayed_calls_are_sized_in_the_cassettes_form() -> None:
    from harness.goldens import load_task
    from harness.suite import run_case

    task = load_task(ROOT / "goldens/review-triage")
    case = next(c for c in task.cases if c.name == "two-reviews")
    trace = run_case(task, case, cassettes=ROOT / "cassettes", mode="none", ci=True).trace
    read1 = next(s for s in trace.steps if s.step_id == "read1")
    raw = recorded_result("review-triage/two-reviews.ir.yaml", "read1")
    request = {"name": "read_text_file", "arguments": {"path": "${FIXTURES}/notes/reviews/review-1043.txt"}}
    size = lambda value: len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())  # noqa: E731
    assert (read1.tool.request_bytes, read1.tool.result_bytes) == (size(request), size(raw))
    assert read1.tool.result_tokens == 72 and read1.tool.tokenizer == "o200k_base:text"


def test_a_timestamp_placeholder_counts_as_a_live_timestamp() -> None:
    # With a character counter: {"t":"<timestamp>"} is stored (19 chars), but a live run read
    # {"t":"2026-01-01T00:00:00+00:00"}: 6 + 25 + 2 = 33 chars.
    trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED, outputs={"t": "<timestamp>"})
    cost = context_cost(trace, {}, Settings(counter=len, system_prompt_tokens=0, request_tokens=0), approach="direct")
    assert cost.component("final_answer").output_tokens == 33
    assert live_size_text("at <timestamp>") == "at " + LIVE_STAND_INS["<timestamp>"]
    # and a tool result: o200k counts the stand-in (16 tokens), not the placeholder (3)
    assert count_tokens("<timestamp>") == 3
    assert tool_result_tokens({"content": [{"type": "text", "text": "<timestamp>"}]})[0] == count_tokens(LIVE_STAND_INS["<timestamp>"]) == 16


def test_a_ledger_with_the_earlier_context_layout_is_migrated_with_its_rows(tmp_path: Path) -> None:
    from harness.accounting import Ledger

    path = tmp_path / "ledger.duckdb"
    Ledger(path).close()
    conn = duckdb.connect(str(path))
    conn.execute("""CREATE TABLE context_tokens (run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR NOT NULL,
                    component VARCHAR NOT NULL, phase VARCHAR NOT NULL CHECK (phase IN ('authoring', 'per_run')), tokens BIGINT NOT NULL,
                    cost_usd DOUBLE, basis VARCHAR NOT NULL CHECK (basis IN ('measured', 'modelled')))""")
    conn.execute("INSERT INTO context_tokens VALUES ('old', 't', 'c', 'ir', 'ir', 'authoring', 40, NULL, 'measured')")
    conn.execute("""CREATE TABLE tool_call_savings (run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, approach VARCHAR NOT NULL,
                    seq INTEGER, step_id VARCHAR, server VARCHAR, tool VARCHAR, direct_tokens BIGINT NOT NULL, approach_tokens BIGINT NOT NULL)""")
    conn.execute("""CREATE VIEW savings_per_tool_call AS SELECT *, direct_tokens - approach_tokens AS saved_tokens FROM tool_call_savings""")
    conn.close()
    trace = Trace(run_id="r", task="t", case="c", workflow_hash="h", status=RunStatus.PASSED)
    assert write_context_rows(path, "new", [context_cost(trace, {}, Settings(counter=len, prices={"gpt-4o-mini": {"input_per_mtok": 1, "output_per_mtok": 4}}), artefact="{}")]) == 8
    _, rows = query(path, "SELECT run_id, basis, input_tokens, output_tokens FROM context_tokens WHERE component = 'ir' ORDER BY run_id")
    assert rows == [("new", "hand-written", 0, 2), ("old", "measured", None, None)]
    assert query(path, "SELECT count(*) FROM savings_per_tool_call")[1] == [(0,)]
