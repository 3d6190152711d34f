"""`CassetteLLMClient`: LLM calls recorded and replayed at the HTTP level (vcrpy under litellm),
against the real local model (SmolLM2 on llama.cpp, see local_model.py). Replays go to a port
where nothing listens, so a replay that reached the network would fail."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
import yaml

from harness.cassettes import Cassette, CassetteLLMClient, CassetteMiss
from harness.cassettes._llm import _Persister
from runner.clients import LLMClient, LLMRequest, LLMResponse
from runner.live.llm import LiteLLMClient, LLMError

DEAD = "http://127.0.0.1:9/v1"
MODEL = "openai/smollm2"
# llama.cpp's prompt cache would make `cached_tokens` depend on call order.
EXTRA = {"cache_prompt": False}
METHOD = "POST /v1/chat/completions"


@pytest.fixture
def live(local_model) -> LiteLLMClient:
    return LiteLLMClient(api_base=local_model.api_base, api_key=local_model.api_key, timeout=60, extra=EXTRA)


@pytest.fixture
def dead() -> LiteLLMClient:
    # Another key too: request headers are not part of the match.
    return LiteLLMClient(api_base=DEAD, api_key="sk-some-other-key", timeout=5, extra=EXTRA)


def ask(step: str, content: str) -> LLMRequest:
    return LLMRequest(model=MODEL, messages=[{"role": "user", "content": content}], temperature=0, max_tokens=16, step_id=step)


def record(path: Path, client: LLMClient, *calls: tuple[str, str]) -> list[LLMResponse]:
    """Record `calls` (step, prompt) to a new cassette at `path` in mode `once`, and save it."""
    cassette = Cassette.open(path, "once")
    responses = [CassetteLLMClient(client, cassette).complete(ask(step, prompt)) for step, prompt in calls]
    assert cassette.save()
    return responses


def stored(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())["interactions"]


def doctor(path: Path, texts: list[str]) -> None:
    """Rewrite the recorded answers, so a replay is told apart from a live call."""
    data = yaml.safe_load(path.read_text())
    for item, text in zip(data["interactions"], texts, strict=True):
        item["response"]["body"]["choices"][0]["message"]["content"] = text
    path.write_text(yaml.safe_dump(data))


def test_records_then_replays_the_identical_response_with_nothing_listening(tmp_path, live, dead) -> None:
    path = tmp_path / "c.yaml"
    [recorded] = record(path, live, ("summarise", "Name a colour."))
    assert recorded.text and recorded.prompt_tokens and recorded.completion_tokens

    [item] = stored(path)
    assert (item["kind"], item["server"], item["step"], item["method"]) == ("llm", "smollm2", "summarise", METHOD)
    assert item["request"]["messages"] == [{"role": "user", "content": "Name a colour."}]
    response = item["response"]
    assert response["status"] == 200
    assert list(response["headers"]) == ["content-type"] and response["headers"]["content-type"].startswith("application/json")
    assert response["body"]["usage"]["prompt_tokens"] == recorded.prompt_tokens  # the provider's usage block, as sent
    assert response["body"]["usage"]["completion_tokens"] == recorded.completion_tokens

    with pytest.raises(LLMError, match="cannot reach"):
        dead.complete(ask("summarise", "Name a colour."))  # nothing listens there
    cassette = Cassette.open(path, "none")
    replayed = CassetteLLMClient(dead, cassette).complete(ask("summarise", "Name a colour."))
    assert replayed == recorded  # text, model, usage, cost
    assert cassette.unused() == [] and not cassette.save()


def test_a_different_prompt_is_a_miss_naming_the_step_and_the_field(tmp_path, live, dead) -> None:
    path = tmp_path / "c.yaml"
    record(path, live, ("summarise", "Name a colour."))
    client = CassetteLLMClient(dead, Cassette.open(path, "none"))

    started = time.monotonic()
    with pytest.raises(CassetteMiss) as info:
        client.complete(ask("summarise", "Name a fruit."))
    assert time.monotonic() - started < 1
    message = str(info.value)
    assert f"no recording for step 'summarise' (llm smollm2 {METHOD}) in record mode 'none'" in message
    assert 'differing at messages[0].content (from char 8: recorded "Name a colour.", now "Name a fruit.")' in message
    assert info.value.__cause__ is None and "InternalServerError" not in message

    # `once` on an existing cassette is as strict as `none`.
    with pytest.raises(CassetteMiss, match="record mode 'once'"):
        CassetteLLMClient(dead, Cassette.open(path, "once")).complete(ask("summarise", "Name a fruit."))


def test_new_episodes_replays_the_old_call_and_records_the_new_one(tmp_path, live) -> None:
    path = tmp_path / "c.yaml"
    record(path, live, ("summarise", "Name a colour."))
    doctor(path, ["REPLAYED"])

    cassette = Cassette.open(path, "new_episodes")
    client = CassetteLLMClient(live, cassette)
    assert client.complete(ask("summarise", "Name a colour.")).text == "REPLAYED"
    fresh = client.complete(ask("summarise", "Name a fruit."))
    assert fresh.text != "REPLAYED"
    assert cassette.save()

    items = stored(path)
    assert [i["request"]["messages"][0]["content"] for i in items] == ["Name a colour.", "Name a fruit."]
    assert [i["response"]["body"]["choices"][0]["message"]["content"] for i in items] == ["REPLAYED", fresh.text]


def test_all_drops_the_old_recordings_and_records_afresh(tmp_path, live) -> None:
    path = tmp_path / "c.yaml"
    record(path, live, ("summarise", "Name a colour."), ("classify", "Name a fruit."))
    doctor(path, ["REPLAYED", "REPLAYED"])

    cassette = Cassette.open(path, "all")
    live_again = CassetteLLMClient(live, cassette).complete(ask("summarise", "Name a colour."))
    assert live_again.text != "REPLAYED"
    assert cassette.save()

    [item] = stored(path)  # `classify` was not called again: dropped
    assert item["step"] == "summarise"
    assert item["response"]["body"]["choices"][0]["message"]["content"] == live_again.text


def test_the_api_key_and_authorization_never_reach_the_file(tmp_path, local_model, monkeypatch) -> None:
    monkeypatch.setenv("LOCAL_MODEL_API_KEY", local_model.api_key)  # save() also scans for known secrets
    secret = "sk-body-secret-123456"
    client = LiteLLMClient(api_base=local_model.api_base, api_key=local_model.api_key, timeout=60,
                           extra={**EXTRA, "api_token": secret})
    path = tmp_path / "c.yaml"
    record(path, client, ("summarise", "Name a colour."))

    text = path.read_text()
    for needle in (local_model.api_key, secret, "authorization", "bearer", "api-key", "cookie"):
        assert needle.lower() not in text.lower(), needle
    assert stored(path)[0]["request"]["api_token"] == "<redacted>"

    # A redacted field still matches on replay (the live value is redacted the same way).
    dead = LiteLLMClient(api_base=DEAD, api_key="sk-some-other-key", extra={**EXTRA, "api_token": secret})
    assert CassetteLLMClient(dead, Cassette.open(path, "none")).complete(ask("summarise", "Name a colour.")).text


def test_secret_query_parameters_and_headers_are_not_keyed(tmp_path) -> None:
    from vcr.request import Request

    persister = _Persister(Cassette.open(tmp_path / "c.yaml", "once"))
    request = Request("POST", "https://h.example:8443/v1/chat/completions?api-version=2&key=sk-query-secret",
                      b'{"model": "m", "api_key": "sk-body-secret"}', {"Authorization": "Bearer sk-header-secret"})
    server, method, body = persister.describe(request)
    assert server == "m" and body == {"model": "m", "api_key": "<redacted>"}
    assert method.startswith("POST /v1/chat/completions?api-version=2&key=") and "sk-query-secret" not in method


def test_a_recording_no_call_used_is_reported_unused(tmp_path, live, dead) -> None:
    path = tmp_path / "c.yaml"
    record(path, live, ("summarise", "Name a colour."), ("classify", "Name a fruit."))

    cassette = Cassette.open(path, "none")
    CassetteLLMClient(dead, cassette).complete(ask("summarise", "Name a colour."))
    assert [(i.kind, i.step) for i in cassette.unused()] == [("llm", "classify")]


def test_the_same_prompt_in_two_steps_is_two_recordings(tmp_path, live, dead) -> None:
    path = tmp_path / "c.yaml"
    record(path, live, ("first", "Name a colour."), ("second", "Name a colour."))
    assert [i["step"] for i in stored(path)] == ["first", "second"]
    doctor(path, ["FROM FIRST", "FROM SECOND"])

    client = CassetteLLMClient(dead, Cassette.open(path, "none"))
    assert client.complete(ask("second", "Name a colour.")).text == "FROM SECOND"
    assert client.complete(ask("first", "Name a colour.")).text == "FROM FIRST"
    with pytest.raises(CassetteMiss, match=r"no recording for step 'third'.*differing at step \(first vs third\)"):
        client.complete(ask("third", "Name a colour."))


def test_identical_calls_in_a_step_replay_in_recorded_order_then_the_last_repeats(tmp_path, live, dead) -> None:
    path = tmp_path / "c.yaml"
    record(path, live, ("loop", "Name a colour."), ("loop", "Name a colour."))
    assert len(stored(path)) == 1  # while recording, the repeat replays what was just recorded
    data = yaml.safe_load(path.read_text())
    data["interactions"].append(copy.deepcopy(data["interactions"][0]))  # as recorded in mode `all`
    path.write_text(yaml.safe_dump(data))
    doctor(path, ["ONE", "TWO"])

    client = CassetteLLMClient(dead, Cassette.open(path, "none"))
    assert [client.complete(ask("loop", "Name a colour.")).text for _ in range(3)] == ["ONE", "TWO", "TWO"]


def test_an_inner_client_that_retries_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="max_retries=0"):
        CassetteLLMClient(LiteLLMClient(max_retries=2), Cassette.open(tmp_path / "c.yaml", "once"))
