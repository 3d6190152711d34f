"""JsonSchema and PydanticModel: contracts on a value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.evaluators import JsonSchema, PydanticModel
from tests.harness.evaluators._factories import judge, value_ctx

CONVERT = {"type": "object", "required": ["source", "target", "time_difference"]}
COUNTS = {
    "type": "object",
    "properties": {"feat": {"type": "integer", "minimum": 0}, "fix": {"type": "integer", "minimum": 0}},
    "required": ["feat", "fix"],
    "additionalProperties": False,
}

INLINE = [
    pytest.param(CONVERT, {"source": 1, "target": 2, "time_difference": "+9.0h"}, True, id="object"),
    pytest.param(COUNTS, '{"feat": 3, "fix": 0}', True, id="json-in-a-string"),
    pytest.param(COUNTS, '```json\n{"feat": 3, "fix": 0}\n```', True, id="json-in-a-fence"),
    pytest.param({"type": "string", "maxLength": 5}, "short", True, id="plain-string"),
    pytest.param(CONVERT, {"source": 1}, False, id="missing-keys"),
    pytest.param(COUNTS, {"feat": -1, "fix": "two"}, False, id="wrong-values"),
    pytest.param(COUNTS, "not json at all", False, id="text-that-is-not-json"),
]


@pytest.mark.parametrize(("schema", "value", "passed"), INLINE)
def test_inline_schema(schema: dict[str, Any], value: Any, passed: bool) -> None:
    result = judge(JsonSchema(schema), value_ctx(value))
    assert result.passed is passed, result.reason


def test_the_reason_names_each_place_that_fails() -> None:
    reason = judge(JsonSchema(COUNTS), value_ctx({"feat": -1, "fix": "two", "docs": 1})).reason
    assert reason.startswith("3 schema errors: ")
    assert "at $.feat: -1 is less than the minimum of 0" in reason
    assert "at $.fix: 'two' is not of type 'integer'" in reason
    assert "at $: Additional properties are not allowed ('docs' was unexpected)" in reason


def test_text_that_is_not_json_says_so() -> None:
    reason = judge(JsonSchema(COUNTS), value_ctx("the counts are 3 and 0")).reason
    assert "(the value is a string that is not JSON: Expecting value at char 0)" in reason


@pytest.fixture
def task(tmp_path: Path) -> Path:
    """A task folder with schemas/counts.json, which refers to a sibling file, and a YAML schema."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "count.json").write_text(json.dumps({"type": "integer", "minimum": 0}))
    counts = {**COUNTS, "properties": {"feat": {"$ref": "count.json"}, "fix": {"$ref": "count.json"}}}
    (schemas / "counts.json").write_text(json.dumps(counts))
    (schemas / "headline.yaml").write_text("type: object\nrequired: [headline]\nproperties:\n  headline: {type: string, maxLength: 80}\n")
    return tmp_path


@pytest.mark.parametrize(
    ("ref", "value", "passed"),
    [
        pytest.param("schemas/counts.json", {"feat": 3, "fix": 1}, True, id="json-file"),
        pytest.param("schemas/counts.json", {"feat": -3, "fix": 1}, False, id="json-file-with-relative-ref"),
        pytest.param("schemas/headline.yaml", '{"headline": "Release 1.2"}', True, id="yaml-file"),
        pytest.param("schemas/headline.yaml", {"headline": 12}, False, id="yaml-file-fails"),
    ],
)
def test_ref_reads_the_schema_from_the_task_folder(task: Path, ref: str, value: Any, passed: bool) -> None:
    result = judge(JsonSchema({"$ref": ref}), value_ctx(value, base_dir=task))
    assert result.passed is passed, result.reason


def test_a_ref_alongside_other_keywords_resolves_against_the_task_folder(task: Path) -> None:
    schema = {"type": "object", "properties": {"n": {"$ref": "schemas/count.json"}}}
    assert not judge(JsonSchema(schema), value_ctx({"n": -1}, base_dir=task)).passed


def test_a_missing_schema_file_is_named(task: Path) -> None:
    with pytest.raises(FileNotFoundError, match="schema 'schemas/nope.json' not found"):
        JsonSchema({"$ref": "schemas/nope.json"}).evaluate(value_ctx({}, base_dir=task))


def test_an_invalid_schema_is_an_error() -> None:
    from jsonschema.exceptions import SchemaError

    with pytest.raises(SchemaError):
        JsonSchema({"type": "objekt"}).evaluate(value_ctx({}))


MODEL = "runner.trace:LLMUsage"


@pytest.mark.parametrize(
    ("value", "passed"),
    [
        pytest.param({"model": "gpt-4o-mini", "prompt_tokens": 12}, True, id="valid-object"),
        pytest.param('{"model": "gpt-4o-mini"}', True, id="valid-json-string"),
        pytest.param({"model": "gpt-4o-mini", "prompt_tokens": "many"}, False, id="wrong-type"),
        pytest.param({"prompt_tokens": 1, "extra": True}, False, id="missing-and-extra-keys"),
    ],
)
def test_pydantic_model(value: Any, passed: bool) -> None:
    result = judge(PydanticModel(MODEL), value_ctx(value))
    assert result.passed is passed, result.reason


def test_pydantic_model_reason_lists_the_errors() -> None:
    reason = judge(PydanticModel(MODEL), value_ctx({"prompt_tokens": 1, "extra": True})).reason
    assert reason.startswith("not a valid LLMUsage: at model: Field required; at extra: Extra inputs are not permitted; value ")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("runner.trace", "must be written 'package.module:Name'", id="no-colon"),
        pytest.param("no_such_package.models:X", "cannot import model 'no_such_package.models:X': ModuleNotFoundError", id="no-module"),
        pytest.param("runner.trace:Nope", "runner.trace has no attribute 'Nope'", id="no-class"),
    ],
)
def test_pydantic_model_path_is_checked_when_built(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PydanticModel(path)
