"""The trace writer: whatever a node produced, writing the trace never fails."""

import json
from pathlib import Path

from runner import RunStatus, StepRecord, Trace
from runner.trace import MAX_VALUE_DEPTH, clip


def nested(depth, leaf="leaf"):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def depth_of(value):
    n = 0
    while isinstance(value, list):
        value, n = value[0], n + 1
    return n, value


def test_a_value_deeper_than_the_limit_is_stored_cut_off_with_a_marker(tmp_path):
    deep = nested(1_000)
    trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED, outputs={"o": deep},
                  steps=[StepRecord(step_id="s", kind="http", node_type="http", params={"body": deep}, output={"response": deep})])
    stored = json.loads(trace.write(tmp_path).read_text())
    for value in (stored["outputs"]["o"], stored["steps"][0]["output"]["response"], stored["steps"][0]["params"]["body"]):
        assert depth_of(value) == (MAX_VALUE_DEPTH - 1, f"<truncated: nested deeper than {MAX_VALUE_DEPTH} levels>")
    assert trace.outputs["o"] is deep  # the run's own values are untouched


def test_values_within_the_limit_are_stored_as_they_are(tmp_path):
    value = {"a": [1, {"b": nested(50)}], "n": None}
    trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED, outputs={"o": value})
    assert json.loads(trace.write(tmp_path).read_text())["outputs"]["o"] == value
    assert clip(value) == value and clip("text") == "text"


def test_written_files_get_the_users_umask_not_0600(tmp_path):
    import os
    import stat

    from runner.trace import write_atomic

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "report.html", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o666 & ~0o022  # as the process's umask at import
    (tmp_path / "report.html").chmod(0o640)
    write_atomic(tmp_path / "report.html", "y")
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o640  # a replaced file keeps its mode


def test_a_temp_file_of_a_process_that_exited_unreaped_is_stale(tmp_path):
    """A killed `flowtape test` worker whose parent died too is a zombie until init reaps it
    (up to a second here): it writes nothing more, so the next run removes its half-written trace;
    a live process's file stays."""
    import subprocess
    import time

    from runner.trace import remove_stale_temp_files

    exited = subprocess.Popen(["true"])  # not waited for: a zombie once it exits
    deadline = time.monotonic() + 10
    while Path(f"/proc/{exited.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    live = subprocess.Popen(["sleep", "30"])
    try:
        stale = tmp_path / f".t.json.flowtape-{exited.pid}.abcd1234.tmp"
        kept = tmp_path / f".u.json.flowtape-{live.pid}.abcd1234.tmp"
        stale.write_text("{")
        kept.write_text("{")
        assert remove_stale_temp_files(tmp_path) == [stale]
        assert kept.exists()
    finally:
        live.kill()
        live.wait()
        exited.wait()
