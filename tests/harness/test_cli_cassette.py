"""`flowtape run --cassette` and `flowtape record` as a user meets them."""

import json
import sys
from pathlib import Path

import pytest


TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))


@pytest.fixture
def files(tmp_path):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"time": {"command": TIME_SERVER, "args": ["--local-timezone", "UTC"]}}}))
    wf = tmp_path / "tz.json"
    wf.write_text(json.dumps({"ir_version": "0.1.0", "inputs": {"t": {"type": "string"}},
                              "nodes": [{"id": "c", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "Asia/Tokyo"}}],
                              "outputs": {"diff": "${c.result.time_difference}"}}))
    return config, wf, tmp_path / "tape.yaml", tmp_path / "traces"


def test_record_then_replay_with_no_config_and_no_server(cli, files):
    config, wf, tape, traces = files
    first = cli("run", wf, "-i", "t=10:00", "--mcp-config", config, "--cassette", tape, "--trace-dir", traces)
    assert first.exit_code == 0, first.output
    assert first.stdout == "diff: +9.0h\n" and f"recorded 3 interactions in {tape}" in first.stderr
    again = cli("run", wf, "-i", "t=10:00", "--cassette", tape, "--trace-dir", traces)
    assert again.exit_code == 0 and again.stdout == first.stdout and "recorded" not in again.stderr


def test_a_miss_fails_the_run_and_unused_recordings_are_listed(cli, files):
    config, wf, tape, traces = files
    cli("run", wf, "-i", "t=10:00", "--mcp-config", config, "--cassette", tape, "--trace-dir", traces)
    miss = cli("run", wf, "-i", "t=11:00", "--cassette", tape, "--trace-dir", traces)
    assert miss.exit_code == 1
    assert "no recording for step 'c' (mcp time tools/call) in record mode 'none'" in miss.stderr
    assert 'differing at arguments.time (from char 2: recorded "10:00", now "11:00")' in miss.stderr
    assert "recording(s) in" in miss.stderr and "c (mcp time tools/call)" in miss.stderr


def test_strict_fails_a_run_that_left_recordings_unused(cli, files):
    config, wf, tape, traces = files
    two = json.loads(wf.read_text())
    two["nodes"].append({"id": "d", "type": "mcp-time-convert_time", "params": {"source_timezone": "UTC", "time": "${t}", "target_timezone": "Europe/Paris"}})
    two["edges"] = [{"from": "c", "to": "d"}]
    both = wf.with_name("both.json")
    both.write_text(json.dumps(two))
    assert cli("run", both, "-i", "t=10:00", "--mcp-config", config, "--cassette", tape, "--trace-dir", traces).exit_code == 0
    assert cli("run", wf, "-i", "t=10:00", "--cassette", tape, "--trace-dir", traces).exit_code == 0
    strict = cli("run", wf, "-i", "t=10:00", "--cassette", tape, "--strict", "--format", "json", "--trace-dir", traces)
    assert strict.exit_code == 1
    assert json.loads(strict.stdout)["error"] == f"1 recording(s) in {tape} were not used (--strict)"


def test_ci_replays_only(cli, files, monkeypatch):
    config, wf, tape, traces = files
    monkeypatch.setenv("CI", "true")
    result = cli("run", wf, "-i", "t=10:00", "--mcp-config", config, "--cassette", tape, "--trace-dir", traces)
    assert result.exit_code == 2 and result.stderr.startswith(f"flowtape: {tape}: no such cassette, and record mode 'none' cannot create one")
    result = cli("run", wf, "-i", "t=10:00", "--cassette", tape, "--record-mode", "all")
    assert result.exit_code == 2 and "record mode 'all' is not allowed in CI" in result.stderr


@pytest.mark.parametrize(("content", "message"), [
    ("version: 1\ninteractions: [\n", "corrupt cassette (invalid YAML"),
    ("version: 2\ninteractions: []\n", "cassette version 2 is not supported"),
    ("", "corrupt cassette: expected a mapping"),
])
def test_a_corrupt_or_truncated_cassette_is_exit_2_naming_the_file(cli, files, content, message):
    _, wf, tape, traces = files
    tape.write_text(content)
    result = cli("run", wf, "-i", "t=10:00", "--cassette", tape, "--trace-dir", traces)
    assert result.exit_code == 2 and result.stderr.startswith(f"flowtape: {tape}") and message in result.stderr
    assert "Traceback" not in result.output


def test_record_mode_needs_a_cassette_and_must_be_known(cli, files):
    _, wf, tape, _ = files
    assert cli("run", wf, "-i", "t=1", "--record-mode", "all").stderr == "flowtape: --record-mode and --strict need --cassette\n"
    bad = cli("run", wf, "-i", "t=1", "--cassette", tape, "--record-mode", "sometimes")
    assert bad.exit_code == 2 and "unknown record mode 'sometimes' (choose from none, once, new_episodes, all)" in bad.stderr


def test_record_command_records_a_suite_and_refuses_ci(cli, files, tmp_path, monkeypatch):
    suite = tmp_path / "suite"
    (suite / "tz" / "cases").mkdir(parents=True)
    (suite / "tz" / "task.yaml").write_text(f"version: 1\ndescription: time\nservers:\n  time: {{command: '${{BIN}}/mcp-server-time', args: [--local-timezone, UTC]}}\n")
    (suite / "tz" / "workflow.json").write_text(files[1].read_text())
    (suite / "tz" / "cases" / "ten.yaml").write_text("version: 1\ninputs: {t: '10:00'}\n")
    out = tmp_path / "cassettes"
    result = cli("record", suite, "--cassettes", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"[1/1] tz/ten [ir]: passed, recorded 3 interactions -> {out / 'tz' / 'ten.ir.yaml'}\n"
    assert cli("record", suite, "--task", "nope").stderr.startswith(f"flowtape: {suite}: no task 'nope' (tasks: tz)")
    (suite / "tz" / "cases" / "bad.yaml").write_text("version: 1\ninputz: {}\n")
    assert cli("record", suite, "--cassettes", out).stderr == f"flowtape: {suite / 'tz' / 'cases' / 'bad.yaml'}: inputz: unknown key\n"
    monkeypatch.setenv("CI", "1")
    assert cli("record", suite).exit_code == 2


@pytest.mark.parametrize("value, ci", [("true", True), ("1", True), ("woodpecker", True), ("TRUE", True),
                                       ("false", False), ("0", False), ("no", False), ("Off", False), ("", False)])
def test_ci_is_read_as_a_boolean(value, ci):
    from harness.cassettes import in_ci

    assert in_ci({"CI": value}) is ci
    assert in_ci({}) is False


def test_ci_false_records_and_ci_true_refuses(cli, files, monkeypatch):
    config, wf, tape, traces = files
    args = ("run", wf, "-i", "t=10:00", "--mcp-config", config, "--cassette", tape, "--record-mode", "all", "--trace-dir", traces)
    monkeypatch.setenv("CI", "true")
    refused = cli(*args)
    assert refused.exit_code == 2 and "not allowed in CI" in refused.stderr and not tape.exists()
    monkeypatch.setenv("CI", "false")
    recorded = cli(*args)
    assert recorded.exit_code == 0, recorded.output
    assert tape.exists()


def test_a_run_that_did_not_complete_leaves_its_cassette_as_it_was(cli, files, tmp_path):
    config, wf, tape, traces = files
    assert cli("run", wf, "-i", "t=10:00", "--mcp-config", config, "--cassette", tape, "--trace-dir", traces).exit_code == 0
    before = tape.read_bytes()
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"mcpServers": {"time": {"command": TIME_SERVER + "-typo"}}}))
    result = cli("run", wf, "-i", "t=10:00", "--mcp-config", broken, "--cassette", tape, "--record-mode", "all", "--trace-dir", traces)
    assert result.exit_code == 1
    assert f"the run did not complete; {tape} left as it was" in result.stderr
    assert tape.read_bytes() == before


def test_a_suite_cassette_replays_under_flowtape_run(cli, tmp_path):
    """A cassette `flowtape record` wrote for a task (fixture paths stored as ${FIXTURES}, a
    model named in its meta) replays with `flowtape run --cassette`, no --model, no server."""
    root = Path(__file__).resolve().parents[2]
    fixtures = root / ".fixtures"
    result = cli("run", root / "goldens/git-release-digest/workflow.json", "-i", f"repo={fixtures}/repo", "-i", "limit=400",
                 "--cassette", root / "cassettes/git-release-digest/full-history.ir.yaml", "--trace-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "headline:" in result.stdout and "not used" not in result.stderr
