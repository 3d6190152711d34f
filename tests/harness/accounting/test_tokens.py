"""Token counts: offline, with litellm's bundled BPE files, counting one form of a tool result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.accounting import DEFAULT_ENCODING, count_tokens, tool_result_text, tool_result_tokens
from harness.accounting._tokens import bundled_tokenizers_dir
from runner.clients import ToolCallResult

ROOT = Path(__file__).resolve().parents[3]

# A tools/call result as mcp-server-time sent it (cassettes/meeting-times): the same data as a
# text block (indented JSON) and as structured content.
STRUCTURED = {"timezone": "Europe/Lisbon", "datetime": "2025-06-01T10:00:00+01:00", "day_of_week": "Sunday", "is_dst": True}
RAW_RESULT = {"content": [{"type": "text", "text": json.dumps(STRUCTURED, indent=2)}], "isError": False, "structuredContent": STRUCTURED}


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("Hello, world! flowtape counts tokens.", "o200k_base", 10),
        ("Hello, world! flowtape counts tokens.", "cl100k_base", 9),
        ("", "o200k_base", 0),
    ],
    ids=["o200k", "cl100k", "empty"],
)
def test_count_tokens_gives_fixed_counts(text: str, encoding: str, expected: int) -> None:
    assert count_tokens(text, encoding) == expected


def test_special_token_markers_in_data_are_counted_as_text() -> None:
    assert count_tokens("before <|endoftext|> after") > 3


def test_counting_never_touches_the_network(tmp_path: Path) -> None:
    # A fresh interpreter with no tiktoken cache configured, a dead proxy, and sockets that
    # refuse to connect: the count still comes out, from litellm's bundled files.
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import os\n"
        "from harness.accounting import count_tokens\n"
        "print(count_tokens('Hello, world! flowtape counts tokens.'), os.environ['TIKTOKEN_CACHE_DIR'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="", TMPDIR=str(tmp_path),
               FLOWTAPE_CACHE_DIR="")  # no cache of counts: the encoder itself is loaded
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    count, cache_dir = done.stdout.split()
    assert count == "10"
    assert Path(cache_dir) == bundled_tokenizers_dir()
    assert not list(tmp_path.iterdir()), "tiktoken wrote a cache outside the bundled folder"


def test_raw_result_counts_the_text_not_the_structured_copy() -> None:
    text = json.dumps(STRUCTURED, indent=2)
    assert tool_result_text(RAW_RESULT) == text
    assert tool_result_tokens(RAW_RESULT) == (count_tokens(text), "o200k_base:text")


def test_text_wins_even_when_it_differs_from_the_structured_copy() -> None:
    result = {"content": [{"type": "text", "text": "short"}], "structuredContent": {"rows": ["long"] * 200}}
    assert tool_result_tokens(result) == (1, "o200k_base:text")


def test_a_step_output_that_kept_the_structured_value_counts_its_indented_json() -> None:
    # The node keeps structured content as `result`; its JSON, laid out as servers send it,
    # counts the same as the text block did.
    tokens, label = tool_result_tokens({"result": STRUCTURED})
    assert label == "o200k_base:json"
    assert tokens == tool_result_tokens(RAW_RESULT)[0]


@pytest.mark.parametrize(
    ("output", "text", "form"),
    [
        ({"result": "plain text"}, "plain text", "text"),
        ({"result": ["one", "two"]}, "one\ntwo", "text"),
        ({"error": "tool failed"}, "tool failed", "text"),
        ({"content": [{"type": "resource", "resource": {"uri": "file:///a", "text": "body"}}]}, "body", "text"),
        ({"content": [{"type": "image", "data": "QUJD", "mimeType": "image/png"}]}, None, "json"),
        (None, "", "text"),
    ],
    ids=["text-result", "several-blocks", "error", "resource", "image", "nothing"],
)
def test_other_result_shapes(output: object, text: str | None, form: str) -> None:
    if text is not None:
        assert tool_result_text(output) == text
    assert tool_result_tokens(output, "cl100k_base")[1] == f"cl100k_base:{form}"


def test_a_tool_call_result_object_counts_like_its_json() -> None:
    result = ToolCallResult(content=RAW_RESULT["content"], structured_content=STRUCTURED, request_bytes=10, result_bytes=200)
    assert tool_result_tokens(result) == tool_result_tokens(RAW_RESULT)


def test_a_count_kept_in_the_cache_is_the_encoders_and_is_read_back_without_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.accounting import _tokens

    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path))
    _tokens._counts.cache_clear()
    text = "The changelog lists 42 commits since v1.2; the largest touches harness/accounting. " * 3
    try:
        counted = count_tokens(text)
        assert counted == len(_tokens._encoder(DEFAULT_ENCODING).encode(text, disallowed_special=()))
        _tokens.save_counts()
        _tokens._counts.cache_clear()  # as a new process: the cache file is read again
        monkeypatch.setattr(_tokens, "_encoder", None)  # a count from the encoder now raises
        assert count_tokens(text) == counted
    finally:
        _tokens._counts.cache_clear()
