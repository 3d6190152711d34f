"""The HTML report's step by step view: every case x approach as JSON in the page, with its
failing checks and their reasons and each step's input and output from the stored trace; the
status, task, approach and change filters and a text search beside it; a case whose trace is gone
says so. (The page's script draws it: tests/harness/reports/test_browser.py.)"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from harness.reports import FailedCheck, build_report, to_html


def records(html: str) -> dict:
    """The view's data as the page embeds it: {"page": .., "baseline": .., "cases": [...]}."""
    found = re.search(r'<script type="application/json" id="report-cases">(.*?)</script>', html, re.S)
    assert found, "no embedded cases"
    return json.loads(found.group(1))


def case(html: str, label: str) -> dict:
    """One case's record, by `task/case [approach]`."""
    for c in records(html)["cases"]:
        if f"{c['t']}/{c['c']} [{c['a']}]" == label:
            return c
    raise AssertionError(f"no case {label}")


def step(record: dict, step_id: str) -> list:
    """[summary, input, output, error] of one step of a case (JSON values as the page gets them: one line)."""
    (found,) = [s for s in record["steps"] if s[0].startswith(f"{step_id} · ")]
    return [v[0] if isinstance(v, list) else v for v in found]


def test_a_failing_case_carries_its_reason_and_each_steps_input_and_output(replayed):
    html = to_html(build_report(replayed.ledger, replayed.first))
    for control in ('<select id="filter-status">', '<select id="filter-task">', '<select id="filter-approach">', '<input id="filter-text"'):
        assert control in html
    assert '<option value="meeting-times">meeting-times</option>' in html and '<option value="code">code</option>' in html
    assert len(records(html)["cases"]) == 16
    failing = case(html, "meeting-times/lisbon-tokyo [ir]")
    assert failing["s"] == "failed" and failing["n"] == 5
    # the planted regression's reason, then the convert step: its arguments in, the tool's result out
    [(target, evaluator, reason)] = failing["f"]
    assert (target, evaluator) == ("outputs.difference", "Equals") and "+8.0h" in reason
    summary, given, got, error = step(failing, "convert")
    assert summary.startswith("convert · mcp · ") and "time.convert_time" in summary and error is None
    assert '"target_timezone": "Asia/Tokyo"' in given and '"time_difference": "+9.0h"' in got


def test_a_model_step_carries_its_prompt_and_reply(replayed):
    html = to_html(build_report(replayed.ledger, replayed.run))
    summary, given, got, _ = step(case(html, "git-release-digest/last-20 [ir]"), "headline")
    assert summary.startswith("headline · llm · ") and "tokens, " in summary  # prompt + completion tokens and the model
    assert '"prompt": ' in given and '"response": ' in got


def test_a_case_whose_trace_is_gone_says_so(replayed):
    data = build_report(replayed.ledger, replayed.first)
    gone = replace(data, cases=tuple(replace(c, trace_path=str(replayed.work / "no-such-trace.json")) for c in data.cases))
    assert case(to_html(gone), "meeting-times/lisbon-tokyo [ir]")["steps"] == "The trace of this case is not on this machine."


def test_text_in_a_case_cannot_end_the_embedded_data_early(replayed):
    data = build_report(replayed.ledger, replayed.first)
    hostile = "</script><script>alert(1)</script><!--"
    first = replace(data.cases[0], failed=(FailedCheck("steps.x", "Equals", hostile),))
    html = to_html(replace(data, cases=(first, *data.cases[1:])))
    assert "alert(1)</script>" not in html
    assert records(html)["cases"][0]["f"] == [["steps.x", "Equals", hostile]]
