"""The "did you mean" every error message about a misspelt name ends with."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`"; did you mean 'x'?"` for the closest of `choices`, or "" when none is close.

    Names read from a user's file may be anything JSON holds (`"id": 0`): only strings are
    compared, and a word that is not one has no suggestion."""
    if not isinstance(word, str):
        return ""
    names = [c for c in choices if isinstance(c, str)]
    by_case = {c.lower(): c for c in reversed(names)}  # a name that differs only in case ("IR") is the likeliest
    if word.lower() in by_case and by_case[word.lower()] != word:
        return f"; did you mean '{by_case[word.lower()]}'?"
    match = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""
