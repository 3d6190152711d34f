"""The three renderers say the same things: terminal (tabulate), markdown, self-contained HTML."""

from __future__ import annotations

import re

import pytest

from harness.reports import build_report, to_html, to_markdown, to_terminal

CHARTS = ("tokens", "savings", "cost", "pass-rate")
TABLES = ("cases", "tokens", "savings", "cost", "pass-rate")


@pytest.fixture(scope="module")
def data(replayed):
    return build_report(replayed.ledger, replayed.run)


@pytest.fixture(scope="module")
def failing(replayed):
    return build_report(replayed.ledger, replayed.first)


@pytest.fixture(scope="module")
def html(data):
    return to_html(data)


def test_terminal_has_the_header_and_every_section_as_a_table(data):
    text = to_terminal(data)
    assert text.startswith(f"flowtape report · run {data.run.run_id}\n")
    assert f"git commit  {data.run.git_commit}" in text and "89 cases: 89 passed, 0 not passed" in text
    for title in ("Cases", "Tokens per approach per task", "Savings per tool call", "Cost over the last runs", "Pass rate per step"):
        assert f"\n{title}\n{'=' * len(title)}\n" in text
    assert re.search(r"git-release-digest\s+full-history\s+ir\s+passed\s+8\n", text)
    assert re.search(r"git-release-digest\s+direct\s+5\s+(18|19|20),\d{3}\s+—\n", text)  # tokens/run (path-dependent), no authoring for direct
    # The figure depends on the fixture path's length (the call's arguments are counted), not fixed.
    assert re.search(r"git-release-digest\s+full-history\s+ir\s+log\s+git\.git_log\s+39,\d{3}\s+\d+\s+39,\d{3}\n", text)
    assert re.search(r"meeting-times\s+outputs\.difference\s+16\s+16\s+100%\n", text)
    assert "`" not in text


def test_terminal_lists_each_failing_check(failing):
    text = to_terminal(failing)
    assert re.search(r"meeting-times\s+lisbon-tokyo\s+ir\s+failed\s+5\s+1\n", text)
    assert re.search(r"meeting-times\s+lisbon-tokyo\s+code\s+outputs\.difference\s+Equals\s+.*\+9\.0h", text)
    assert "2 failing check(s)" in text and "Run flowtape compare --run ID" in text and "No savings rows" in text


def test_markdown_has_a_heading_per_section_and_github_tables(data, failing):
    text = to_markdown(data)
    assert text.startswith(f"# flowtape report: run `{data.run.run_id}`\n")
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## Cases", "## Changed since baseline", "## Tokens per approach per task", "## Savings per tool call", "## Cost over the last runs", "## Pass rate per step"]
    assert "| task               | case                  | approach   | status   |" in text
    assert re.search(r"\| git-release-digest \| direct +\| +5 \| +(18|19|20),\d\d\d \|", text)
    failing_text = to_markdown(failing)
    row = next(line for line in failing_text.splitlines() if "| outputs.difference | Equals" in line)
    assert row.count("|") == 7 and "+9.0h" in row  # one row, six cells: nothing in a reason breaks the table


def test_html_is_one_page_with_a_heading_per_section_four_charts_and_the_tables(html, data):
    assert html.startswith("<!DOCTYPE html>") and html.count("<html") == 1 and "<style>" in html
    assert re.findall(r"<h2>(.*?)</h2>", html) == ["Cases", "Changed since baseline", "Tokens per approach per task", "Savings per tool call",
                                                   "Cost over the last runs", "Pass rate per step", "Cases, step by step"]
    for key in CHARTS:
        assert re.search(rf'<figure id="chart-{key}">\s*<svg role="img" class="chart" ', html), key
    assert html.count("<svg") == len(CHARTS)
    for key in TABLES:
        assert f'<table id="table-{key}">' in html, key
    assert html.count('<td class="status-passed">passed</td>') == 89
    assert f"<dd>{data.run.git_commit}</dd>" in html


def test_html_loads_nothing_from_anywhere(html):
    assert not re.search(r"https?://", html)
    # (one inline script, the pagers, filters and search; the rest is data; nothing with a source to fetch)
    assert not re.search(r"<script[^>]*\bsrc|<link|<img|<iframe|@import|\bsrc\s*=|url\((?!#)", html, re.I)
    assert html.count("<script>") == 1
    assert html.count("<script") - 1 == html.count('<script type="application/json"') >= 1
    assert not re.search(r'href="(?!#)', html)  # only links within the page
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html and "<metadata" not in html


def test_html_charts_do_not_share_ids(html):
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for ref in set(re.findall(r'(?:href="#|url\(#)([^")]+)', html)) - {"changed=changed"}:  # (that one is the view's state)
        assert ref in ids, ref


def test_html_is_the_same_for_the_same_ledger(html, replayed):
    assert to_html(build_report(replayed.ledger, replayed.run)) == html


def test_html_of_a_failing_uncompared_run_shows_its_failures_and_three_charts(failing):
    page = to_html(failing)
    assert '<table id="table-failing-checks">' in page and '<td class="status-failed">failed</td>' in page
    assert "<td>outputs.difference</td><td>Equals</td>" in page
    assert page.count("<svg") == 3 and 'id="chart-savings"' not in page
    assert "No savings rows for this run" in page and "<code>flowtape compare --run ID</code>" in page
