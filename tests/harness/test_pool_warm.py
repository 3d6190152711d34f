"""`flowtape test -w N` starts its workers before it reads the suite; whether they start a jail at
once is guessed from the suite's files (`_may_run_code`): a wrong guess only costs a jail."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.suiterun import SuiteOptions, _may_run_code

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_suite_may_run_code() -> None:
    assert _may_run_code(SuiteOptions(suite=ROOT / "goldens"))
    assert _may_run_code(SuiteOptions(suite=ROOT / "goldens" / "meeting-times"))  # one task folder


@pytest.mark.parametrize(("approach", "expected"), [("ir", False), (["ir", "direct"], False), ("code", True), (["ir", "code@smollm2"], True)])
def test_the_approaches_asked_for_decide_first(approach: str | list[str], expected: bool) -> None:
    assert _may_run_code(SuiteOptions(suite=ROOT / "goldens", approach=approach)) is expected


def test_a_suite_without_scripts_starts_no_jail_early(tmp_path: Path) -> None:
    (tmp_path / "task-a").mkdir()
    (tmp_path / "task-a" / "workflow.json").write_text("{}")
    assert not _may_run_code(SuiteOptions(suite=tmp_path))
    (tmp_path / "task-a" / "authored" / "some-model").mkdir(parents=True)
    (tmp_path / "task-a" / "authored" / "some-model" / "baseline.py").write_text("print(1)")
    assert _may_run_code(SuiteOptions(suite=tmp_path))
