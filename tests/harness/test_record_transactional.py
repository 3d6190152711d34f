"""`flowtape record` is transactional: a run that did not complete leaves the cassette on disk byte
for byte as it was (a model-name typo, a server that does not start, a SIGKILL at any point);
re-recording an existing cassette needs --force and says what changed, step by step."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]
FLOWTAPE = Path(sys.executable).with_name("flowtape")
WORKFLOW = {"ir_version": "0.1.0", "inputs": {"t": {"type": "string"}},
            "nodes": [{"id": "c", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "Asia/Tokyo"}}],
            "outputs": {"diff": "${c.result.time_difference}"}}


@pytest.fixture
def suite(tmp_path):
    """A one-case suite over mcp-server-time, recorded once."""
    folder = tmp_path / "suite" / "tz"
    (folder / "cases").mkdir(parents=True)
    (folder / "task.yaml").write_text("version: 1\ndescription: time\nservers:\n  time: {command: '${BIN}/mcp-server-time', args: [--local-timezone, UTC]}\n")
    (folder / "workflow.json").write_text(json.dumps(WORKFLOW))
    (folder / "cases" / "ten.yaml").write_text("version: 1\ninputs: {t: '10:00'}\n")
    return folder.parent, tmp_path / "cassettes", tmp_path / "cassettes" / "tz" / "ten.ir.yaml"


def test_an_existing_cassette_is_re_recorded_only_with_force_and_the_change_is_said(cli, suite):
    folder, out, tape = suite
    assert cli("record", folder, "--cassettes", out).exit_code == 0
    before = tape.read_bytes()
    refused = cli("record", folder, "--cassettes", out)
    assert refused.exit_code == 2 and tape.read_bytes() == before
    assert refused.stderr.splitlines() == [
        "flowtape: record mode 'all' would re-record 1 existing cassette(s):",
        f"flowtape:   {tape} (3 interactions)",
        "flowtape: pass --force to re-record them (each is replaced only when its new run completes), "
        "or --record-mode new_episodes to record only what is missing"]
    same = cli("record", folder, "--cassettes", out, "--force")
    assert same.exit_code == 0 and same.stdout.endswith(f"recorded 3 interactions -> {tape} (unchanged)\n")
    (folder / "tz" / "cases" / "ten.yaml").write_text("version: 1\ninputs: {t: '11:00'}\n")
    moved = cli("record", folder, "--cassettes", out, "--force")
    assert moved.exit_code == 0 and moved.stdout.endswith(f"recorded 3 interactions -> {tape} (c: 1 added, 1 removed)\n")


def test_a_server_that_does_not_start_leaves_the_cassette_byte_for_byte(cli, suite):
    folder, out, tape = suite
    cli("record", folder, "--cassettes", out)
    before = tape.read_bytes()
    task = folder / "tz" / "task.yaml"
    task.write_text(task.read_text().replace("mcp-server-time", "mcp-server-tyme"))
    result = cli("record", folder, "--cassettes", out, "--force")
    assert result.exit_code == 1
    assert "[1/1] tz/ten [ir]: did not complete (" in result.stdout
    assert f"{tape} left as it was: a run that did not complete is never recorded" in result.stdout
    assert tape.read_bytes() == before


def test_a_model_server_that_fails_leaves_a_shipped_cassette_byte_for_byte(cli, tmp_path):
    shutil.copytree(ROOT / "goldens/review-triage", tmp_path / "goldens/review-triage")
    shutil.copytree(ROOT / "cassettes/review-triage", tmp_path / "cassettes/review-triage")
    tapes = sorted((tmp_path / "cassettes/review-triage").glob("*.yaml"))
    before = {p: p.read_bytes() for p in tapes}
    # the task's own model (so its shipped cassettes are the ones re-recorded), at a port nothing listens on
    result = cli("record", tmp_path / "goldens", "--cassettes", tmp_path / "cassettes", "--model", "openai/smollm2",
                 "--llm-api-base", "http://127.0.0.1:9/v1", "--force", "--case", "two-reviews")
    assert result.exit_code == 1, result.output
    assert result.stdout.count("]: did not complete (") == 3 and result.stdout.count("left as it was") == 3  # ir, code, direct
    assert {p: p.read_bytes() for p in tapes} == before
    assert sorted(p.name for p in (tmp_path / "cassettes/review-triage").iterdir() if p.is_file()) == [p.name for p in tapes]

    # a typo in the model's name is another model: its recordings would go to a folder of their own
    result = cli("record", tmp_path / "goldens", "--cassettes", tmp_path / "cassettes", "--model", "openai/smollm-typo",
                 "--llm-api-base", "http://127.0.0.1:9/v1", "--case", "two-reviews", "--approach", "ir")
    assert result.exit_code == 1, result.output
    assert "models/smollm-typo/two-reviews.ir.yaml not saved: a run that did not complete is never recorded" in result.stdout
    assert {p: p.read_bytes() for p in tapes} == before and not (tmp_path / "cassettes/review-triage/models").exists()


def test_a_record_killed_at_any_point_leaves_the_old_cassette_or_the_whole_new_one(suite):
    folder, out, tape = suite
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    subprocess.run([FLOWTAPE, "record", folder, "--cassettes", out], env=env, check=True, capture_output=True, timeout=120)
    before = tape.read_bytes()
    (folder / "tz" / "cases" / "ten.yaml").write_text("version: 1\ninputs: {t: '11:00'}\n")  # a completed save would differ
    outcomes = set()
    for delay in (0.2, 0.6, 1.0, 1.5, 2.5):
        proc = subprocess.Popen([FLOWTAPE, "record", folder, "--cassettes", out, "--force"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        now = tape.read_bytes()
        if now != before:  # the save finished before the kill: the whole new recording, never a part
            assert b"11:00" in now and b"10:00" not in now
            outcomes.add("new")
            tape.write_bytes(before)
        else:
            outcomes.add("old")
        assert sorted(p.name for p in tape.parent.iterdir()) == ["ten.ir.yaml"]  # no temp file left beside it
    assert "old" in outcomes  # at least one kill landed mid-run


def test_a_fixture_the_task_names_must_exist(cli, suite, tmp_path):
    folder, out, tape = suite
    task = folder / "tz" / "task.yaml"
    task.write_text(task.read_text() + "fixtures: [does-not-exist]\n")
    (tmp_path / "fx" / "repo").mkdir(parents=True)
    result = cli("record", folder, "--cassettes", out, "--fixtures", tmp_path / "fx")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"flowtape: {task}: fixtures: 'does-not-exist' not in {tmp_path / 'fx'} (there: repo;")
    assert not tape.exists()
