"""The HTML report's step by step view: every case x approach collapsed, opened to its failing
checks with their reasons and each step's input and output from the stored trace; a status
filter and a text search; a case whose trace is gone says so."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

from harness.reports import build_report, to_html


def _case(html: str, label: str) -> str:
    """The <details> of one case, by its summary's `task/case [approach]`."""
    for block in re.findall(r'<details class="case .*?</details>(?=\n<details class="case|\n</section>)', html, re.S):
        if label in block.split("</summary>")[0]:
            return unescape(block)
    raise AssertionError(f"no case {label}")


def test_a_failing_case_opens_to_its_reason_and_each_steps_input_and_output(replayed):
    html = to_html(build_report(replayed.ledger, replayed.first))
    assert '<select id="filter-status">' in html and '<input id="filter-text"' in html and "<script>" in html
    case = _case(html, "meeting-times/lisbon-tokyo [ir]")
    assert case.startswith('<details class="case failed" data-status="failed" data-case="meeting-times/lisbon-tokyo [ir]"><summary><b>failed</b>')
    # the planted regression's reason, then the convert step: its arguments in, the tool's result out
    assert "outputs.difference Equals:" in case and "+8.0h" in case
    convert = case[case.index("<summary>convert · mcp"):]
    assert '"target_timezone": "Asia/Tokyo"' in convert.split("<div>output</div>")[0]
    assert '"time_difference": "+9.0h"' in convert.split("<div>output</div>")[1]


def test_a_model_step_shows_its_prompt_and_reply(replayed):
    html = to_html(build_report(replayed.ledger, replayed.run))
    case = _case(html, "git-release-digest/last-20 [ir]")
    headline = case[case.index("<summary>headline · llm"):]
    assert "tokens, " in headline.split("</summary>")[0]  # prompt + completion tokens and the model, in the summary
    assert '"prompt": ' in headline and '"response": ' in headline


def test_a_case_whose_trace_is_gone_says_so(replayed):
    data = build_report(replayed.ledger, replayed.first)
    gone = replace(data, cases=tuple(replace(c, trace_path=str(replayed.work / "no-such-trace.json")) for c in data.cases))
    assert "The trace of this case is not on this machine." in _case(to_html(gone), "meeting-times/lisbon-tokyo [ir]")
