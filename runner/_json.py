"""Reading JSON that a person or a program handed us: strict, bounded, one clear line per problem.

Python's `json` accepts duplicate keys (the last wins, silently) and recurses once per level of
nesting, so a document nested ~1,000 deep raises `RecursionError` and one a few hundred deep
passes and breaks whatever walks it later. Workflows, `-i` values and nested workflow files are
read here instead:

    >>> loads('{"a": 1, "a": 2}', "wf.json")
    Traceback (most recent call last):
    JSONInputError: wf.json: $: duplicate key 'a'

The depth limit, `MAX_DEPTH` (100 levels of arrays and objects), is far above any real workflow
(an inline child workflow costs about four levels) and far below the interpreter's recursion
limit, so everything downstream (validation, templates, the trace) can walk a loaded value.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["JSONInputError", "JSONSyntaxError", "MAX_DEPTH", "depth_exceeds", "loads", "read", "too_deep_at"]

MAX_DEPTH = 100
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


class JSONInputError(ValueError):
    """JSON input that cannot be used; the message is one line naming the source and place."""


class JSONSyntaxError(JSONInputError):
    """The text is not JSON at all (as opposed to JSON that is too deep or repeats a key)."""


def _place(source: str, text: str, offset: int) -> str:
    """`source:line:column` of `offset` in `text` (`at line:column` when there is no source)."""
    line = text.count("\n", 0, offset) + 1
    where = f"{line}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"
    return f"{source}:{where}" if source else f"at {where}"


def too_deep_at(text: str, limit: int, tokens: re.Pattern[str] = _TOKEN) -> int | None:
    """Offset of the bracket that opens level `limit + 1`, or None. `tokens` matches the
    brackets and whatever must be skipped whole (JSON strings by default; the harness passes
    one that also skips TOML's strings and comments)."""
    depth = 0
    for m in tokens.finditer(text):
        ch = m.group()
        if ch in "[{":
            depth += 1
            if depth > limit:
                return m.start()
        elif ch in "]}":
            depth -= 1
    return None


def _duplicate(value: Any, repeated: dict[int, str]) -> tuple[str, str] | None:
    """(JSON path, key) of the first object (by `id`) in `repeated`, walking without recursion."""
    stack: list[tuple[str, Any]] = [("$", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict) and id(item) in repeated:
            return path, repeated[id(item)]
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}", v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
    return None


def loads(text: str | bytes, source: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text strictly. Raises `JSONInputError` for text that is not UTF-8, not JSON,
    nested deeper than `max_depth`, or repeats a key inside one object."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            before = text[: err.start].decode("utf-8", errors="replace")
            raise JSONInputError(f"{_place(source, before, len(before))}: not UTF-8 text (byte 0x{text[err.start]:02x})") from None
    at = too_deep_at(text, max_depth)
    if at is not None:
        raise JSONInputError(f"{_place(source, text, at)}: JSON nested deeper than {max_depth} levels")
    repeated: dict[int, str] = {}  # id of an object -> the first key its text repeats

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in items:
            if key in out and id(out) not in repeated:
                repeated[id(out)] = key
            out[key] = item
        return out

    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as err:
        raise JSONSyntaxError(f"{_place(source, text, err.pos)}: invalid JSON: {err.msg}") from None
    except RecursionError:  # not reachable after the depth check; kept so no traceback escapes
        raise JSONInputError(f"{source or 'value'}: JSON nested too deeply") from None
    duplicate = _duplicate(value, repeated) if repeated else None
    if duplicate is not None:
        raise JSONInputError(f"{source or 'value'}: {duplicate[0]}: duplicate key '{duplicate[1]}'")
    return value


def read(path: Path, what: str = "workflow") -> Any:
    """Read and parse a JSON file with `loads`; a missing or unreadable file is a
    `JSONInputError` too."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise JSONInputError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise JSONInputError(f"{path}: is a directory, expected a {what} JSON file") from None
    except OSError as err:
        raise JSONInputError(f"{path}: cannot read: {err.strerror or err}") from None
    return loads(data, str(path))


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when a parsed value nests arrays and objects deeper than `limit` (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False
