"""`flowtape diff`: two runs of the shipped meeting-times cases, the second with a regression
planted in the workflow (the summary's wording), compared case by case with the changed check
and step first and both values shown; and two workflow versions compared by structure."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest

from harness.diff import diff_workflows, render_workflows

ROOT = Path(__file__).resolve().parents[2]
CASES = ("dubai-singapore", "lisbon-tokyo")


@pytest.fixture
def two_runs(tmp_path, cli, monkeypatch):
    """A ledger with run A (the shipped workflow) and run B (the summary says 'after,' for 'later')."""
    monkeypatch.setenv("CI", "true")
    task = tmp_path / "suite" / "meeting-times"
    (task / "cases").mkdir(parents=True)
    (tmp_path / "cassettes" / "meeting-times").mkdir(parents=True)
    for name in ("task.yaml", "workflow.json", "baseline.py"):
        shutil.copy(ROOT / "goldens" / "meeting-times" / name, task / name)
    for case in CASES:
        shutil.copy(ROOT / "goldens" / "meeting-times" / "cases" / f"{case}.yaml", task / "cases")
        shutil.copy(ROOT / "cassettes" / "meeting-times" / f"{case}.ir.yaml", tmp_path / "cassettes" / "meeting-times")
    args = ("test", tmp_path / "suite", "--approach", "ir", "--cassettes", tmp_path / "cassettes", "--ledger", tmp_path / "l.duckdb",
            "--trace-dir", tmp_path / "traces")
    assert cli(*args).exit_code == 0
    workflow = task / "workflow.json"
    workflow.write_text(workflow.read_text().replace("later in %s", "after, in %s"))
    assert cli(*args).exit_code == 1
    return tmp_path / "l.duckdb"


def test_a_planted_regression_is_shown_at_its_step_with_both_values(two_runs, cli):
    result = cli("diff", "previous", "latest", "--ledger", two_runs)
    assert result.exit_code == 1  # something changed
    lines = result.stdout.splitlines()
    assert lines[1] == "2 case(s) changed (2 with a verdict or status change), 0 unchanged"
    first = lines.index("meeting-times/dubai-singapore [ir]: passed → failed")
    case = list(itertools.takewhile(bool, lines[first + 1:]))
    # the check that now fails, first, with its reason
    assert case[0].startswith("  outputs.summary Regex: passed → failed (")
    # the step whose output changed, where it changed, both values
    assert ('  step summary: stdout: from char 30: A "08:00 in Asia/Dubai is +4.0h later in Asia/Singapore", '
            'B "08:00 in Asia/Dubai is +4.0h after, in Asia/Singapore"') in case
    # the step that did not change (convert, now) is not listed
    assert not any("step convert" in line or "step now" in line for line in case)

    data = json.loads(cli("diff", "previous", "latest", "--ledger", two_runs, "--format", "json").stdout)
    assert [(c["label"], c["status"]) for c in data["cases"]] == [(f"meeting-times/{c} [ir]", ["passed", "failed"]) for c in CASES]
    assert cli("diff", "latest", "latest", "--ledger", two_runs).exit_code == 0


def test_a_run_that_is_not_there_is_named(two_runs, cli):
    result = cli("diff", "nope", "--ledger", two_runs)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"flowtape: nope: not a run of {two_runs} (latest: ")
    assert cli("diff", "baseline", "--ledger", two_runs).stderr == (
        f"flowtape: {two_runs}: no baseline recorded (flowtape gate --update-baseline records one)\n")


def test_two_workflows_are_compared_by_node_id_not_line_order():
    old = {"inputs": {"q": {"type": "string"}},
           "nodes": [{"id": "a", "type": "shell", "params": {"command": "echo ${q}"}},
                     {"id": "b", "type": "llm", "params": {"prompt": "Sum up: ${a.stdout}", "temperature": 0}}],
           "edges": [{"from": "a", "to": "b"}], "outputs": {"out": {"source": "${b.response}"}}}
    new = {"inputs": {"q": {"type": "string"}, "n": {"type": "integer"}},
           "nodes": [{"id": "b", "type": "llm", "params": {"prompt": "Sum up briefly: ${a.stdout}", "temperature": 0}},
                     {"id": "a", "type": "shell", "params": {"command": "echo ${q}"}},
                     {"id": "c", "type": "shell", "params": {"command": "wc -c"}}],
           "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}], "outputs": {"out": {"source": "${c.stdout}"}}}
    diff = diff_workflows(old, new, "v1.json", "v2.json")
    assert diff.nodes_added == ["c"] and diff.nodes_removed == []
    assert diff.nodes_changed == {"b": ['params: prompt: from char 7: A "Sum up: ${a.stdout}", B "Sum up briefly: ${a.stdout}"']}
    assert diff.edges_added == ["b -> c"] and diff.edges_removed == []
    assert diff.inputs == ["n: only in B"]
    assert diff.outputs == ['out: source: from char 3: A "${b.response}", B "${c.stdout}"']
    text = render_workflows(diff)
    assert text.splitlines()[0] == "A: v1.json · B: v2.json: 5 change(s)"
    assert not diff_workflows(old, json.loads(json.dumps(old))).changed


def test_the_cli_compares_two_workflow_files(tmp_path, cli):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"nodes": [{"id": "x", "type": "shell", "params": {"command": "true"}}], "edges": []}))
    b.write_text(json.dumps({"nodes": [{"id": "x", "type": "shell", "params": {"command": "false"}}], "edges": []}))
    result = cli("diff", a, b)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1] == '  node x: params: command: from char 1: A "true", B "false"'
    assert cli("diff", a, a).exit_code == 0
    assert cli("diff", a, "latest").exit_code == 2
