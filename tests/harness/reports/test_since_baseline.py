"""The report's "changed since baseline" view, on a planted regression: the shipped suite's
replay is the recorded baseline (as `flowtape gate --update-baseline` on main records it), then
two tasks run again under `ir` with a regression planted in each:

- meeting-times: the workflow's summary says "after, in" for "later in" (a step output that
  changed, and the `outputs.summary` check that now fails where the wording is checked);
- git-release-digest/last-20: its golden allows the headline 1 completion token (a check on a
  model step that flips; the step's prompt and response are what to look at).

The view lists exactly the cases that changed, largest change first, with the lines
`flowtape diff` prints; the browser draws it filtered, and a failing case opened shows its
model step's prompt and response and the evaluator's reason (a screenshot is kept).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import quote

import duckdb  # noqa: F401  (the ledger's engine, loaded before the CLI runs in-process)
import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image

from harness.accounting import query
from harness.gate import update_baseline
from harness.reports import build_report, to_html, to_terminal

from .test_browser import chromium, rendered_cases
from .test_drill_down import case, records

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "reports" / "test-artifacts"  # kept after the run (reports/ is git-ignored); CI can upload it
LAST_20 = "git-release-digest/last-20 [ir]"


@dataclass(frozen=True)
class Regressed:
    ledger: Path
    baseline: str
    run: str


@pytest.fixture(scope="module")
def regressed(shipped, tmp_path_factory) -> Regressed:
    from typer.testing import CliRunner

    from harness._cli.main import app

    work = shipped.copy(tmp_path_factory.mktemp("regressed") / "work")
    ledger = work / "ledger.duckdb"
    update_baseline(ledger, shipped.run_id, cassettes=work / "cassettes")
    workflow = work / "goldens" / "meeting-times" / "workflow.json"
    assert "later in %s" in workflow.read_text()
    workflow.write_text(workflow.read_text().replace("later in %s", "after, in %s"))
    golden = work / "goldens" / "git-release-digest" / "cases" / "last-20.yaml"
    assert "{MaxCompletionTokens: 120}" in golden.read_text()
    golden.write_text(golden.read_text().replace("{MaxCompletionTokens: 120}", "{MaxCompletionTokens: 1}"))
    args = ("test", work / "goldens", "--task", "meeting-times", "--task", "git-release-digest", "--approach", "ir",
            "--cassettes", work / "cassettes", "--ledger", ledger, "--trace-dir", work / "traces-b", "--format", "json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CI", "true")
        patch.chdir(work)
        done = CliRunner().invoke(app, [str(a) for a in args])
    assert done.exit_code == 1, done.output
    return Regressed(ledger, shipped.run_id, json.loads(done.stdout)["run_id"])


def test_the_report_lists_the_cases_that_changed_since_the_recorded_baseline(regressed):
    data = build_report(regressed.ledger)
    assert data.run.run_id == regressed.run and data.baseline.run_id == regressed.baseline
    assert data.baseline.how == "the recorded baseline (flowtape gate --update-baseline)"
    ran = {(t, c) for t, c in query(regressed.ledger, 'SELECT task, "case" FROM cases WHERE run_id = ?', [regressed.run])[1]}
    before = query(regressed.ledger, "SELECT count(*) FROM cases WHERE run_id = ?", [regressed.baseline])[1][0][0]
    assert data.baseline.only_in_baseline == before - len(ran)  # the other tasks and approaches were not run again
    changed = {f"{c.task}/{c.case} [{c.approach}]": c for c in data.changes}
    meeting = {f"meeting-times/{c} [ir]" for t, c in ran if t == "meeting-times"}
    assert set(changed) == meeting | {LAST_20}  # every summary changed; of the digests only last-20
    assert data.baseline.unchanged == len(ran) - len(changed)
    last_20 = changed[LAST_20]
    assert (last_20.before, last_20.after, last_20.flipped, last_20.outputs) == ("passed", "failed", 1, 0)
    assert last_20.lines[0].startswith("steps.headline MaxCompletionTokens: passed → failed (")
    dubai = changed["meeting-times/dubai-singapore [ir]"]
    assert (dubai.before, dubai.after) == ("passed", "failed") and dubai.lines[0].startswith("outputs.summary Regex: passed → failed (")
    assert ('step summary: stdout: from char 30: A "08:00 in Asia/Dubai is +4.0h later in Asia/Singapore", '
            'B "08:00 in Asia/Dubai is +4.0h after, in Asia/Singapore"') in dubai.lines
    # largest change first: the cases whose checks broke before those whose output alone changed
    ranks = [(c.flipped > 0) for c in data.changes]
    assert ranks == sorted(ranks, reverse=True) and [c.rank for c in data.changes] == list(range(len(data.changes)))
    # the same view in the terminal, and none when asked for none or when the run is the baseline itself
    assert f"Against run {regressed.baseline}, the recorded baseline" in to_terminal(data)
    assert build_report(regressed.ledger, baseline=None).baseline is None
    assert build_report(regressed.ledger, regressed.baseline).baseline is None


def test_the_page_carries_each_change_with_its_case(regressed):
    html = to_html(build_report(regressed.ledger))
    assert records(html)["baseline"] == regressed.baseline
    rank, before, after, lines = case(html, LAST_20)["ch"]
    assert (before, after) == ("passed", "failed") and lines[0].startswith("steps.headline MaxCompletionTokens: passed → failed")
    assert "ch" not in case(html, "git-release-digest/last-50 [ir]")
    assert '<table id="table-changes">' in html and '<a class="show-changed" href="#changed=changed">' in html
    assert '<select id="filter-changed"><option value="">all</option><option value="changed">changed</option>' in html


def test_the_browser_draws_the_changed_cases_largest_first_and_filters_them(regressed, tmp_path):
    data = build_report(regressed.ledger)
    page = tmp_path / "report.html"
    page.write_text(to_html(data), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri() + "#changed=changed").stdout
    drawn = rendered_cases(dom)
    assert [label for _, label, _ in drawn] == [f"{c.task}/{c.case} [{c.approach}]" for c in data.changes]
    assert all('<span class="changed">changed: passed → failed</span>' in block or "changed: passed → passed" in block
               for _, _, block in drawn)
    (tmp_path / "b").mkdir()
    dom = chromium(tmp_path / "b", "--dump-dom", page.as_uri() + "#changed=changed&task=git-release-digest").stdout
    assert [label for _, label, _ in rendered_cases(dom)] == [LAST_20]


def test_a_failing_case_opened_shows_its_prompt_response_and_reason_in_a_screenshot(regressed, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(to_html(build_report(regressed.ledger)), encoding="utf-8")
    url = page.as_uri() + "#status=failed&open=" + quote(LAST_20)
    dom = chromium(tmp_path, "--dump-dom", url).stdout
    [opened] = [unescape(block) for _, label, block in rendered_cases(dom) if label == LAST_20]
    headline = opened[opened.index("<summary>headline · llm"):]
    assert '"prompt": ' in headline.split("<div>output</div>")[0] and '"response": ' in headline.split("<div>output</div>")[1]
    assert re.search(r'<li class="fail">steps\.headline MaxCompletionTokens: [^<]+</li>', opened)  # the evaluator's reason
    assert "since the baseline, run " + regressed.baseline in opened
    # A window taller than the page: the opened case is drawn where it is (headless Chromium's --screenshot is blank
    # once the page has scrolled), then the bottom of the page, where the step by step view is, is kept.
    full = tmp_path / "page.png"
    (tmp_path / "shot").mkdir()
    chromium(tmp_path / "shot", f"--screenshot={full}", "--window-size=1280,9000", url)
    pixels = imread(str(full))[..., :3]
    drawn = np.where((pixels < 0.98).any(axis=(1, 2)))[0]
    assert drawn.max() < 8900, "the page is taller than the window: the screenshot would miss its end"
    view = pixels[max(0, drawn.max() - 2600):drawn.max() + 20]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report-failing-case.png"
    Image.fromarray((view * 255).round().astype(np.uint8)).save(shot)
    print(f"screenshot of the opened failing case: {shot}")
    levels = (view * 255).round().astype(np.int32)
    colours = np.unique((levels[..., 0] << 16) | (levels[..., 1] << 8) | levels[..., 2])  # one int a colour: np.unique(axis=0) is slow
    assert view.std() > 0.05 and len(colours) > 100  # a page, not a blank
    # the failing check's reason in red (--bad, #c0392b) and the steps' inputs and outputs on their grey band (#f5f7fa)
    for colour, least in (((0xC0, 0x39, 0x2B), 200), ((0xF5, 0xF7, 0xFA), 100_000)):
        assert (np.abs(view - np.array(colour) / 255).max(axis=-1) < 0.03).sum() > least, colour


def test_the_cli_compares_with_the_baseline_asked_for(regressed, cli):
    shown = cli("report", "--ledger", regressed.ledger)
    assert shown.exit_code == 0 and f"Against run {regressed.baseline}, the recorded baseline" in shown.stdout
    assert "No baseline to compare with" in cli("report", "--ledger", regressed.ledger, "--baseline", "none").stdout
    missing = cli("report", "--ledger", regressed.ledger, "--baseline", "nope")
    assert missing.exit_code == 2 and missing.stderr.startswith(f"flowtape: baseline nope: not a run of {regressed.ledger}")
