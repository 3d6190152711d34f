"""Outputs as a command line prints them for machines (`flowtape run --format json`), as pflow's
CLI does: a string that holds JSON text -- a number, `true`/`false`/`null`, an object, an array --
is printed as that value (`"24"` as 24, `"{\"k\": 1}"` as the object), unless the output declares
`type: string`. The trace keeps the values as the run produced them.

    printed({"n": "24", "s": "7"}, {"s": OutputSpec(source="${x}", type="string")})  # {"n": 24, "s": "7"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runner.ir import OutputSpec

__all__ = ["printed"]

_JSON_START = tuple('{["-0123456789') + ("true", "false", "null")


def printed(outputs: Mapping[str, Any], specs: Mapping[str, OutputSpec] | None = None) -> dict[str, Any]:
    out = {}
    for name, value in outputs.items():
        spec = (specs or {}).get(name)
        out[name] = value if spec is not None and spec.type == "string" else _parsed(value)
    return out


def _parsed(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.startswith(_JSON_START):
        return value
    try:
        return json.loads(text)
    except ValueError:
        return value
