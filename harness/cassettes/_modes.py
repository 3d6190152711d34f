"""Record modes, as vcrpy and pytest-recording name them, decided in one place."""

from __future__ import annotations

import os
from enum import Enum

_FALSE = frozenset({"", "0", "false", "no", "off"})


class RecordMode(str, Enum):
    """How a cassette treats calls.

    - `none`: replay only; a call with no recording is an error (the default when the cassette
      exists, and the only mode in CI).
    - `once`: record everything if the cassette does not exist yet, else behave as `none`.
    - `new_episodes`: replay what is recorded, record what is not.
    - `all`: call everything live and record it afresh, dropping the old recordings.
    """

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"


class RecordModeError(ValueError):
    """A record mode that cannot be used here (e.g. recording in CI)."""


def decide_mode(requested: RecordMode | str | None, *, exists: bool, ci: bool) -> RecordMode:
    """The mode a run uses. In CI (`CI` set) only `none` is allowed: CI never calls out."""
    if requested is not None and not isinstance(requested, RecordMode):
        try:
            requested = RecordMode(requested)
        except ValueError:
            choices = ", ".join(m.value for m in RecordMode)
            raise RecordModeError(f"unknown record mode {requested!r} (choose from {choices})") from None
    if ci:
        if requested not in (None, RecordMode.NONE):
            raise RecordModeError(f"record mode '{requested.value}' is not allowed in CI: CI replays only (mode none)")
        return RecordMode.NONE
    if requested is None:
        return RecordMode.NONE if exists else RecordMode.ONCE
    return requested


def in_ci(environ: dict[str, str] | None = None) -> bool:
    """Whether `CI` says this is a CI run, read as a boolean: unset, empty, `0`, `false`, `no`
    and `off` (any case) are not CI; anything else (`true`, `1`, `woodpecker`) is."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() not in _FALSE
