"""The cassette file: modes, keyed lookup, misses, unused recordings, normalisation, secrets,
and corrupt files."""

import json
from pathlib import Path

import pytest

from harness.cassettes import (
    Cassette, CassetteError, CassetteMiss, LeakedSecretError, Normalizer, RecordMode, RecordModeError, Rule, decide_mode,
)
from harness.cassettes._secrets import find_leaks, known_secrets, redact_fields, redact_headers, redact_url

CALL = {"name": "git_log", "arguments": {"repo_path": "/fx/repo", "max_count": 3}}
ANSWER = {"result": {"content": [{"type": "text", "text": "commit a\ncommit b"}]}}


def recorded(path: Path, **kw) -> Cassette:
    c = Cassette.open(path, "once", **kw)
    c.record("mcp", "git", "log", "tools/call", CALL, ANSWER)
    c.save()
    return c


@pytest.mark.parametrize(
    ("requested", "exists", "ci", "mode"),
    [
        (None, True, False, RecordMode.NONE),
        (None, False, False, RecordMode.ONCE),
        ("all", True, False, RecordMode.ALL),
        ("new_episodes", False, False, RecordMode.NEW_EPISODES),
        (None, True, True, RecordMode.NONE),
        ("none", False, True, RecordMode.NONE),
    ],
)
def test_mode_is_decided_in_one_place(requested, exists, ci, mode):
    assert decide_mode(requested, exists=exists, ci=ci) is mode


def test_ci_never_records_and_bad_modes_are_named():
    with pytest.raises(RecordModeError, match="record mode 'all' is not allowed in CI"):
        decide_mode("all", exists=True, ci=True)
    with pytest.raises(RecordModeError, match="unknown record mode 'sometimes'"):
        decide_mode("sometimes", exists=True, ci=False)


def test_none_needs_an_existing_cassette(tmp_path):
    with pytest.raises(CassetteError, match="no such cassette, and record mode 'none' cannot create one"):
        Cassette.open(tmp_path / "absent.yaml", "none")


def test_record_save_and_replay_in_none(tmp_path):
    path = tmp_path / "c.yaml"
    recorded(path)
    c = Cassette.open(path)
    assert c.mode is RecordMode.NONE and c.write_protected
    assert c.lookup("mcp", "git", "log", "tools/call", CALL).response == ANSWER
    assert c.unused() == []


def test_lookup_is_keyed_by_step_and_request(tmp_path):
    c = Cassette.open(recorded(tmp_path / "c.yaml").path)
    assert c.lookup("mcp", "git", "other-step", "tools/call", CALL) is None
    assert c.lookup("mcp", "git", "log", "tools/call", {**CALL, "arguments": {"max_count": 4}}) is None
    assert c.lookup("mcp", "time", "log", "tools/call", CALL) is None


def test_identical_requests_replay_in_recorded_order_then_the_last_repeats(tmp_path):
    c = Cassette.open(tmp_path / "c.yaml", "once")
    for n in (1, 2):
        c.record("mcp", "s", "poll", "tools/call", {"name": "status"}, {"result": {"n": n}})
    c.save()
    again = Cassette.open(c.path)
    answers = [again.lookup("mcp", "s", "poll", "tools/call", {"name": "status"}).response["result"]["n"] for _ in range(3)]
    assert answers == [1, 2, 2]


def test_a_miss_names_step_request_closest_recording_and_differences(tmp_path):
    c = Cassette.open(recorded(tmp_path / "c.yaml").path)
    with pytest.raises(CassetteMiss) as err:
        c.record("mcp", "git", "log", "tools/call", {**CALL, "arguments": {**CALL["arguments"], "max_count": 300}}, ANSWER)
    message = str(err.value)
    assert "no recording for step 'log' (mcp git tools/call) in record mode 'none'" in message
    assert '"max_count": 300' in message
    assert "closest recording: step 'log' (mcp git tools/call), differing at arguments.max_count (recorded 3, now 300)" in message


def test_a_miss_shows_a_change_late_in_a_long_value_where_it_is(tmp_path):
    # A prompt of 40 lines, recorded; the run now sends it with one word changed on line 34: the
    # message names the line and shows the changed stretch in both versions, not just their starts.
    prompt = "\n".join(f"Rule {i}: keep the answer short and cite the source line." for i in range(40))
    request = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
    c = Cassette.open(tmp_path / "c.yaml", "once")
    c.record("llm", "llm", "summarise", "POST /v1/chat/completions", request, {"status": 200, "body": {}})
    c.save()
    changed = prompt.replace("Rule 33: keep the answer short", "Rule 33: keep the answer long")
    again = Cassette.open(c.path)
    with pytest.raises(CassetteMiss) as err:
        again.record("llm", "llm", "summarise", "POST /v1/chat/completions", {**request, "messages": [{"role": "user", "content": changed}]}, {})
    message = str(err.value)
    assert "differing at messages[0].content (from line 34, char 26: recorded " in message
    recorded, now = message.split("char 26: recorded ")[1].split(", now ")
    assert "Rule 33: keep the answer short and cite the source line." in recorded and "long" not in recorded
    assert "Rule 33: keep the answer long and cite the source line." in now and "short" not in now
    assert "\n" not in message  # one line


def test_unused_recordings_are_reported(tmp_path):
    c = Cassette.open(tmp_path / "c.yaml", "once")
    c.record("mcp", "git", "log", "tools/call", CALL, ANSWER)
    c.record("mcp", "git", "stale", "tools/call", {"name": "git_status"}, ANSWER)
    c.save()
    again = Cassette.open(c.path)
    again.lookup("mcp", "git", "log", "tools/call", CALL)
    assert [(i.step, i.request["name"]) for i in again.unused()] == [("stale", "git_status")]


def test_new_episodes_keeps_old_and_adds_new_and_all_starts_afresh(tmp_path):
    path = recorded(tmp_path / "c.yaml").path
    c = Cassette.open(path, "new_episodes")
    assert c.lookup("mcp", "git", "log", "tools/call", CALL) is not None
    c.record("mcp", "git", "status", "tools/call", {"name": "git_status"}, ANSWER)
    c.save()
    assert [i.step for i in Cassette.open(path).interactions] == ["log", "status"]
    fresh = Cassette.open(path, "all")
    assert fresh.lookup("mcp", "git", "log", "tools/call", CALL) is None
    fresh.record("mcp", "git", "diff", "tools/call", {"name": "git_diff"}, ANSWER)
    fresh.save()
    assert [i.step for i in Cassette.open(path).interactions] == ["diff"]


def test_files_are_stable_and_diffable(tmp_path):
    a, b = recorded(tmp_path / "a.yaml"), recorded(tmp_path / "b.yaml")
    assert a.path.read_text() == b.path.read_text()
    text = a.path.read_text()
    assert text.index("interactions:") < text.index("version: 1")  # sorted keys
    assert "text: |-\n" in text  # multi-line results stay readable
    j = recorded(tmp_path / "c.json")
    assert json.loads(j.path.read_text())["interactions"][0]["response"] == ANSWER


def test_placeholders_make_a_cassette_portable(tmp_path):
    here = Normalizer(placeholders={"FIXTURES": "/home/a/.fixtures"})
    c = Cassette.open(tmp_path / "c.yaml", "once", normalizer=here)
    c.record("mcp", "git", "log", "tools/call", {"repo_path": "/home/a/.fixtures/repo"}, {"result": {"path": "/home/a/.fixtures/repo/.git"}})
    c.save()
    assert "${FIXTURES}/repo" in c.path.read_text() and "/home/a" not in c.path.read_text()
    there = Cassette.open(c.path, normalizer=Normalizer(placeholders={"FIXTURES": "/ci/fx"}))
    assert there.lookup("mcp", "git", "log", "tools/call", {"repo_path": "/ci/fx/repo"}).response == {"result": {"path": "/ci/fx/repo/.git"}}


def test_timestamps_and_rules_are_normalised_when_asked():
    n = Normalizer(timestamps=True, rules=[Rule(r"req-\d+", "req-N")])
    assert n.to_stored({"at": "now is 2026-11-22T00:15:03.120Z", "id": "req-1234"}) == {"at": "now is <timestamp>", "id": "req-N"}
    assert Normalizer().to_stored("2026-11-22T00:15:03Z") == "2026-11-22T00:15:03Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\ninteractions: [\n", r"c\.yaml:\d+:\d+: corrupt cassette \(invalid YAML"),
        ("- just\n- a list\n", r"c\.yaml: corrupt cassette: expected a mapping"),
        ("version: 7\ninteractions: []\n", r"c\.yaml: cassette version 7 is not supported"),
        ("version: 1\ninteractions:\n- kind: mcp\n  method: x\n", r"c\.yaml:3:3: corrupt cassette at \$\.interactions\[0\]\.server: Field required"),
        ("version: 1\ninteractions: []\nextra: 1\n", r"c\.yaml:3:8: corrupt cassette at \$\.extra"),
    ],
)
def test_corrupt_or_truncated_cassettes_are_one_clear_error(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(CassetteError, match=message):
        Cassette.open(path)


def test_a_truncated_recording_is_a_clear_error(tmp_path):
    path = recorded(tmp_path / "c.json").path
    path.write_text(path.read_text()[: len(path.read_text()) // 2])
    with pytest.raises(CassetteError, match=r"c\.json:\d+:\d+: corrupt cassette \(invalid JSON"):
        Cassette.open(path)


def test_redaction_of_headers_urls_and_fields():
    assert redact_headers({"Authorization": "Bearer x", "Content-Type": "json", "X-Api-Key": "k"}) == {"Authorization": "<redacted>", "Content-Type": "json", "X-Api-Key": "<redacted>"}
    assert redact_url("https://u:pw@api.x/v1?key=abc&q=1") == "https://<redacted>@api.x/v1?key=%3Credacted%3E&q=1"
    body = {"api_key": "sk-1", "messages": [{"token": "t"}], "max_tokens": 5, "usage": {"prompt_tokens": 3}}
    assert redact_fields(body) == {"api_key": "<redacted>", "messages": [{"token": "<redacted>"}], "max_tokens": 5, "usage": {"prompt_tokens": 3}}


def test_known_secrets_come_from_secret_named_variables(monkeypatch):
    monkeypatch.setenv("MY_API_KEY", "sk-live-abcdef")
    monkeypatch.setenv("HOME_DIR", "/home/someone")
    secrets = known_secrets({"GITHUB_TOKEN": "ghp_123456789", "SHORT_TOKEN": "abc"})
    assert secrets["sk-live-abcdef"] == "MY_API_KEY" and secrets["ghp_123456789"] == "GITHUB_TOKEN"
    assert "/home/someone" not in secrets and "abc" not in secrets
    assert find_leaks({"a": [{"b": "x ghp_123456789 y"}]}, secrets) == ["$.a[0].b (value of GITHUB_TOKEN)"]


def test_saving_refuses_a_leaked_secret_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVICE_PASSWORD", "hunter2-hunter2")
    c = Cassette.open(tmp_path / "c.yaml", "once")
    c.record("mcp", "env", "dump", "tools/call", {"name": "get-env"}, {"result": {"content": [{"type": "text", "text": "SERVICE_PASSWORD=hunter2-hunter2"}]}})
    with pytest.raises(LeakedSecretError, match=r"c\.yaml: refusing to save: a secret appears at \$\.interactions\[0\]\.response\.result\.content\[0\]\.text \(value of SERVICE_PASSWORD\)"):
        c.save()
    assert not c.path.exists()
