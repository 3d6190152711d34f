"""schema_entries: the JSON schema of one evaluator entry, for editors of golden case files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from harness.evaluators import Evaluator, registry, schema_entries

LIST = {"type": "array", "items": schema_entries()}


def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(LIST)


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("StepRan", id="bare-name"),
        pytest.param({"StepSkipped": None}, id="name-with-null"),
        pytest.param({"Contains": "feat:"}, id="positional"),
        pytest.param({"MaxResultTokens": 40000}, id="positional-integer"),
        pytest.param({"JsonSchema": {"$ref": "schemas/x.json"}}, id="positional-mapping"),
        pytest.param({"DeepEquals": {"expected_file": "e.json", "ignore_order": True, "ignore_paths": ["a.b"]}}, id="keywords"),
        pytest.param({"LLMJudge": {"rubric": "one line", "threshold": 0.8}}, id="judge-keywords"),
    ],
)
def test_valid_entries_validate(entry: Any) -> None:
    jsonschema.validate([entry], LIST)


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("Contains", id="bare-name-needing-an-argument"),
        pytest.param({"Contains": 3}, id="wrong-type"),
        pytest.param({"MaxResultTokens": "many"}, id="string-for-integer"),
        pytest.param({"Nope": 1}, id="unknown-name"),
        pytest.param({"StepRan": 3}, id="argument-to-none"),
        pytest.param({"Attempts": {"max": 2, "most": 3}}, id="unknown-keyword"),
        pytest.param({"Contains": "a", "Regex": "b"}, id="two-names"),
    ],
)
def test_invalid_entries_do_not(entry: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([entry], LIST)


def test_each_form_says_what_it_checks() -> None:
    forms = {next(iter(f["properties"])): f for f in LIST["items"]["anyOf"] if f.get("type") == "object"}
    assert forms["MaxResultTokens"]["description"].startswith("An MCP step's result is at most `tokens` long")
    keywords = forms["DeepEquals"]["properties"]["DeepEquals"]["anyOf"][0]
    assert keywords["properties"]["ignore_order"] == {"type": "boolean", "default": False}


@dataclass
class MaxWords(Evaluator):
    """At most `words` words."""

    words: int

    def evaluate(self, ctx: Any) -> bool:
        return len(ctx.text().split()) <= self.words


def test_custom_evaluators_are_described_too() -> None:
    schema = {"type": "array", "items": schema_entries(registry([MaxWords]))}
    jsonschema.validate([{"MaxWords": 12}], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"MaxWords": "twelve"}], schema)
