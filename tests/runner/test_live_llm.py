"""`LiteLLMClient` against the real local model (SmolLM2-135M on llama.cpp, see local_model.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runner.clients import LLMClient, LLMRequest
from runner.live.llm import LiteLLMClient, LLMError, _litellm

SENTIMENT = {
    "type": "object",
    "properties": {"sentiment": {"enum": ["positive", "negative"]}},
    "required": ["sentiment"],
}


@pytest.fixture
def client(local_model) -> LiteLLMClient:
    return LiteLLMClient(api_base=local_model.api_base, api_key=local_model.api_key, timeout=60)


def ask(local_model, content: str, **kw) -> LLMRequest:
    return LLMRequest(model=local_model.model, messages=[{"role": "user", "content": content}], **kw)


def test_is_an_llm_client() -> None:
    assert isinstance(LiteLLMClient(), LLMClient)


def test_plain_prompt_returns_text_and_provider_usage(client, local_model) -> None:
    r = client.complete(ask(local_model, "Name a colour.", temperature=0, max_tokens=24))
    assert r.text.strip()
    assert r.model == "smollm2"  # what the server names, not the litellm route
    assert r.usage_source == "provider"
    assert r.prompt_tokens and r.prompt_tokens > 0
    assert r.completion_tokens and 0 < r.completion_tokens <= 24
    assert r.cached_tokens is None or r.cached_tokens >= 0


def test_temperature_zero_is_deterministic(client, local_model) -> None:
    request = ask(local_model, "Write one sentence about the sea.", temperature=0, max_tokens=32)
    first, second = client.complete(request), client.complete(request)
    assert first.text == second.text
    assert first.completion_tokens == second.completion_tokens


def test_json_schema_response_format_constrains_output(client, local_model) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": SENTIMENT, "strict": True}}
    r = client.complete(ask(local_model, "Sentiment of: 'I love this film, it is wonderful.'",
                            temperature=0, max_tokens=32, response_format=response_format))
    parsed = json.loads(r.text)
    assert set(parsed) == {"sentiment"}
    assert parsed["sentiment"] in ("positive", "negative")


def test_cost_of_an_unknown_model_is_none_not_an_error(client, local_model) -> None:
    r = client.complete(ask(local_model, "Hi", temperature=0, max_tokens=4))
    assert r.cost_usd is None or isinstance(r.cost_usd, float)


def test_server_error_is_reported_with_its_message(client, local_model) -> None:
    with pytest.raises(LLMError, match=r"HTTP 400.*context size"):
        client.complete(ask(local_model, "word " * 3000, max_tokens=4))


def test_unreachable_server_says_connection_quickly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    _litellm()  # the import takes seconds; time the call, not the import
    client = LiteLLMClient(api_base=f"http://127.0.0.1:{port}/v1", api_key="x", timeout=30)
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        client.complete(LLMRequest(model="openai/smollm2", messages=[{"role": "user", "content": "hi"}]))
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert f"cannot reach http://127.0.0.1:{port}/v1" in message and "connection refused" in message
    assert "\n" not in message and "InternalServerError" not in message


@pytest.fixture
def usage_free_server() -> Iterator[str]:
    """An OpenAI-compatible stub that answers without a `usage` block."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({
                "id": "x", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "Hello there, friend."}}],
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_missing_provider_usage_is_counted_with_the_tokenizer(usage_free_server) -> None:
    client = LiteLLMClient(api_base=usage_free_server, api_key="x")
    r = client.complete(LLMRequest(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]))
    assert r.text == "Hello there, friend."
    assert r.usage_source == "tokenizer"
    assert r.prompt_tokens and r.completion_tokens and r.cached_tokens is None
    assert isinstance(r.cost_usd, float) and r.cost_usd > 0  # a model litellm knows the price of
