"""The ledger rows of one case: a trace and its evaluations, flattened into tuples per table.

Built in the worker that ran the case, so token counting and pricing run in parallel too. Figures
the trace already holds stand; missing ones are filled here and say so (`tokenizer` names what
counted a tool result; a cost filled from prices is for provider- or tokenizer-counted tokens
alike, as `usage_source` already tells).

    rows = case_rows(run_id, trace, results, prices={"openai/smollm2": {...}})
    part.add_case(rows)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from harness.accounting._prices import Prices, cost_usd
from harness.accounting._schema import COLUMNS, utc
from harness.accounting._tokens import DEFAULT_ENCODING, tool_result_tokens
from runner.trace import StepRecord, Trace

__all__ = ["CaseRows", "case_rows", "with_result_tokens"]

CaseRows = dict[str, list[tuple[Any, ...]]]  # table → rows, each a tuple in COLUMNS[table] order


def with_result_tokens(trace: Trace, results: Iterable[tuple[str | None, str, str, Any]], encoding: str = DEFAULT_ENCODING) -> Trace:
    """`trace` with each tool step's `result_tokens` counted from the result the MCP client
    returned (`CassetteMCPClient.results`: (step_id, server, tool, result) in call order): the
    text of its content blocks, once (`tool_result_text`), labelled `<encoding>:text`. A step's
    output keeps only the structured copy, so this is where the documented rule can be kept.

    Results are matched to steps by (step_id, server, tool), in order; a step called more than
    once (retries) is counted by its last result. Steps already counted, or with no result
    returned, are left as they are.
    """
    by_key: dict[tuple[Any, ...], list[Any]] = {}
    for step_id, server, tool, result in results:
        by_key.setdefault((step_id, server, tool), []).append(result)
    steps_by_key: dict[tuple[Any, ...], list[int]] = {}
    for index, step in enumerate(trace.steps):
        if step.tool is not None and step.tool.result_tokens is None:
            steps_by_key.setdefault((step.step_id, step.tool.server, step.tool.tool), []).append(index)
    steps = list(trace.steps)
    for key, indexes in steps_by_key.items():
        found = by_key.get(key)
        if not found:
            continue
        # one result per step when they pair up; otherwise (retries) each step's last one
        chosen = found if len(found) == len(indexes) else [found[-1]] * len(indexes)
        for index, result in zip(indexes, chosen):
            tokens, label = tool_result_tokens(result, encoding)
            tool = steps[index].tool.model_copy(update={"result_tokens": tokens, "tokenizer": label})  # type: ignore[union-attr]
            steps[index] = steps[index].model_copy(update={"tool": tool})
    return trace.model_copy(update={"steps": steps})


def _llm_row(key: tuple[Any, ...], seq: int, step: StepRecord, prices: Prices | None) -> tuple[Any, ...]:
    usage = step.llm
    assert usage is not None
    cost = usage.cost_usd
    calls = [c.llm for c in step.calls if c.llm is not None]
    if cost is None and len(calls) > 1:
        # A step that retried a contract or fell back: one row (steps join llm_calls one to one)
        # with the calls' usage summed, each call priced as its own model.
        each = [c.cost_usd if c.cost_usd is not None else cost_usd(c.model, c.prompt_tokens, c.completion_tokens, prices) for c in calls]
        cost = sum(each) if all(x is not None for x in each) else None  # type: ignore[misc]
    elif cost is None:
        cost = cost_usd(usage.model, usage.prompt_tokens, usage.completion_tokens, prices)
    return (*key, seq, step.step_id, usage.model, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens, cost, usage.usage_source)


def _tool_row(key: tuple[Any, ...], seq: int, step: StepRecord, tokenizer: str) -> tuple[Any, ...]:
    usage = step.tool
    assert usage is not None
    tokens, label = usage.result_tokens, usage.tokenizer
    if tokens is None:
        tokens, label = tool_result_tokens(step.output, tokenizer)
    return (*key, seq, step.step_id, usage.server, usage.tool, usage.request_bytes, usage.result_bytes, tokens, label, usage.is_error)


def _evaluation_row(key: tuple[Any, ...], result: Any) -> tuple[Any, ...]:
    row = result if isinstance(result, Mapping) else result.as_row()
    return (*key, *(row.get(column) for column in COLUMNS["evaluations"][len(key):]))


def case_rows(
    run_id: str,
    trace: Trace,
    evaluations: Iterable[Any] = (),
    *,
    tokenizer: str = DEFAULT_ENCODING,
    prices: Prices | None = None,
    trace_path: str | None = None,
) -> CaseRows:
    """Everything one case contributes to the ledger, keyed by table.

    Args:
        run_id: the suite run the case belongs to (a trace's own `run_id` names one execution).
        trace: the case's trace.
        evaluations: `EvaluationResult`s (or their `as_row()` dicts).
        tokenizer: tiktoken encoding for tool results the trace has no token count for.
        prices: configured prices (see `cost_usd`) for llm calls the trace has no cost for.
        trace_path: where the trace was written, for drilling down from a row.

    Returns:
        `{"cases": [...], "steps": [...], "llm_calls": [...], "tool_calls": [...],
        "evaluations": [...]}`, each row a tuple in `COLUMNS[table]` order.
    """
    key = (run_id, trace.task, trace.case, trace.approach, trace.model or "")
    rows: CaseRows = {"cases": [], "steps": [], "llm_calls": [], "tool_calls": [], "evaluations": []}
    completed = utc(trace.started_at + timedelta(milliseconds=trace.duration_ms))
    rows["cases"].append((*key, trace.status.value, trace.duration_ms, trace.error, trace_path, completed))
    for seq, step in enumerate(trace.steps):
        rows["steps"].append((*key, seq, step.step_id, step.kind, step.node_type, step.action, step.error, step.attempts, step.duration_ms))
        if step.llm is not None:
            rows["llm_calls"].append(_llm_row(key, seq, step, prices))
        if step.tool is not None:
            rows["tool_calls"].append(_tool_row(key, seq, step, tokenizer))
    rows["evaluations"] = [_evaluation_row(key, result) for result in evaluations]
    return rows
