"""The gate policy: thresholds read strictly from `pyproject.toml`, `flowtape.toml` or a file.

    [tool.flowtape.gate]                      # or [gate] in flowtape.toml
    min_pass_rate = {ir = 1.0, code = 0.9}
    max_tokens_per_case = {"*" = 60000}
    max_tokens_per_step = {"*" = 45000, headline = 300}
    max_schema_tokens = {git = 1200}
    required_savings = [{approach = "ir", over = "direct", at_least = 0.5}]
    max_regression = {tokens = {relative = 0.10}, pass_rate = {absolute = 0.0}}

Every rule is optional. A per-approach or per-server rule takes a number (every one) or a table
whose `"*"` entry is the default; a per-step rule takes a number or a table of step id patterns
(fnmatch), the most specific matching pattern applying. Unknown keys, wrong types and
out-of-range values are errors naming the file and the key; so is a table that looks meant
for the gate but is not where it is read (`[gates]`, `[tool.flowtape.gates]`, `[gate]` in
pyproject.toml), which would otherwise switch the gate off without a word.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness._readers import ParseError, clip, load_toml, read_text
from harness.settings import KEYS as SETTINGS_KEYS
from runner._hints import did_you_mean

__all__ = ["APPROACHES", "GateError", "Limit", "LoadedPolicy", "MaxRegression", "Policy", "PolicyError", "Savings",
           "find_policy", "load_policy", "lookup", "lookup_pattern"]

APPROACHES = ("ir", "code", "direct")
ANY = "*"
T = TypeVar("T")


class GateError(ValueError):
    """Bad input to the gate (no ledger, no such run or baseline, unreadable cassettes): exit 2."""


class PolicyError(GateError):
    """The policy file is malformed; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Rate = Annotated[float, Field(ge=0, le=1)]
Tokens = Annotated[int, Field(ge=0)]
Usd = Annotated[float, Field(ge=0)]


def _table(value: Any, what: str) -> Any:
    """A bare number stands for `{"*" = number}`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {ANY: value}
    if isinstance(value, dict):
        return value
    raise ValueError(f"expected a number or a table of {what} = number")


def _approach_keys(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        base, at, model = key.partition("@")
        if at and base in ("ir", "code") and model:
            continue  # an authored variant, `ir@<model>`: its own entry (else its base approach's applies)
        if key != ANY and key not in APPROACHES:
            close = difflib.get_close_matches(key, APPROACHES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (approaches: {', '.join(APPROACHES)}, or \"*\" for any)"
            raise ValueError(f"unknown approach '{key}'{hint}")
    return value


class Limit(_Strict):
    """How far a figure may grow over its baseline: `absolute` (tokens, USD, milliseconds, or a
    pass-rate fraction) and/or `relative` (a fraction of the baseline). With both, the larger
    allowance applies: allowed = max(absolute, relative x baseline)."""

    absolute: float | None = Field(default=None, ge=0)
    relative: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_given(self) -> Limit:
        if self.absolute is None and self.relative is None:
            raise ValueError("give absolute and/or relative")
        return self

    def allowed(self, baseline: float) -> float:
        return max(self.absolute or 0.0, (self.relative or 0.0) * abs(baseline))

    def describe(self) -> str:
        parts = [f"{name} {value:g}" for name, value in (("absolute", self.absolute), ("relative", self.relative)) if value is not None]
        return ", ".join(parts)


class MaxRegression(_Strict):
    """Against the baseline, per (task, case, approach) and per step for tokens, cost and
    duration (milliseconds); per approach for pass_rate (a drop, over the cases both runs have)."""

    tokens: Limit | None = None
    cost: Limit | None = None
    duration: Limit | None = None
    pass_rate: Limit | None = None


class Savings(_Strict):
    """`approach` must use at least `at_least` (a fraction) fewer orchestrator context tokens
    per run than `over`, in every case both have figures for, of the tasks `tasks` names (fnmatch
    patterns; one starting with `!` leaves the tasks it matches out; default every task). A task
    whose workflow calls no tool has nothing to save: leave it out (`tasks = ["*", "!doc-intake"]`)."""

    approach: str
    over: str
    at_least: float = Field(le=1)
    tasks: list[str] = Field(default_factory=lambda: ["*"])

    def covers(self, task: str) -> bool:
        """Whether the rule judges `task`: a pattern matches it and no `!` pattern does."""
        keep = [p for p in self.tasks if not p.startswith("!")]
        drop = [p[1:] for p in self.tasks if p.startswith("!")]
        return any(fnmatchcase(task, p) for p in keep) and not any(fnmatchcase(task, p) for p in drop)

    @field_validator("approach", "over")
    @classmethod
    def _known(cls, value: str) -> str:
        _approach_keys({value: None})
        return value

    @model_validator(mode="after")
    def _different(self) -> Savings:
        if self.approach == self.over:
            raise ValueError(f"approach and over are both '{self.approach}'")
        return self


class Policy(_Strict):
    """The gate's thresholds; every one optional. See the module docstring for the format."""

    min_pass_rate: dict[str, Rate] = Field(default_factory=dict)
    max_tokens_per_case: dict[str, Tokens] = Field(default_factory=dict)
    max_cost_per_case: dict[str, Usd] = Field(default_factory=dict)
    max_tokens_per_step: dict[str, Tokens] = Field(default_factory=dict)
    max_cost_per_step: dict[str, Usd] = Field(default_factory=dict)
    max_regression: MaxRegression | None = None
    required_savings: list[Savings] = Field(default_factory=list)
    max_schema_tokens: dict[str, Tokens] = Field(default_factory=dict)

    @field_validator("min_pass_rate", "max_tokens_per_case", "max_cost_per_case", mode="before")
    @classmethod
    def _per_approach(cls, value: Any) -> Any:
        return _approach_keys(_table(value, "approach"))

    @field_validator("max_tokens_per_step", "max_cost_per_step", mode="before")
    @classmethod
    def _per_step(cls, value: Any) -> Any:
        return _table(value, "step id pattern")

    @field_validator("max_schema_tokens", mode="before")
    @classmethod
    def _per_server(cls, value: Any) -> Any:
        return _table(value, "server")


def lookup(table: dict[str, T], key: str) -> tuple[str, T] | None:
    """(the entry's key, its value) for `key`, else for an authored variant (`ir@<model>`) its
    approach's entry, else the `"*"` entry, else None."""
    if key in table:
        return key, table[key]
    base = key.partition("@")[0]
    if base != key and base in ("ir", "code") and base in table:
        return base, table[base]
    if ANY in table:
        return ANY, table[ANY]
    return None


def lookup_pattern(table: dict[str, T], step_id: str) -> tuple[str, T] | None:
    """The most specific pattern matching `step_id`: the exact id, else the matching pattern
    with the most literal (non-wildcard) characters, the earlier on a tie."""
    if step_id in table:
        return step_id, table[step_id]
    matching = [p for p in table if fnmatchcase(step_id, p)]
    if not matching:
        return None
    best = max(matching, key=lambda p: (len(p) - sum(p.count(c) for c in "*?["), -list(table).index(p)))
    return best, table[best]


# -- reading the file -------------------------------------------------------------------------

@dataclass(frozen=True)
class LoadedPolicy:
    """A policy and where it came from (`source` None: no policy found, the defaults apply)."""

    policy: Policy
    source: Path | None = None
    section: str | None = None

    def describe(self) -> str:
        return f"{self.source} [{self.section}]" if self.source else "none found (defaults: every case must pass its golden checks)"


_KNOWN_KEYS = sorted({*Policy.model_fields, *MaxRegression.model_fields, *Limit.model_fields, *Savings.model_fields})


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(error["loc"][-1]), _KNOWN_KEYS, n=1)
        return "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
    message = error["msg"]
    return message.removeprefix("Value error, ")


GATE, TOOL_GATE = "gate", "tool.flowtape.gate"


def _tables_for(path: Path) -> tuple[str, ...]:
    """Where a file may hold the policy: pyproject.toml its tool table, flowtape.toml its own
    [gate]; a file given with --policy either."""
    return {"pyproject.toml": (TOOL_GATE,), "flowtape.toml": (GATE,)}.get(path.name, (GATE, TOOL_GATE))


def _like(name: str, word: str) -> bool:
    return bool(did_you_mean(name.lower(), [word])) or name.lower() == word


def _settings_hint(name: str, where: str) -> str:
    close = did_you_mean(name, [k for k in SETTINGS_KEYS if k != "gate"])
    return close or f" ({where} holds [gate] and the settings {', '.join(k for k in SETTINGS_KEYS if k != 'gate')})"


def _check_tables(path: Path, document: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """A table that looks meant for the gate but is not where flowtape reads it (`[gates]`,
    `[GATE]`, `[tool.flowtape.gates]`, `[gate]` in pyproject.toml) is an error with a
    did-you-mean: read as "no policy", a typo would silently switch the gate off."""
    target = GATE if GATE in allowed else TOOL_GATE

    def unknown(name: str, value: Any, hint: str) -> PolicyError:
        what = f"table [{clip(name, 80)}]" if isinstance(value, dict) else f"key '{clip(name, 80)}'"
        return PolicyError(f"{path}: unknown {what}{hint}")

    tool = document.get("tool")
    if isinstance(tool, dict):
        for name, value in tool.items():
            if name != "flowtape" and _like(name, "flowtape"):
                raise unknown(f"tool.{name}", value, "; did you mean [tool.flowtape]?")
        flowtape = tool.get("flowtape")
        if isinstance(flowtape, dict) and TOOL_GATE in allowed:
            for name, value in flowtape.items():
                if name not in SETTINGS_KEYS:
                    raise unknown(f"tool.flowtape.{name}", value, f"; did you mean [{TOOL_GATE}]?" if _like(name, "gate") else _settings_hint(name, "[tool.flowtape]"))
    for name, value in document.items():
        if name in allowed or (name == "tool" and TOOL_GATE in allowed):
            continue
        if path.name == "flowtape.toml":
            if name in SETTINGS_KEYS:
                continue
            close = _like(name, "gate") or (name == "tool" and isinstance(value, dict) and "flowtape" in value)
            raise unknown(name, value, f"; did you mean [{GATE}]?" if close else _settings_hint(name, "flowtape.toml"))
        if _like(name, "gate") or _like(name, "flowtape"):
            raise unknown(name, value, f"; did you mean [{target}]?")


def _sections(document: dict[str, Any], allowed: tuple[str, ...] = (GATE, TOOL_GATE)) -> list[tuple[str, Any]]:
    found = []
    tool = document.get("tool")
    if TOOL_GATE in allowed and isinstance(tool, dict) and isinstance(tool.get("flowtape"), dict) and "gate" in tool["flowtape"]:
        found.append((TOOL_GATE, tool["flowtape"]["gate"]))
    if GATE in allowed and GATE in document:
        found.append((GATE, document[GATE]))
    return found


def _read_toml(path: Path) -> dict[str, Any]:
    """The document, read strictly (harness._readers: UTF-8, nesting depth), its tables checked."""
    try:
        document = load_toml(read_text(path))
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such policy file") from None
    except IsADirectoryError:
        raise PolicyError(f"{path}: is a directory, expected a TOML policy file") from None
    except OSError as err:
        raise PolicyError(f"{path}: cannot read: {err.strerror or err}") from None
    except ParseError as err:
        raise PolicyError(f"{path}{err.where()}: {err}") from None
    _check_tables(path, document, _tables_for(path))
    return document


def _validate(path: Path, section: str, data: Any) -> LoadedPolicy:
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: {section}: expected a table")
    try:
        return LoadedPolicy(Policy.model_validate(data), path, section)
    except ValidationError as err:
        errors = err.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PolicyError(f"{path}: {section}.{clip(_where(first['loc']), 200)}: {clip(_message(first))}{more}") from None


def load_policy(path: Path | str) -> LoadedPolicy:
    """Read the policy in `path`: a pyproject.toml's `[tool.flowtape.gate]` table, a
    flowtape.toml's `[gate]` table, either in a file of another name.

    Raises:
        PolicyError: no such file, invalid TOML, nesting deeper than harness._readers.MAX_DEPTH,
            no gate table, a gate-like table elsewhere (`[gates]`), or an invalid rule (the
            message names the file and the key, with a did-you-mean for a misspelt one).
    """
    path = Path(path)
    allowed = _tables_for(path)
    sections = _sections(_read_toml(path), allowed)
    if not sections:
        raise PolicyError(f"{path}: no {' or '.join(f'[{t}]' for t in allowed)} table")
    if len(sections) > 1:
        raise PolicyError(f"{path}: both [gate] and [tool.flowtape.gate] are given; keep one")
    return _validate(path, *sections[0])


def find_policy(start: Path | str | None = None) -> LoadedPolicy:
    """The project's policy: the project root is found from `start` (default: the current
    directory) up, as `harness.settings.find_root` finds it (a `flowtape.toml`, or a
    `pyproject.toml` with `[tool.flowtape]`); its `flowtape.toml [gate]` or `pyproject.toml
    [tool.flowtape.gate]` is the policy (both: an error; a misspelt table: an error). None
    there: `LoadedPolicy(Policy())` with no source, the defaults, which `flowtape gate` uses only
    with --allow-no-policy."""
    from harness.settings import find_root

    root = find_root(start)
    if root is None:
        return LoadedPolicy(Policy())
    files = [root / name for name in ("flowtape.toml", "pyproject.toml") if (root / name).is_file()]
    found = [(file, section, data) for file in files for section, data in _sections(_read_toml(file), _tables_for(file))]
    if len(found) > 1:
        raise PolicyError(f"{found[0][0]} [{found[0][1]}] and {found[1][0]} [{found[1][1]}] both define a gate policy; keep one, or pass --policy")
    return _validate(*found[0]) if found else LoadedPolicy(Policy())
