"""The project: its root folder and its settings, found from any folder inside it.

The root is the first folder, from the current one (or a task's folder) up, that holds a
`flowtape.toml` or a `pyproject.toml` with a `[tool.flowtape]` table. Settings are that table
(or flowtape.toml's top level); every path in them is relative to the root:

    [tool.flowtape]                      # flowtape.toml: the same keys at the top level
    suite = "goldens"                    # the golden suite `test`, `record`, `compare` ... read
    cassettes = "cassettes"              # the recordings
    ledger = "reports/ledger.duckdb"     # the DuckDB ledger
    reports = "reports"                  # where `flowtape report` writes HTML
    traces = "reports/traces"            # where runs' traces go
    fixtures = ".fixtures"               # ${FIXTURES} (else FLOWTAPE_FIXTURES, else flowtape's own)
    workers = 2                          # `flowtape test --workers` when not given

    [tool.flowtape.timeouts]             # seconds
    server_start = 30                    # an MCP server to start and answer `initialize`
    tool_call = 300                      # one `tools/list` or `tools/call`
    model_call = 120                     # one model call (recording)

    [tool.flowtape.places]               # your own ${NAME} places for task.yaml and cases
    DATA = "data"                        # ${DATA} is <root>/data; ${ROOT} is the root itself

    [tool.flowtape.gate]                 # the release gate's policy (harness.gate)

A path given on the command line is taken as given (relative to the current folder); a setting
fills in only what the command line leaves out. Outside any project the defaults apply,
relative to the current folder, as before settings existed.

    s = load_settings()          # from the current folder up
    s.suite, s.ledger, s.places  # absolute paths when a project was found
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness._readers import ParseError, clip, load_toml, read_text
from runner._hints import did_you_mean

__all__ = ["BUILTIN_PLACES", "Settings", "SettingsError", "Timeouts", "find_root", "load_settings"]

BUILTIN_PLACES = ("ROOT", "FIXTURES", "TOOLS", "BIN", "WORKDIR")
TABLES = ("gate", "places", "timeouts")  # sub-tables; `gate` is read by harness.gate
_PLACE_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


class SettingsError(ValueError):
    """A settings file is invalid; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Timeouts(_Strict):
    server_start: float = Field(30.0, gt=0, description="seconds an MCP server gets to start and answer `initialize`")
    tool_call: float = Field(300.0, gt=0, description="seconds one `tools/list` or `tools/call` may take")
    model_call: float = Field(120.0, gt=0, description="seconds one model call may take when recording")


class _File(_Strict):
    suite: str = "goldens"
    cassettes: str = "cassettes"
    ledger: str = "reports/ledger.duckdb"
    reports: str = "reports"
    traces: str = "reports/traces"
    fixtures: str | None = None
    workers: int = Field(1, ge=1)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    places: dict[str, str] = Field(default_factory=dict)
    gate: dict[str, Any] | None = None  # validated by harness.gate


KEYS = tuple(_File.model_fields)


@dataclass(frozen=True)
class Settings:
    """The project's settings with paths resolved against its root (`source` None: no project
    found; paths relative to the current folder, the defaults)."""

    root: Path
    source: Path | None = None
    suite: Path = Path("goldens")
    cassettes: Path = Path("cassettes")
    ledger: Path = Path("reports/ledger.duckdb")
    reports: Path = Path("reports")
    traces: Path = Path("reports/traces")
    fixtures: Path | None = None
    workers: int = 1
    timeouts: Timeouts = field(default_factory=Timeouts)
    places: dict[str, Path] = field(default_factory=dict)  # ROOT and the user's places

    def describe(self) -> str:
        return f"{self.source}" if self.source else "no flowtape.toml or [tool.flowtape] found: defaults"


def _document(path: Path) -> dict[str, Any]:
    """`path` parsed, once per process and file version: every case of a suite looks for its
    project (and reads its settings) again, and parsing a pyproject.toml each time would put
    TOML parsing on that hot path."""
    try:
        stat = path.stat()
        return _parsed(path, (stat.st_mtime_ns, stat.st_size))
    except OSError as err:
        raise SettingsError(f"{path}: cannot read: {err.strerror or err}") from None
    except ParseError as err:
        raise SettingsError(f"{path}{err.where()}: {err}") from None


@lru_cache(maxsize=64)
def _parsed(path: Path, stamp: tuple[int, int]) -> dict[str, Any]:
    return load_toml(read_text(path))


def _table(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The settings table of `path` (None when it has none) and its name for messages."""
    document = _document(path)
    if path.name == "pyproject.toml":
        tool = document.get("tool")
        table = tool.get("flowtape") if isinstance(tool, dict) else None
        if table is not None and not isinstance(table, dict):
            raise SettingsError(f"{path}: tool.flowtape: expected a table")
        if table is None and isinstance(tool, dict):
            for name in tool:  # read as "no settings", a typo would silently drop them
                if did_you_mean(name.lower(), ["flowtape"]) or name.lower() == "flowtape":
                    raise SettingsError(f"{path}: unknown table [tool.{clip(name, 80)}]; did you mean [tool.flowtape]?")
        return table, "tool.flowtape."
    return document, ""


def _gate_like(pyproject: Path) -> bool:
    """Whether a pyproject.toml without [tool.flowtape] has a top-level table meant for flowtape
    (`[gate]`, `[gates]`, `[flowtape]`): its folder is then the project, so the gate reports the
    misplaced table instead of finding no policy at all."""
    return any(isinstance(name, str) and (name.lower() in ("gate", "flowtape") or did_you_mean(name.lower(), ["gate", "flowtape"]))
               for name in _document(pyproject))


def find_root(start: Path | str | None = None) -> Path | None:
    """The project root: the first folder from `start` (default: the current folder) up with a
    flowtape.toml, or a pyproject.toml holding `[tool.flowtape]`; None outside any project."""
    folder = Path(start or Path.cwd()).resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "flowtape.toml").is_file():
            return candidate
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                if _table(pyproject)[0] is not None or _gate_like(pyproject):
                    return candidate
            except SettingsError:
                return candidate  # broken, or a misspelt [tool.flowtape]: reported when its settings are read
    return None


def load_settings(start: Path | str | None = None) -> Settings:
    """The settings of the project `start` is in (see the module docstring).

    Raises:
        SettingsError: unreadable or invalid TOML, an unknown key (with a did-you-mean), a
            value of the wrong type, a place name that is not UPPER_CASE or shadows a built-in.
    """
    root = find_root(start)
    if root is None:
        cwd = Path.cwd().resolve()
        return Settings(root=cwd, places={"ROOT": cwd})
    source = root / "flowtape.toml"
    if not source.is_file():
        source = root / "pyproject.toml"
    stat = source.stat()
    return _load(source, (stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=32)
def _load(source: Path, stamp: tuple[int, int]) -> Settings:
    """Read once per process and file version (each case of a suite asks again)."""
    root = source.parent
    table, prefix = _table(source)
    try:
        data = _File.model_validate(table or {})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(clip(str(p), 80) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            name = str(first["loc"][-1])
            known = KEYS if len(first["loc"]) == 1 else tuple(Timeouts.model_fields)
            message = f"unknown key{did_you_mean(name, list(known))}"
        else:
            message = clip(first["msg"])
        raise SettingsError(f"{source}: {prefix}{key}: {message}") from None
    places: dict[str, Path] = {"ROOT": root}
    for name, value in data.places.items():
        if not _PLACE_NAME.fullmatch(name):
            raise SettingsError(f"{source}: {prefix}places.{clip(name, 80)}: a place is named in UPPER_CASE (letters, digits, _), e.g. DATA")
        if name in BUILTIN_PLACES:
            raise SettingsError(f"{source}: {prefix}places.{name}: ${{{name}}} is flowtape's own place; choose another name")
        places[name] = (root / value).resolve()
    return Settings(
        root=root, source=source, suite=root / data.suite, cassettes=root / data.cassettes, ledger=root / data.ledger,
        reports=root / data.reports, traces=root / data.traces, fixtures=(root / data.fixtures) if data.fixtures else None,
        workers=data.workers, timeouts=data.timeouts, places=places,
    )
