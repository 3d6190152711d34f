"""Golden task and case files are read strictly: every mistake is one error naming the file and
the key."""

import shutil
from pathlib import Path

import pytest

from harness.goldens import GoldenError, load_suite, load_task

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def task(tmp_path):
    folder = tmp_path / "suite" / "meeting-times"
    shutil.copytree(ROOT / "goldens" / "meeting-times", folder)
    return folder


def test_the_shipped_suite_loads_with_its_evaluators_built():
    tasks = load_suite(ROOT / "goldens")
    assert [t.name for t in tasks] == ["action-items", "changelog-export", "doc-intake", "git-release-digest", "meeting-times", "review-triage",
                                       "shop-sales", "standup-brief", "team-memory"]
    assert sum(len(t.cases) for t in tasks) == 47
    full = next(c for c in tasks[3].cases if c.name == "full-history")
    assert [type(e).__name__ for e in full.steps["headline"]] == ["JsonSchema", "MaxPromptTokens", "MaxCompletionTokens"]


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("task.yaml", "normalize:", "normalise:", "task.yaml: normalise: unknown key"),
        ("task.yaml", "version: 1", "version: 2", "task.yaml: version: Input should be 1"),
        ("task.yaml", "description: >", "summary: >", "task.yaml: description: Field required"),
        ("task.yaml", "approaches: [ir, code, direct]", "approaches: [ir, sql]", "task.yaml: approaches.1: Input should be 'ir', 'code' or 'direct'"),
        ("cases/lisbon-tokyo.yaml", "inputs:", "input:", "lisbon-tokyo.yaml: input: unknown key"),
        ("cases/lisbon-tokyo.yaml", "StepRan", "StepRun", "lisbon-tokyo.yaml: steps.now[0]: "),
        ("cases/lisbon-tokyo.yaml", "{MaxDuration: 5}", "{MaxDuration: soon}", "lisbon-tokyo.yaml: steps.now[1]: MaxDuration: argument 'seconds'"),
        ("cases/lisbon-tokyo.yaml", "difference:", "diference:", "lisbon-tokyo.yaml: outputs.diference: the workflow has no declared output 'diference'; did you mean 'difference'?"),
        ("cases/lisbon-tokyo.yaml", "steps:", "steps: [\n", "lisbon-tokyo.yaml:"),
    ],
)
def test_bad_golden_files_name_the_file_and_the_key(task, file, old, new, message):
    path = task / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(GoldenError) as err:
        load_task(task)
    assert str(err.value).startswith(str(task / file).rsplit("/", 1)[0]) and message in str(err.value)


def test_a_task_needs_its_files(task, tmp_path):
    (task / "workflow.json").unlink()
    with pytest.raises(GoldenError, match=r"workflow\.json: no such file \(task 'meeting-times' lists the ir approach\)"):
        load_task(task)
    with pytest.raises(GoldenError, match=r"task\.yaml: no such file"):
        load_task(tmp_path)
    with pytest.raises(GoldenError, match="no such suite folder"):
        load_suite(tmp_path / "nowhere")


def test_custom_evaluators_by_import_path_are_checked(task):
    path = task / "task.yaml"
    path.write_text(path.read_text() + "evaluators: ['no.such.module:Thing']\n")
    with pytest.raises(GoldenError, match=r"task\.yaml: evaluators: .*no\.such\.module"):
        load_task(task)


def test_the_code_approach_needs_a_baseline(task):
    (task / "baseline.py").unlink()
    with pytest.raises(GoldenError, match=r"baseline\.py: no such file \(task 'meeting-times' lists the code approach\)"):
        load_task(task)
