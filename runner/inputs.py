"""Workflow input values: parsing `NAME=VALUE` strings by declared type, checking, defaults.

    >>> parse_cli_value(InputSpec(type="array"), '[1, 2]')
    [1, 2]
    >>> parse_cli_value(InputSpec(type="boolean"), "true")
    True
"""

from __future__ import annotations

import json
from typing import Any

from runner import _json
from runner._hints import did_you_mean
from runner.ir import InputSpec

__all__ = ["apply_defaults", "check_values", "coerce", "coerce_values", "parse_cli_value", "type_error"]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def type_error(spec: InputSpec, value: Any) -> str | None:
    """Why `value` does not fit `spec.type`, or None when it does."""
    if spec.type == "any" or value is None:
        return None
    expected = _PY_TYPES[spec.type]
    if isinstance(value, bool) and bool not in expected:
        ok = False
    elif spec.type == "integer" and isinstance(value, float):
        ok = value.is_integer()
    else:
        ok = isinstance(value, expected)
    return None if ok else f"expected {spec.type}, got {type(value).__name__} {json.dumps(value, default=str)[:60]}"


def parse_cli_value(spec: InputSpec | None, raw: str) -> Any:
    """Parse a command-line value by the input's declared type. Raises ValueError."""
    kind = spec.type if spec else "any"
    if kind == "string":
        return raw
    if kind == "boolean":
        if raw.lower() not in _BOOLS:
            raise ValueError(f"expected a boolean (true/false), got {raw!r}")
        return _BOOLS[raw.lower()]
    try:
        value = _json.loads(raw, "")
    except _json.JSONSyntaxError:
        if kind == "any":
            return raw
        raise ValueError(f"expected {kind} as JSON, got {raw!r}") from None
    if kind == "any":
        return value if isinstance(value, (dict, list, int, float, bool)) or value is None else raw
    if value is None:
        raise ValueError(f"expected {kind}, got null (leave the input out to use its default)")
    problem = type_error(spec, value) if spec else None
    if problem:
        raise ValueError(problem)
    if kind == "integer":
        return int(value)
    # pflow coerces a command-line number to float ("3" -> 3.0); keep that so outputs match.
    return float(value) if kind == "number" else value


def coerce(spec: InputSpec, value: Any) -> Any:
    """A value converted to the declared type where that loses nothing, as pflow does for
    values given through its API: "42" for an integer is 42, 7 for a string is "7". Values that
    do not convert are returned unchanged (and then fail the type check)."""
    if spec.type == "string" and isinstance(value, (int, float)):  # bool is an int too: "True"
        return str(value)
    if isinstance(value, str) and spec.type not in ("string", "any"):
        try:
            return parse_cli_value(spec, value)
        except ValueError:
            return value
    return value


def coerce_values(specs: dict[str, InputSpec], values: dict[str, Any]) -> dict[str, Any]:
    return {k: coerce(specs[k], v) if k in specs else v for k, v in values.items()}


def check_values(specs: dict[str, InputSpec], values: dict[str, Any]) -> list[tuple[str, str]]:
    """(input name, message) for each missing required, unknown or mistyped input value
    (after `coerce`)."""
    problems = []
    for name, value in coerce_values(specs, values).items():
        if name not in specs:
            problems.append((name, f"unknown input '{name}'{did_you_mean(name, specs)}"))
        elif (problem := type_error(specs[name], value)) is not None:
            problems.append((name, f"input '{name}': {problem}"))
        elif value == "" and specs[name].required and specs[name].default is None:
            problems.append((name, f"required input '{name}' is empty"))
    for name, spec in specs.items():
        if spec.required and spec.default is None and name not in values:
            problems.append((name, f"missing required input '{name}'"))
    return problems


def apply_defaults(specs: dict[str, InputSpec], values: dict[str, Any]) -> dict[str, Any]:
    """The values with declared defaults filled in (optional inputs without one are None)."""
    out = dict(values)
    for name, spec in specs.items():
        if name not in out:
            out[name] = spec.default
    return out
