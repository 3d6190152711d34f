"""`flowtape cassettes show` lists a cassette by step; `flowtape cassettes prune` removes what a
completed replay did not use, and leaves alone a cassette whose replay did not complete."""

import copy
import shutil
from pathlib import Path

import pytest
import yaml


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    shutil.copytree(ROOT / "goldens/meeting-times", tmp_path / "goldens/meeting-times")
    shutil.copytree(ROOT / "cassettes/meeting-times", tmp_path / "cassettes/meeting-times")
    return tmp_path


def add_stale(tape: Path) -> None:
    """A recording for a step the workflow no longer has (as after renaming a node)."""
    data = yaml.safe_load(tape.read_text())
    stale = dict(copy.deepcopy(next(i for i in data["interactions"] if i["step"] == "convert")), step="retired")
    data["interactions"].append(stale)
    tape.write_text(yaml.safe_dump(data, sort_keys=True))


def test_show_lists_every_recording_by_step(cli):
    result = cli("cassettes", "show", ROOT / "cassettes/meeting-times/lisbon-tokyo.ir.yaml")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("lisbon-tokyo.ir.yaml: 4 interactions · flowtape 0.1.0 · servers: time")
    steps = [line.split()[0] for line in lines[3:]]
    assert steps == ["(set-up)", "now", "(set-up)", "convert"]
    assert "tools/call" in lines[4] and "Europe/Lisbon" in lines[4]


def test_show_names_a_bad_file(cli, tmp_path):
    assert cli("cassettes", "show", tmp_path / "nope.yaml").exit_code == 2


def test_prune_removes_what_a_completed_replay_did_not_use(cli, project):
    tape = project / "cassettes/meeting-times/lisbon-tokyo.ir.yaml"
    add_stale(tape)
    stale = tape.read_bytes()
    args = ("cassettes", "prune", project / "goldens", "--cassettes", project / "cassettes", "--case", "lisbon-tokyo")
    dry = cli(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "meeting-times/lisbon-tokyo [ir]: would remove 1 unused from" in dry.stdout and "retired (mcp time tools/call) {" in dry.stdout
    assert tape.read_bytes() == stale
    done = cli(*args)
    assert done.exit_code == 0 and "removed 1 unused" in done.stdout
    assert [i["step"] for i in yaml.safe_load(tape.read_text())["interactions"]].count("retired") == 0
    assert "0 unused recordings removed" in cli(*args).stdout
    replay = cli("test", project / "goldens", "--cassettes", project / "cassettes", "--case", "lisbon-tokyo", "--approach", "ir",
                 "--ledger", project / "ledger.duckdb", "--trace-dir", project / "traces", "--strict")
    assert replay.exit_code == 0, replay.output


def test_prune_leaves_alone_a_cassette_whose_replay_did_not_complete(cli, project):
    case = project / "goldens/meeting-times/cases/lisbon-tokyo.yaml"
    case.write_text(case.read_text().replace("time: \"09:30\"", "time: \"10:30\""))  # the recorded request no longer matches
    tape = project / "cassettes/meeting-times/lisbon-tokyo.ir.yaml"
    before = tape.read_bytes()
    result = cli("cassettes", "prune", project / "goldens", "--cassettes", project / "cassettes", "--case", "lisbon-tokyo", "--approach", "ir")
    assert result.exit_code == 1
    assert "meeting-times/lisbon-tokyo [ir]: left alone, its replay did not complete" in result.stdout
    assert tape.read_bytes() == before


def test_flowtape_test_names_each_stale_recording(cli, project):
    add_stale(project / "cassettes/meeting-times/lisbon-tokyo.ir.yaml")
    result = cli("test", project / "goldens", "--cassettes", project / "cassettes", "--case", "lisbon-tokyo", "--approach", "ir",
                 "--ledger", project / "ledger.duckdb", "--trace-dir", project / "traces")
    assert result.exit_code == 0, result.output
    assert "1 stale recording(s), not used by this run (`flowtape cassettes prune` removes them; --strict fails on them):" in result.stdout
    assert '  meeting-times/lisbon-tokyo [ir] retired (mcp time tools/call) {"arguments": {"source_timezone": "Europe/Lisbon"' in result.stdout
