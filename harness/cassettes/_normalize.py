"""Normalisation of recorded requests and responses, before matching and before saving.

Machine-specific values become placeholders so a cassette recorded on one machine replays on
another: an absolute fixture path `/home/ci/.fixtures/repo` is stored as `${FIXTURES}/repo`, and
expanded back to this machine's path when the cassette is loaded. With `timestamps` on (per task:
for tools that report the current time) ISO 8601 timestamps become `<timestamp>` in what is
matched and saved, so a recording made yesterday matches today; replay then answers
`<timestamp>` where the live call gave the time.

    n = Normalizer(placeholders={"FIXTURES": "/tmp/fx"}, timestamps=True)
    n.to_stored({"path": "/tmp/fx/repo", "at": "2026-11-22T00:15:00Z"})
    # {'path': '${FIXTURES}/repo', 'at': '<timestamp>'}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?\b")


@dataclass(frozen=True)
class Rule:
    """A user rule: every match of `pattern` (a regex) is replaced by `replace`."""

    pattern: str
    replace: str


@dataclass
class Normalizer:
    """Turns live values into stored ones (`to_stored`) and back (`to_live`).

    Args:
        placeholders: NAME -> this machine's value (e.g. FIXTURES -> an absolute path); stored
            as `${NAME}`. Longer values are replaced first, so nested paths work.
        timestamps: replace ISO 8601 timestamps by `<timestamp>`.
        rules: further regex replacements, applied in order after the placeholders.
    """

    placeholders: dict[str, str] = field(default_factory=dict)
    timestamps: bool = False
    rules: list[Rule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._compiled = [(re.compile(r.pattern), r.replace) for r in self.rules]
        self._by_length = sorted(((v, f"${{{k}}}") for k, v in self.placeholders.items() if v), key=lambda p: -len(p[0]))

    def text_to_stored(self, text: str) -> str:
        for value, placeholder in self._by_length:
            text = text.replace(value, placeholder)
        for pattern, replace in self._compiled:
            text = pattern.sub(replace, text)
        if self.timestamps:
            text = _TIMESTAMP.sub("<timestamp>", text)
        return text

    def text_to_live(self, text: str) -> str:
        if "${" not in text:  # every placeholder is written `${NAME}`: nothing to expand (most strings of a replay)
            return text
        for value, placeholder in self._by_length:
            text = text.replace(placeholder, value)
        return text

    def to_stored(self, value: Any) -> Any:
        return _map_strings(value, self.text_to_stored)

    def to_live(self, value: Any) -> Any:
        return _map_strings(value, self.text_to_live)


def _map_strings(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {_map_strings(k, fn): _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value
