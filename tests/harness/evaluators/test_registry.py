"""The registry, the three written forms of an evaluator, and users' own evaluators."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.evaluators import (
    DEFAULT_EVALUATORS,
    Attempts,
    Contains,
    DeepEquals,
    Equals,
    Evaluator,
    EvaluatorSpecError,
    JsonSchema,
    LLMJudge,
    MaxDuration,
    MaxResultTokens,
    NumberRange,
    StepRan,
    StepSkipped,
    load_custom,
    parse_evaluator,
    registry,
)

REGISTRY = registry()

FORMS = [
    pytest.param("StepRan", StepRan(), id="bare-name"),
    pytest.param("DeepEquals", DeepEquals(), id="bare-name-all-defaults"),
    pytest.param({"StepSkipped": None}, StepSkipped(), id="name-with-null"),
    pytest.param({"StepRan": {}}, StepRan(), id="name-with-empty-mapping"),
    pytest.param({"Contains": "feat:"}, Contains("feat:"), id="positional-string"),
    pytest.param({"MaxResultTokens": 40000}, MaxResultTokens(40000), id="positional-number"),
    pytest.param({"MaxDuration": 5}, MaxDuration(5.0), id="integer-for-a-float"),
    pytest.param({"Equals": None}, Equals(None), id="positional-null"),
    pytest.param({"Equals": [1, 2]}, Equals([1, 2]), id="positional-list"),
    pytest.param({"Equals": {}}, Equals({}), id="positional-empty-mapping"),
    pytest.param({"DeepEquals": {}}, DeepEquals(), id="no-keywords"),
    pytest.param({"JsonSchema": {"$ref": "schemas/x.json"}}, JsonSchema({"$ref": "schemas/x.json"}), id="positional-mapping-ref"),
    pytest.param({"JsonSchema": {"type": "object", "required": ["a"]}}, JsonSchema({"type": "object", "required": ["a"]}), id="positional-mapping-schema"),
    pytest.param({"JsonSchema": {"schema": {"type": "object"}}}, JsonSchema({"type": "object"}), id="keyword-mapping"),
    pytest.param({"DeepEquals": {"feat": 3}}, DeepEquals(expected={"feat": 3}), id="positional-mapping-expected"),
    pytest.param({"Equals": {"value": {"value": 1}}}, Equals({"value": 1}), id="keyword-to-pass-a-lookalike-mapping"),
    pytest.param({"DeepEquals": {"expected_file": "e.json", "ignore_order": True}}, DeepEquals(expected_file="e.json", ignore_order=True), id="keywords"),
    pytest.param({"NumberRange": {"min": 1, "max": 50}}, NumberRange(min=1, max=50), id="keywords-numbers"),
    pytest.param({"Attempts": {"max": 2}}, Attempts(max=2), id="keyword-one-of-two"),
    pytest.param({"LLMJudge": "one line"}, LLMJudge("one line"), id="judge-positional"),
    pytest.param({"LLMJudge": {"rubric": "one line", "threshold": 0.8}}, LLMJudge("one line", threshold=0.8), id="judge-keywords"),
]


@pytest.mark.parametrize(("entry", "expected"), FORMS)
def test_written_forms(entry: Any, expected: Evaluator) -> None:
    assert parse_evaluator(entry, REGISTRY) == expected


ERRORS = [
    pytest.param("Contain", "unknown evaluator 'Contain'; did you mean 'Contains'?", id="unknown-name-close"),
    pytest.param({"maxresulttokens": 3}, "unknown evaluator 'maxresulttokens'; did you mean 'MaxResultTokens'?", id="unknown-name-case"),
    pytest.param("Zzz", "unknown evaluator 'Zzz' (known: " + ", ".join(sorted(REGISTRY)) + ")", id="unknown-name-far"),
    pytest.param("Contains", "Contains: missing argument 'text' (write {Contains: value} or {Contains: {text: value}})", id="missing-argument"),
    pytest.param({"Contains": 3}, "Contains: argument 'text': Input should be a valid string (got 3)", id="wrong-type"),
    pytest.param({"MaxResultTokens": "40k"}, "MaxResultTokens: argument 'tokens': Input should be a valid integer (got '40k')", id="string-for-int"),
    pytest.param({"MaxResultTokens": True}, "MaxResultTokens: argument 'tokens': Input should be a valid integer (got True)", id="bool-for-int"),
    pytest.param({"DeepEquals": {"ignore_paths": ["a", 1]}}, "DeepEquals: argument 'ignore_paths[1]': Input should be a valid string (got 1)", id="wrong-item-type"),
    pytest.param({"DeepEquals": {"expected_fil": "x.json"}}, "DeepEquals: unknown argument 'expected_fil'; did you mean 'expected_file'?", id="keyword-typo"),
    pytest.param({"DeepEquals": {"expected_file": "x.json", "ignore": True}}, "DeepEquals: unknown argument 'ignore' (arguments: expected, expected_file, ignore_order, ignore_paths, tolerance)",
                 id="unknown-keyword-beside-known"),
    pytest.param({"StepRan": 3}, "StepRan takes no arguments, got 3", id="arguments-to-none"),
    pytest.param({"Attempts": {}}, "Attempts: give max, exactly or both", id="argument-check"),
    pytest.param({"Regex": "(unclosed"}, "Regex: invalid regular expression: missing ), unterminated subpattern at position 0", id="bad-regex"),
    pytest.param({"PydanticModel": "no_such_pkg:M"}, "PydanticModel: cannot import model 'no_such_pkg:M': ModuleNotFoundError: No module named 'no_such_pkg'", id="bad-model-path"),
    pytest.param({"Contains": "a", "Regex": "b"}, "an evaluator entry has exactly one key, its name; got keys: Contains, Regex (write Name, {Name: argument} or {Name: {keyword: argument}})",
                 id="two-names"),
    pytest.param({}, "an evaluator entry has exactly one key, its name; got keys: none (write Name, {Name: argument} or {Name: {keyword: argument}})", id="empty-mapping"),
    pytest.param(["Contains", "x"], "an evaluator entry is written Name, {Name: argument} or {Name: {keyword: argument}}; got list ['Contains', 'x']", id="a-list"),
    pytest.param({3: "x"}, "an evaluator name is a string, got 3", id="non-string-name"),
]


@pytest.mark.parametrize(("entry", "message"), ERRORS)
def test_bad_entries(entry: Any, message: str) -> None:
    with pytest.raises(EvaluatorSpecError) as caught:
        parse_evaluator(entry, REGISTRY)
    assert str(caught.value) == message
    assert "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_the_default_registry_is_the_built_ins_by_name() -> None:
    assert list(REGISTRY) == [cls.__name__ for cls in DEFAULT_EVALUATORS]
    assert registry() == REGISTRY  # built fresh each time, nothing registered by importing


_names = (f"flowtape_custom_{i}" for i in itertools.count())

CUSTOM = """
    from dataclasses import dataclass
    from typing import ClassVar
    from harness.evaluators import Evaluator

    @dataclass
    class WordCount(Evaluator):
        max_words: int
        name: ClassVar[str] = "MaxWords"
        def evaluate(self, ctx):
            return len(ctx.text().split()) <= self.max_words

    class Plain(Evaluator):
        def evaluate(self, ctx):
            return True

    @dataclass
    class Lazy(Evaluator):
        n: int = 1

    @dataclass
    class Contains(Evaluator):
        text: str
        def evaluate(self, ctx):
            return True

    def function(ctx):
        return True
"""


@pytest.fixture
def custom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a fresh importable module holding CUSTOM."""
    module = next(_names)
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(CUSTOM))
    monkeypatch.syspath_prepend(str(tmp_path))
    return module


def test_a_custom_evaluator_loads_registers_and_parses(custom: str) -> None:
    cls = load_custom(f"{custom}:WordCount")
    reg = registry([cls])
    assert reg["MaxWords"] is cls
    evaluator = parse_evaluator({"MaxWords": 3}, reg)
    assert isinstance(evaluator, cls)
    assert evaluator.max_words == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        pytest.param("Plain", "{m}:Plain is not a @dataclass: an evaluator's fields are its arguments", id="not-a-dataclass"),
        pytest.param("Lazy", "{m}:Lazy does not define evaluate(ctx)", id="no-evaluate"),
        pytest.param("function", "{m}:function is not an Evaluator subclass (harness.evaluators.Evaluator)", id="not-a-class"),
        pytest.param("dataclass", "{m}:dataclass is not an Evaluator subclass (harness.evaluators.Evaluator)", id="not-an-evaluator"),
        pytest.param("Missing", "cannot import evaluator '{m}:Missing': {m} has no attribute 'Missing'", id="no-such-class"),
    ],
)
def test_load_custom_refuses_what_is_not_an_evaluator(custom: str, attr: str, message: str) -> None:
    with pytest.raises(EvaluatorSpecError) as caught:
        load_custom(f"{custom}:{attr}")
    assert str(caught.value) == message.format(m=custom)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("no_such_module_xyz:E", "cannot import evaluator 'no_such_module_xyz:E': ModuleNotFoundError: No module named 'no_such_module_xyz'", id="no-module"),
        pytest.param("harness.evaluators", "evaluator must be written 'package.module:Name', got 'harness.evaluators'", id="no-colon"),
    ],
)
def test_load_custom_import_errors(path: str, message: str) -> None:
    with pytest.raises(EvaluatorSpecError) as caught:
        load_custom(path)
    assert str(caught.value) == message


def test_a_module_that_fails_to_import_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = next(_names)
    (tmp_path / f"{module}.py").write_text("raise RuntimeError('needs a GPU')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(EvaluatorSpecError, match=f"cannot import evaluator '{module}:E': RuntimeError: needs a GPU"):
        load_custom(f"{module}:E")


def test_two_evaluators_with_one_name_are_refused(custom: str) -> None:
    clash = load_custom(f"{custom}:Contains")
    with pytest.raises(EvaluatorSpecError, match=f"two evaluators are named 'Contains': harness.evaluators._values:Contains and {custom}:Contains"):
        registry([clash])


def test_registry_refuses_a_non_evaluator() -> None:
    with pytest.raises(EvaluatorSpecError, match="is not an Evaluator subclass"):
        registry([dict])  # type: ignore[list-item]
