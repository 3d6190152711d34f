"""Selections that match nothing are errors (exit 2, naming what matched nothing, with a
did-you-mean); --task, --case and --approach may be repeated and every name counts."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness._cli.main import app
from harness.goldens import GoldenError, load_suite, select_units

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "goldens"


def names(units):
    return sorted(f"{t.name}/{c.name}[{a}]" for t, c, a in units)


def test_repeated_tasks_and_cases_all_count():
    tasks = load_suite(SUITE, task=["meeting-times", "team-memory"])
    assert sorted(t.name for t in tasks) == ["meeting-times", "team-memory"]
    picked = load_suite(SUITE, case=["lisbon-tokyo", "new-york-berlin"])
    assert names(select_units(picked, "ir")) == ["meeting-times/lisbon-tokyo[ir]", "meeting-times/new-york-berlin[ir]"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"task": ["meeting-times", "meeting-tims"]}, "no task 'meeting-tims'; did you mean 'meeting-times'?"),
    ({"case": ["lisbon-tokyo", "lisbon-tokio"]}, "no case 'lisbon-tokio'; did you mean 'lisbon-tokyo'?"),
    ({"task": "meeting-times", "case": "two-reviews"}, "no case 'two-reviews' in task 'meeting-times'"),
])
def test_a_name_that_matches_nothing_is_an_error(kwargs, message):
    with pytest.raises(GoldenError, match=message.replace("?", r"\?")):
        load_suite(SUITE, **kwargs)


@pytest.mark.parametrize(("approach", "message"), [
    ("IR", "--approach 'IR': not an approach; did you mean 'ir'?"),
    ("foo", "--approach 'foo': not an approach (approaches that run: ir, code, direct, and ir@<model> / code@<model> for what `flowtape author` saved)"),
    ("Direct", "--approach 'Direct': not an approach; did you mean 'direct'?"),
])
def test_an_approach_that_runs_nothing_is_an_error(approach, message):
    with pytest.raises(GoldenError, match=message.replace("?", r"\?").replace("(", r"\(").replace(")", r"\)")):
        select_units(load_suite(SUITE), approach)


def test_direct_is_selected_like_the_others():
    tasks = load_suite(SUITE, task="meeting-times")
    assert names(select_units(tasks, "direct")) == [f"meeting-times/{c.name}[direct]" for c in tasks[0].cases]  # every case, in name order
    assert "meeting-times/lisbon-tokyo[direct]" in names(select_units(tasks, "direct"))
    assert [a for _, c, a in select_units(tasks) if c.name == "lisbon-tokyo"] == ["ir", "code", "direct"]


def test_an_approach_no_selected_task_lists_is_an_error(tmp_path):
    shutil.copytree(SUITE / "meeting-times", tmp_path / "s" / "meeting-times")
    task = tmp_path / "s" / "meeting-times" / "task.yaml"
    task.write_text(task.read_text().replace("approaches: [ir, code, direct]", "approaches: [ir]"))
    with pytest.raises(GoldenError, match=r"--approach code: no selected task lists it \(tasks: meeting-times\)"):
        select_units(load_suite(tmp_path / "s"), ["code"])


def test_record_refuses_a_selection_that_records_nothing_before_starting_anything(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = CliRunner().invoke(app, ["record", str(SUITE), "--approach", "IR"])
    assert result.exit_code == 2
    assert result.stderr == "flowtape: --approach 'IR': not an approach; did you mean 'ir'? (approaches that run: ir, code, direct, and ir@<model> / code@<model> for what `flowtape author` saved)\n"
    assert "local model" not in result.output


def test_flowtape_test_runs_what_was_named_and_refuses_what_matches_nothing(tmp_path, monkeypatch):
    cli = CliRunner()
    args = ["test", str(SUITE), "--ledger", str(tmp_path / "l.duckdb"), "--trace-dir", str(tmp_path / "t")]
    for bad, message in ((["--approach", "IR"], "--approach 'IR': not an approach; did you mean 'ir'?"),
                         (["--approach", "drect"], "--approach 'drect': not an approach; did you mean 'direct'?"),
                         (["--case", "lisbon-tokyo", "--case", "nope"], "no case 'nope'")):
        result = cli.invoke(app, [*args, *bad])
        assert result.exit_code == 2 and message in result.stderr, result.output
        assert not (tmp_path / "l.duckdb").exists()  # nothing ran, no run was added
    both = cli.invoke(app, [*args, "--case", "lisbon-tokyo", "--case", "new-york-berlin", "--approach", "ir"])
    assert both.exit_code == 0, both.output
    assert "2 cases: 2 passed, 0 failed" in both.stdout
