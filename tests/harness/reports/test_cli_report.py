"""`flowtape report`: formats, where the HTML goes, reproducing a past run from the ledger alone,
and one-line exit-2 errors."""

from __future__ import annotations

import shutil

from harness.reports import build_report, to_html, to_markdown


def test_terminal_is_the_default_and_reports_the_latest_run(cli, replayed):
    result = cli("report", "--ledger", replayed.ledger)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"flowtape report · run {replayed.run}\n") and "Pass rate per step" in result.stdout


def test_markdown_goes_to_stdout_or_to_out(cli, replayed, tmp_path):
    result = cli("report", "--ledger", replayed.ledger, "--run", replayed.first, "--format", "markdown")
    assert result.exit_code == 0 and result.stdout.startswith(f"# flowtape report: run `{replayed.first}`")
    out = tmp_path / "deep" / "report.md"
    result = cli("report", "--ledger", replayed.ledger, "--run", replayed.first, "--format", "markdown", "--out", out)
    assert result.exit_code == 0 and out.read_text() == to_markdown(build_report(replayed.ledger, replayed.first))
    assert result.stdout == f"flowtape report: run {replayed.first} written to {out}\n"


def test_html_without_out_goes_to_reports_report_run_html(cli, replayed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("report", "--ledger", replayed.ledger, "--format", "html")
    assert result.exit_code == 0, result.output
    page = tmp_path / "reports" / f"report-{replayed.run}.html"
    assert page.read_text() == to_html(build_report(replayed.ledger, replayed.run))
    assert [p.name for p in page.parent.iterdir()] == [page.name]  # written atomically: no temp file left


def test_a_past_run_is_reproduced_from_the_ledger_alone(cli, replayed, tmp_path):
    before = tmp_path / "before.html"
    assert cli("report", "--ledger", replayed.ledger, "--run", replayed.run, "--format", "html", "--out", before).exit_code == 0
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(replayed.ledger, alone / "ledger.duckdb")
    hidden = replayed.traces.with_name(replayed.traces.name + "-hidden")
    replayed.traces.rename(hidden)  # the run's traces are gone (put back after: other tests read them); no goldens or cassettes either
    try:
        after = alone / "after.html"
        result = cli("report", "--ledger", alone / "ledger.duckdb", "--run", replayed.run, "--format", "html", "--out", after)
    finally:
        hidden.rename(replayed.traces)
    assert result.exit_code == 0, result.output
    was, now = before.read_text(), after.read_text()

    def without_steps(text: str) -> str:
        start = text.index('<section id="steps">')
        return text[:start] + text[text.index("</section>", start):]

    assert without_steps(now) == without_steps(was)  # everything the ledger holds, the same bytes
    from .test_drill_down import records

    cases = records(was)["cases"]
    assert len(cases) == 89 and all(isinstance(c["steps"], list) and c["steps"] for c in cases)
    gone = records(now)["cases"]  # the step view says why it is empty; the rest of each case is the ledger's
    assert all(c["steps"] == "The trace of this case is not on this machine." for c in gone)
    assert [{**c, "steps": None} for c in gone] == [{**c, "steps": None} for c in cases]
    assert sorted(p.name for p in alone.iterdir()) == ["after.html", "ledger.duckdb"]


def test_a_missing_ledger_or_an_unknown_run_is_exit_2_in_one_line(cli, replayed, tmp_path):
    result = cli("report", "--ledger", tmp_path / "none.duckdb")
    assert result.exit_code == 2 and result.stderr == f"flowtape: {tmp_path / 'none.duckdb'}: no such ledger (flowtape test writes it)\n"
    result = cli("report", "--ledger", replayed.ledger, "--run", "20990101T000000-nope", "--format", "html", "--out", tmp_path / "x.html")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"flowtape: {replayed.ledger} has no run '20990101T000000-nope'; latest: ")
    assert replayed.run in result.stderr and not (tmp_path / "x.html").exists()
    bad = tmp_path / "bad.duckdb"
    bad.write_text("not a database")
    result = cli("report", "--ledger", bad)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "not a flowtape ledger" in result.stderr
