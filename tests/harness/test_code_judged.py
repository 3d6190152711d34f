"""The code approach is judged like ir: `code_steps` patterns put step checks on its calls, and
its sandbox budget (timeout, memory, calls) is set per task."""

import shutil
from pathlib import Path

import pytest
import yaml

from harness.goldens import GoldenError, load_task
from harness.suite import code_step_targets, run_case

ROOT = Path(__file__).resolve().parents[2]
CALLS = ["discover-1:list_servers", "discover-2:get_tool_schema", "call-1:time.get_current_time", "call-2:time.convert_time", "stdout"]


def test_patterns_name_calls_by_tool_by_index_or_by_glob():
    targets = code_step_targets({"time.convert_time": ["a"], "call-1": ["b"], "discover-*": ["c"], "time.nope": ["d"]}, CALLS)
    assert targets == {"call-2:time.convert_time": ["a"], "call-1:time.get_current_time": ["b"],
                       "discover-1:list_servers": ["c"], "discover-2:get_tool_schema": ["c"], "time.nope": ["d"]}


@pytest.fixture
def task(tmp_path):
    shutil.copytree(ROOT / "goldens/meeting-times", tmp_path / "goldens/meeting-times")
    shutil.copytree(ROOT / "cassettes/meeting-times", tmp_path / "cassettes/meeting-times")
    return tmp_path / "goldens/meeting-times"


def edit(path: Path, **changes):
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))


def test_code_steps_judge_the_code_approachs_calls(task, tmp_path):
    edit(task / "cases/lisbon-tokyo.yaml", code_steps={
        "time.convert_time": [{"JsonSchema": {"type": "object", "required": ["time_difference"]}}],
        "call-1": ["StepRan"],
        "time.no_such_tool": ["StepRan"],
    })
    loaded = load_task(task)
    case = next(c for c in loaded.cases if c.name == "lisbon-tokyo")
    run = run_case(loaded, case, cassettes=tmp_path / "cassettes", mode="none", ci=True, evaluate=True, approach="code")
    verdicts = {(r.target, r.evaluator): r.passed for r in run.evaluations}
    assert verdicts[("steps.call-2:time.convert_time", "JsonSchema")] is True
    assert verdicts[("steps.call-1:time.get_current_time", "StepRan")] is True
    assert verdicts[("steps.time.no_such_tool", "StepRan")] is False  # a pattern that names no call fails, never vanishes
    ir = run_case(loaded, case, cassettes=tmp_path / "cassettes", mode="none", ci=True, evaluate=True, approach="ir")
    assert not [r for r in ir.evaluations if "call-" in r.target]  # code_steps are the code approach's alone


def test_the_code_budget_is_set_per_task(task, tmp_path):
    edit(task / "task.yaml", code={"timeout": 0.001})  # less than any script takes
    loaded = load_task(task)
    run = run_case(loaded, loaded.cases[0], cassettes=tmp_path / "cassettes", mode="none", ci=True, approach="code")
    assert run.trace.status.value == "failed" and "timeout after 0.001 s" in run.trace.error
    edit(task / "task.yaml", code={"timeout": 0})
    with pytest.raises(GoldenError, match=r"task\.yaml: code\.timeout"):
        load_task(task)
