"""Token counts of recorded bytes, offline.

tiktoken fetches its BPE files over the network unless they are in `TIKTOKEN_CACHE_DIR`; litellm
ships cl100k_base, o200k_base and p50k_base under `litellm/litellm_core_utils/tokenizers/`, so the
cache dir is pointed there (found without importing litellm, which takes seconds) before tiktoken
loads an encoding. An explicit `TIKTOKEN_CACHE_DIR` is respected.

    count_tokens("Hello, world! flowtape counts tokens.")  # 10 with o200k_base
    tool_result_tokens({"result": {"a": 1}})               # (9, "o200k_base:json")

Recorded data is counted at its live size: a cassette stores a value that changes every run as a
placeholder (`<timestamp>`, 3 tokens), which a live run would have read as a real value
(`2026-01-01T00:00:00+00:00`, 16 tokens, as mcp-server-time writes it), so `live_size_text`
puts a stand-in of the live form back before counting. Fixture paths stay `${FIXTURES}`: the
figures must not depend on where the checkout is.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness._litellm_files import litellm_folder

__all__ = [
    "DEFAULT_ENCODING",
    "LIVE_STAND_INS",
    "bundled_tokenizers_dir",
    "count_recorded",
    "count_tokens",
    "live_size_text",
    "save_counts",
    "tool_result_text",
    "tool_result_tokens",
]

DEFAULT_ENCODING = "o200k_base"
# A placeholder a cassette stores for a value that changes every run -> a value of the live form
# (mcp-server-time's `isoformat(timespec="seconds")`), counted in its place.
LIVE_STAND_INS = {"<timestamp>": "2026-01-01T00:00:00+00:00"}


def bundled_tokenizers_dir() -> Path | None:
    """litellm's folder of tiktoken BPE files (named as tiktoken's cache names them), or None."""
    litellm = litellm_folder()
    folder = litellm / "litellm_core_utils" / "tokenizers" if litellm is not None else None
    return folder if folder is not None and folder.is_dir() else None


@lru_cache(maxsize=None)
def _encoder(encoding: str) -> Any:
    bundled = bundled_tokenizers_dir()
    if bundled is not None:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(bundled))
    import tiktoken

    return tiktoken.get_encoding(encoding)


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """How many tokens `text` is under the tiktoken `encoding`. Special-token markers in the text
    (`<|endoftext|>`) are counted as ordinary text: recorded data is never a control sequence.

    Counts are kept in the per-user cache (`harness._cache`, keyed by the encoding and the text's
    sha256), so a replay whose recorded results were counted before never loads the encoder
    (~0.6 s); `save_counts()` writes them."""
    if not text:
        return 0
    from harness._cache import digest

    key = f"{encoding}:{digest(text.encode('utf-8', 'surrogatepass'))[:40]}"
    counts = _counts()
    found = counts.get(key)
    if isinstance(found, int):
        return found
    count = len(_encoder(encoding).encode(text, disallowed_special=()))
    counts.put(key, count)
    return count


@lru_cache(maxsize=None)
def _counts() -> Any:
    import atexit

    from harness._cache import JsonCache

    cache = JsonCache("token-counts")
    atexit.register(cache.save)
    return cache


def save_counts() -> None:
    """Write the counts this process added to the cache (also done at exit; a `flowtape test`
    worker, which skips exit handlers, calls it when it stops)."""
    if _counts.cache_info().currsize:
        _counts().save()


def live_size_text(text: str) -> str:
    """`text` with each stored placeholder (`LIVE_STAND_INS`) replaced by a value of its live
    form, so it counts as many tokens as the live value did."""
    for placeholder, live in LIVE_STAND_INS.items():
        text = text.replace(placeholder, live)
    return text


def count_recorded(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Tokens of recorded data at its live size: `count_tokens(live_size_text(text))`."""
    return count_tokens(live_size_text(text), encoding)


def _block_text(block: Any) -> tuple[str, bool]:
    """(text, is_text) of one MCP content block; a non-text block counts as its JSON."""
    if isinstance(block, str):
        return block, True
    if isinstance(block, dict):
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            return block["text"], True
        resource = block.get("resource")
        if block.get("type") == "resource" and isinstance(resource, dict) and isinstance(resource.get("text"), str):
            return resource["text"], True
    return _as_json(block), False


def _as_json(value: Any) -> str:
    # The layout MCP servers use for the text copy of a structured result (the SDK writes
    # pydantic's to_json with indent=2, keys in order, non-ASCII as is).
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _blocks(blocks: list[Any]) -> tuple[str, str]:
    parts = [_block_text(b) for b in blocks]
    return "\n".join(text for text, _ in parts), "text" if all(is_text for _, is_text in parts) else "json"


def _text_and_form(output: Any) -> tuple[str, str]:
    if output is None:
        return "", "text"
    if isinstance(output, str):
        return output, "text"
    if not isinstance(output, dict) and hasattr(output, "content"):  # runner.clients.ToolCallResult
        output = {"content": output.content, "structured_content": getattr(output, "structured_content", None)}
    if isinstance(output, dict):
        content = output.get("content")
        structured = output.get("structuredContent", output.get("structured_content"))
        if isinstance(content, list) and (content or structured is None):
            return _blocks(content)  # a raw tools/call result: its text, never also the structured copy
        if structured is not None:
            return _as_json(structured), "json"
        if "result" in output:  # a step's output: the node kept the structured value or the text
            result = output["result"]
            if isinstance(result, str):
                return result, "text"
            if isinstance(result, list):
                return _blocks(result)
            return _as_json(result), "json"
        if isinstance(output.get("error"), str):
            return output["error"], "text"
    if isinstance(output, list):
        return _blocks(output)
    return _as_json(output), "json"


def tool_result_text(output: Any) -> str:
    """What is counted for one MCP tool result: the text the model would read.

    The rule: the text of the result's content blocks, once (joined by newlines; a non-text block
    as its JSON). Servers often send the same data twice, as text blocks and as structured
    content; the structured copy is never counted beside or instead of the text.

    Accepts a raw `tools/call` result (`content` blocks, `structuredContent`), a
    `ToolCallResult`, or a step's output (`{"result": ...}` or `{"error": ...}`). A step's output
    keeps only the structured value when there is one, and its text copy cannot be rebuilt from
    it (the filesystem server's text is not its structured JSON), so that fallback is counted as
    indented JSON and labelled `:json` by `tool_result_tokens`; the harness fills each step's
    `result_tokens` from the content blocks the client received, so the fallback serves traces
    written without them.
    """
    return _text_and_form(output)[0]


def tool_result_tokens(output: Any, encoding: str = DEFAULT_ENCODING) -> tuple[int, str]:
    """(tokens, tokenizer label) of `tool_result_text(output)`, at its live size
    (`count_recorded`). The label names the encoding and what was counted: `o200k_base:text`
    (the content blocks' text, the rule) or `o200k_base:json` (a structured value serialised
    here, because the content blocks were not in the record)."""
    text, form = _text_and_form(output)
    return count_recorded(text, encoding), f"{encoding}:{form}"
