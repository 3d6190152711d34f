"""The data of the HTML report's step by step view: one record per case x approach, read from the
ledger's rows and the run's stored traces, embedded in the page as JSON that its script renders a
page at a time (a 10,000-case run is not 10,000 DOM rows up front).

    records = case_records(data)   # [{"s": "failed", "t": "meeting-times", "c": "lisbon-tokyo", "a": "ir", ...}]

A record: `s` status, `t` task, `c` case, `a` approach, `n` checks, `f` failing checks
([target, evaluator, reason]), `e` the run's error, `steps` ([summary, input, output, error] each,
input and output text, or [one-line JSON] for the page to indent; or a sentence when the trace is
not here), `ch` the change since the baseline ([rank, status
there, status here, lines]) when there is one.
"""

from __future__ import annotations

import json
import os
from typing import Any

from harness.reports._data import CaseRow, ReportData

__all__ = ["MAX_SHOWN", "case_records", "embedded"]

MAX_SHOWN = 4000  # characters of one value shown in the step by step view (the trace keeps all)


def _shown(value: object) -> str | list[str]:
    """Text as it is; anything else as one-line JSON in a list, which the page indents when the
    step is opened (json's indenting encoder is pure Python: 10 s of a 10,000-case report)."""
    structured = not isinstance(value, str)
    text = json.dumps(value, ensure_ascii=False, default=str) if structured else str(value)
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN] + f"\n… ({len(text) - MAX_SHOWN:,} more characters in the trace)"
    return [text] if structured else text


def _steps(trace_path: str | None) -> list[list[Any]] | str:
    """Each step of a stored trace: a summary line, what went in (the prompt, the tool's
    arguments, the command), what came out, and its error; or why there are none."""
    if not trace_path or not os.path.isfile(trace_path):
        return "The trace of this case is not on this machine."
    try:
        with open(trace_path, encoding="utf-8") as file:
            trace = json.load(file)
    except (OSError, ValueError):
        return "The trace of this case cannot be read."
    out: list[list[Any]] = []
    for step in trace.get("steps", []) if isinstance(trace, dict) else []:
        if not isinstance(step, dict):
            continue
        usage = step.get("llm") or {}
        tool = step.get("tool") or {}
        figures = [f"{step.get('duration_ms') or 0:.0f} ms"]
        if usage:
            figures.append(f"{usage.get('prompt_tokens') or 0:,} + {usage.get('completion_tokens') or 0:,} tokens, {usage.get('model')}")
        if tool:
            figures.append(f"{tool.get('server')}.{tool.get('tool')}, {tool.get('result_tokens') or 0:,} result tokens")
        head = " · ".join([str(step.get("step_id")), str(step.get("kind")), *figures])
        error = step.get("error")
        out.append([head, _shown(step.get("params") or {}), _shown(step.get("output")), None if not error else str(error)])
    return out or "No step ran."


def _record(row: CaseRow, change: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"s": row.status, "t": row.task, "c": row.case, "a": row.approach, "n": row.checks,
                              "f": [[f.target, f.evaluator, f.reason] for f in row.failed], "e": row.error, "steps": _steps(row.trace_path)}
    if change is not None:
        record["ch"] = [change.rank, change.before, change.after, list(change.lines)]
    return record


def case_records(data: ReportData) -> list[dict[str, Any]]:
    """Every case x approach of the run, in the report's order, as the page's script reads them."""
    changes = {(c.task, c.case, c.approach): c for c in data.changes}
    return [_record(row, changes.get((row.task, row.case, row.approach))) for row in data.cases]


def embedded(value: Any) -> str:
    """`value` as JSON to put inside a `<script type="application/json">`: compact, and with every
    `<` escaped, so no text in it (`</script>`, `<!--`) can end the element early."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
