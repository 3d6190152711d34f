"""A JSON schema of one evaluator entry, derived from the evaluators' dataclass fields, for the
golden case schema editors use (`items` of each step's and output's list)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from collections.abc import Mapping
from typing import Any

from harness.evaluators._base import Evaluator
from harness.evaluators._common import is_required


def schema_entries(registry: Mapping[str, type[Evaluator]] | None = None) -> dict[str, Any]:
    """The schema of one entry of an evaluator list: `Name`, `{Name: argument}` or
    `{Name: {keyword: argument}}`, for every evaluator of `registry` (default: the built-ins).

        {"type": "array", "items": schema_entries()}
    """
    if registry is None:
        from harness.evaluators._registry import registry as default_registry

        registry = default_registry()
    forms: list[dict[str, Any]] = []
    for name, cls in registry.items():
        fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
        required = [f.name for f in fields if is_required(f)]
        doc = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")
        if not required:
            forms.append({"const": name, "description": doc})
        properties = _properties(cls, fields)
        keywords = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            keywords["required"] = required
        argument: list[dict[str, Any]] = [keywords]
        if fields:
            argument.append(properties[fields[0].name])
        else:
            argument.append({"type": "null"})
        forms.append({
            "type": "object",
            "description": doc,
            "properties": {name: {"anyOf": argument}},
            "required": [name],
            "additionalProperties": False,
        })
    return {"anyOf": forms}


def _properties(cls: type, fields: list[dataclasses.Field[Any]]) -> dict[str, Any]:
    from pydantic import TypeAdapter

    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable annotations on a custom evaluator: any value
        hints = {}
    out: dict[str, Any] = {}
    for f in fields:
        try:
            schema = TypeAdapter(hints.get(f.name, Any)).json_schema()
        except Exception:  # a type pydantic has no schema for
            schema = {}
        if "$defs" in schema:  # references would dangle once embedded
            schema = {}
        schema.pop("title", None)
        if f.default is not dataclasses.MISSING and _is_json(f.default):
            schema["default"] = f.default
        out[f.name] = schema
    return out


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
