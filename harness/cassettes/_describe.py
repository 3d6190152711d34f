"""One-line descriptions of recorded values and how they changed, for cassette misses and
`flowtape diff` alike. Standard library only: the diff and the report import these without the
cassette models."""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["EXCERPT", "describe_change", "pretty_path", "short_json"]


def short_json(value: Any, limit: int = 240) -> str:
    """`value` as compact JSON, cut to `limit` characters with a `…` (anything JSON cannot say as text)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


EXCERPT = 36  # characters shown either side of where two recorded strings part ways


def describe_change(old: Any, new: Any, before: str = "recorded", after: str = "now") -> str:
    """How a value changed, one line, so that a change late in a long value is seen: two strings
    from where they first differ (line and character, and the changed stretch with some context
    either side), other values in full up to a size. `before` and `after` name the two."""
    if not (isinstance(old, str) and isinstance(new, str)):
        return f"{before} {short_json(old, 200)}, {after} {short_json(new, 200)}"
    start = len(os.path.commonprefix([old, new]))
    tail = len(os.path.commonprefix([old[start:][::-1], new[start:][::-1]]))
    line = old.count("\n", 0, start) + 1
    column = start - (old.rfind("\n", 0, start) + 1) + 1

    def cut(text: str) -> str:
        left, right = max(0, start - EXCERPT), min(len(text), len(text) - tail + EXCERPT)
        middle = text[left:right]
        if len(middle) > 2 * EXCERPT + 160:  # a long change: its start and its end
            middle = middle[: EXCERPT + 80] + "…" + middle[-(EXCERPT + 80):]
        return ("…" if left else "") + middle + ("…" if right < len(text) else "")

    where = f"line {line}, char {column}" if "\n" in old or "\n" in new else f"char {start + 1}"
    return f"from {where}: {before} {json.dumps(cut(old), ensure_ascii=False)}, {after} {json.dumps(cut(new), ensure_ascii=False)}"


def pretty_path(path: str) -> str:
    # deepdiff's "root['arguments']['max_count']" -> "arguments.max_count", "root['messages'][0]['content']" -> "messages[0].content"
    return path.replace("root", "", 1).replace("']['", ".").replace("]['", "].").replace("['", "").replace("']", "").lstrip(".") or "(whole request)"
