"""A regression explains itself: a cassette miss shows where the request changed, and the checks
of the steps that never ran after it are one line under the cause, not one line each burying it.

The recording is the shipped meeting-times cassette; the case is changed (a later meeting time)
so the `convert` call no longer matches what was recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASE = """\
version: 1
inputs: {home: Asia/Dubai, away: Asia/Singapore, time: "08:30"}
steps:
  now: [StepRan]
  summary: [StepRan, {Contains: "later in Asia/Singapore"}]
outputs:
  difference: [{Equals: "+4.0h"}]
"""


def test_a_miss_and_what_it_stopped_are_told_apart(tmp_path, cli):
    task = tmp_path / "suite" / "meeting-times"
    (task / "cases").mkdir(parents=True)
    for name in ("task.yaml", "workflow.json", "baseline.py"):
        shutil.copy(ROOT / "goldens" / "meeting-times" / name, task / name)
    (task / "cases" / "dubai-singapore.yaml").write_text(CASE)
    tapes = tmp_path / "cassettes" / "meeting-times"
    tapes.mkdir(parents=True)
    shutil.copy(ROOT / "cassettes" / "meeting-times" / "dubai-singapore.ir.yaml", tapes)

    result = cli("test", tmp_path / "suite", "--approach", "ir", "--cassettes", tmp_path / "cassettes",
                 "--ledger", tmp_path / "l.duckdb", "--trace-dir", tmp_path / "traces")
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("meeting-times/dubai-singapore [ir]")]
    # the cause first, with the changed value at the character where it changed
    assert "no recording for step 'convert'" in lines[0]
    assert 'differing at arguments.time (from char 4: recorded "08:00", now "08:30")' in lines[0]
    # then the steps it stopped, once, with how many checks that failed
    assert lines[1] == "meeting-times/dubai-singapore [ir]: so 1 later step(s) did not run (summary): 2 check(s) failed for that"
    # and the checks that failed for a reason of their own, each
    assert any(line.startswith("meeting-times/dubai-singapore [ir] outputs.difference") for line in lines[2:])
    assert not any("did not run" in line for line in lines[2:])
