"""The HTML report in a real browser: headless Chromium builds the DOM with the four charts and
the tables, and a screenshot of the page is a picture, not a blank. Chromium missing fails the
test (CI installs it with scripts/install_browser.sh); it never skips."""

from __future__ import annotations

import re
import subprocess
from html import unescape
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from matplotlib.image import imread

from harness.reports import build_report, to_html
from harness.reports._charts import APPROACH_COLOURS

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium dials out and this closed network refuses it.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="module")
def page(replayed, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(to_html(build_report(replayed.ledger, replayed.run)), encoding="utf-8")
    return path


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (CI installs it)", pytrace=False)
    profile = tmp_path / "profile"
    profile.mkdir()
    done = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_the_dom_has_the_four_charts_and_the_tables(page, tmp_path):
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<title>flowtape report · run " in dom
    for key in ("tokens", "savings", "cost", "pass-rate"):
        figure = re.search(rf'<figure id="chart-{key}">(.*?)</figure>', dom, re.S)
        assert figure, key
        svg = re.search(r"<svg [^>]*viewBox=[^>]*>(.*)</svg>", figure.group(1), re.S)
        assert svg, key
        shapes = re.findall(r"<(?:rect|path|circle|line)\b", svg.group(1))
        assert len(shapes) > 10 and svg.group(1).count("<text") > 5, key  # drawn: bars or lines, axes, labels
    for key in ("cases", "tokens", "savings", "cost", "pass-rate"):
        table = re.search(rf'<table id="table-{key}">(.*?)</table>', dom, re.S)
        assert table and table.group(1).count("<tr>") > 1, key
    assert dom.count('<td class="status-passed">passed</td>') == 89  # 42 x (ir, code) + doc-intake's 5 (ir)


def test_a_screenshot_shows_the_page_with_its_charts(page, tmp_path):
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,6000", page.as_uri())
    assert shot.exists() and shot.stat().st_size > 50_000
    pixels = (imread(str(shot))[..., :3] * 255).round().astype(np.int32)  # 0-255 per channel
    assert pixels.shape[:2] == (6000, 1280)
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]  # one int a colour: np.unique(axis=0) took ~20 s
    assert pixels.std() > 0.05 * 255 and len(np.unique(packed)) > 200  # not one flat colour
    # The tokens chart and the top of the savings chart sit in the first 6000 px (below 89 case rows): their bars show
    # in each approach's colour.
    for approach, colour in APPROACH_COLOURS.items():
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).max(axis=-1) <= 5).sum() > 2_000, approach  # within 0.02 of each channel


def rendered_cases(dom: str) -> list[tuple[str, str, str]]:
    """(status, label, the element's HTML) of each case the page's script drew, in order."""
    found = []
    for block in re.findall(r'<details class="case .*?(?=<details class="case |</div>\s*<script type="application/json" id="report-cases")', dom, re.S):
        head = re.match(r'<details class="case (\w+)" data-status="\w+" data-case="([^"]+)"', block)
        assert head, block[:200]
        found.append((head.group(1), unescape(head.group(2)), block))
    return found


def test_a_link_filters_to_the_failures_and_opens_a_case_to_its_steps(replayed, tmp_path):
    # The run with the planted regression: 16 cases, lisbon-tokyo failing under ir and code. The page's
    # own script reads the link (#status=failed&open=...), as a choice in the filter and a click on the case would.
    page = tmp_path / "failing.html"
    page.write_text(to_html(build_report(replayed.ledger, replayed.first)), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert len(rendered_cases(dom)) == 16  # unfiltered: every case, collapsed, with no steps drawn yet
    assert "<details open" not in dom and '<details class="step' not in dom
    url = page.as_uri() + "#status=failed&open=" + quote("meeting-times/lisbon-tokyo [ir]")
    (tmp_path / "again").mkdir()
    dom = chromium(tmp_path / "again", "--dump-dom", url).stdout
    cases = rendered_cases(dom)
    assert [(status, label) for status, label, _ in cases] == [("failed", "meeting-times/lisbon-tokyo [code]"),
                                                               ("failed", "meeting-times/lisbon-tokyo [ir]")]
    assert re.search(r'id="case-pager">.*?1–2 of 2 \(of 16\) · page 1 of 1', dom)
    assert " open" not in cases[0][2].split(">")[0] and " open" in cases[1][2].split(">")[0]
    block = unescape(cases[1][2])
    assert re.search(r'<details class="step" open="">\s*<summary>convert · mcp', block)  # its steps open too
    assert "outputs.difference Equals: " in block and '"time_difference": "+9.0h"' in block


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    """The report of a made-up 2,000-case run (tests/harness/reports/synthetic.py): one case in seven fails."""
    from .synthetic import synthetic_run

    folder = tmp_path_factory.mktemp("large")
    ledger, run = synthetic_run(folder, 2_000)
    page = folder / "report.html"
    page.write_text(to_html(build_report(ledger, run)), encoding="utf-8")
    return page


def _labels(dom: str) -> list[str]:
    return [label for _, label, _ in rendered_cases(dom)]


def test_a_large_report_draws_one_page_of_cases_and_of_rows(large, tmp_path):
    dom = chromium(tmp_path, "--dump-dom", large.as_uri()).stdout
    order = sorted((f"task-{i % 10:02d}", f"case-{i:05d}") for i in range(2_000))  # the report's order: task, case
    assert _labels(dom) == [f"{t}/{c} [ir]" for t, c in order[:50]]
    assert re.search(r'id="case-pager">.*?1–50 of 2,000 · page 1 of 40 ', dom)
    cases_table = re.search(r'<table id="table-cases">.*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
    assert cases_table.count("<tr>") == 100  # of 2,000 rows, in JSON for the pager
    assert re.search(r'id="table-cases-pager">.*?1–100 of 2,000 · page 1 of 20 ', dom)


def test_a_large_report_filters_searches_and_turns_pages(large, tmp_path):
    from .synthetic import failing

    def view(state: str) -> str:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        return chromium(folder, "--dump-dom", f"{large.as_uri()}#{state}").stdout

    failed = sorted((f"task-{i % 10:02d}", f"case-{i:05d}") for i in range(2_000) if failing(i))
    dom = view("status=failed&page=3")
    assert _labels(dom) == [f"{t}/{c} [ir]" for t, c in failed[100:150]]
    assert re.search(rf'id="case-pager">.*?101–150 of {len(failed)} \(of 2,000\) · page 3 of {-(-len(failed) // 50)} ', dom)
    # the search looks in the steps too: a phrase of one case's prompt finds that case alone
    assert _labels(view("q=" + quote("Summarise the 1234 rows"))) == ["task-04/case-01234 [ir]"]
    assert _labels(view("task=task-04&q=case-0123")) == ["task-04/case-01234 [ir]"]
    assert _labels(view("page=99"))[-1] == "task-09/case-01999 [ir]"  # past the end: the last page
    opened = rendered_cases(view("status=failed&open=" + quote("task-03/case-01753 [ir]")))
    assert [label for _, label, block in opened if " open" in block.split(">")[0]] == ["task-03/case-01753 [ir]"]
