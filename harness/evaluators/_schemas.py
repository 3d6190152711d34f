"""Contracts on a value: a JSON schema (`JsonSchema`) or a pydantic model (`PydanticModel`).

    steps:
      summarize: [{JsonSchema: {$ref: schemas/changelog.json}}]
      convert:   [{JsonSchema: {type: object, required: [source, target]}}]
    outputs:
      changelog: [{PydanticModel: "mypkg.models:Changelog"}]

A string value that holds JSON (bare or in one ```json fence) is parsed first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext
from harness.evaluators._common import as_data, import_object, load_data_file, show, verdict

MAX_ERRORS = 3


@dataclass
class JsonSchema(Evaluator):
    """The value validates against `schema` (JSON Schema, draft 2020-12 unless the schema says
    otherwise). `{"$ref": "schemas/x.json"}` alone reads the schema from a JSON or YAML file
    relative to the task folder; relative `$ref`s inside it resolve against that file."""

    schema: dict[str, Any]

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        validator = _validator(self.schema, ctx.base_dir)
        value, not_json = as_data(ctx.value)
        errors = sorted(validator.iter_errors(value), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
        if not errors:
            return verdict(ctx, self, True)
        shown = "; ".join(f"at {_where(e.absolute_path)}: {e.message}" for e in errors[:MAX_ERRORS])
        more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
        note = f" (the value is a string that is not JSON: {not_json})" if not_json else ""
        return verdict(ctx, self, False, f"{len(errors)} schema error{'s' * (len(errors) > 1)}: {shown}{more}{note}")


def _where(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _validator(schema: dict[str, Any], base_dir: Path) -> Any:
    base_uri = base_dir.resolve().as_uri() + "/"
    if set(schema) == {"$ref"} and isinstance(schema["$ref"], str) and not schema["$ref"].startswith(("#", "http:", "https:", "urn:")):
        ref = schema["$ref"]
        schema = load_data_file(base_dir, ref, "schema")
        if not isinstance(schema, dict):
            raise ValueError(f"schema '{ref}' is not a JSON object")
        base_uri = (base_dir / ref).resolve().as_uri()
    schema = {"$id": base_uri, **schema} if "$id" not in schema else schema
    key = json.dumps(schema, sort_keys=True, default=str)
    if key not in _validators:  # checking a schema against its metaschema costs ~8 ms: once per schema (and run: `_schemacheck`)
        if len(_validators) >= 256:
            _validators.pop(next(iter(_validators)))
        _validators[key] = _build(schema)
    return _validators[key]


_validators: dict[str, Any] = {}  # by the schema's JSON (its `$id` names the folder its refs resolve from)


def _build(schema: dict[str, Any]) -> Any:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT202012

    def retrieve(uri: str) -> Resource:
        if not uri.startswith("file:"):
            raise NoSuchResource(ref=uri)
        from urllib.parse import unquote, urlsplit

        path = Path(unquote(urlsplit(uri).path))
        return Resource.from_contents(load_data_file(path.parent, path.name, "schema"), default_specification=DRAFT202012)

    from harness._schemacheck import check, checked

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    if not checked(schema):  # found valid by an earlier run: the metaschema walk is not repeated
        check(schema)
    return cls(schema, registry=Registry(retrieve=retrieve), format_checker=cls.FORMAT_CHECKER)


@dataclass
class PydanticModel(Evaluator):
    """The value validates against a pydantic model (or any type pydantic validates), imported
    from `model`, written `package.module:Class`."""

    model: str

    def __post_init__(self) -> None:
        from pydantic import TypeAdapter

        target = import_object(self.model, "model")
        try:
            self._adapter = TypeAdapter(target)
        except Exception as err:  # not something pydantic can validate against
            raise ValueError(f"model {self.model!r} is not a type pydantic can validate: {err}") from None

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        from pydantic import ValidationError

        value, _ = as_data(ctx.value)
        try:
            self._adapter.validate_python(value)
        except ValidationError as err:
            problems = err.errors(include_url=False)
            shown = "; ".join(f"at {'.'.join(map(str, p['loc'])) or '(root)'}: {p['msg']}" for p in problems[:MAX_ERRORS])
            more = f" (and {len(problems) - MAX_ERRORS} more)" if len(problems) > MAX_ERRORS else ""
            name = self.model.partition(":")[2]
            return verdict(ctx, self, False, f"not a valid {name}: {shown}{more}; value {show(ctx.value, 80)}")
        return verdict(ctx, self, True)
