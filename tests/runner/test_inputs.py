"""Input values: `-i NAME=VALUE` parsing by declared type, lossless coercion, defaults."""

import pytest

from runner.inputs import apply_defaults, check_values, coerce, parse_cli_value
from runner.ir import InputSpec


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("string", "42", "42"),
        ("string", '{"a": 1}', '{"a": 1}'),
        ("integer", "42", 42),
        ("integer", "4.0", 4),
        ("number", "3", 3.0),
        ("number", "2.5", 2.5),
        ("boolean", "TRUE", True),
        ("boolean", "no", False),
        ("array", "[1, 2]", [1, 2]),
        ("object", '{"k": [true]}', {"k": [True]}),
        ("any", '{"k": 1}', {"k": 1}),
        ("any", "plain words", "plain words"),
        ("any", "7", 7),
    ],
)
def test_parse_cli_value_by_declared_type(kind, raw, value):
    parsed = parse_cli_value(InputSpec(type=kind), raw)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("integer", "three", "expected integer as JSON, got 'three'"),
        ("integer", "4.5", "expected integer, got float 4.5"),
        ("boolean", "maybe", "expected a boolean (true/false), got 'maybe'"),
        ("array", '{"a": 1}', "expected array, got dict"),
        ("object", "[1", "expected object as JSON, got '[1'"),
    ],
)
def test_parse_cli_value_rejects_what_does_not_fit(kind, raw, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        parse_cli_value(InputSpec(type=kind), raw)


def test_coerce_is_lossless_or_leaves_the_value():
    assert coerce(InputSpec(type="integer"), "42") == 42
    assert coerce(InputSpec(type="string"), 7) == "7"
    assert coerce(InputSpec(type="string"), True) == "True"
    assert coerce(InputSpec(type="integer"), "abc") == "abc"
    assert check_values({"n": InputSpec(type="integer")}, {"n": "abc"}) == [("n", "input 'n': expected integer, got str \"abc\"")]


def test_defaults_fill_only_what_is_missing():
    specs = {"a": InputSpec(required=False, default=1), "b": InputSpec(required=False), "c": InputSpec()}
    assert apply_defaults(specs, {"c": 3, "a": 0}) == {"a": 0, "b": None, "c": 3}


@pytest.mark.parametrize("kind", ["number", "integer", "array", "object"])
def test_null_for_a_typed_input_is_a_clear_error(kind):
    with pytest.raises(ValueError, match=f"^expected {kind}, got null"):
        parse_cli_value(InputSpec(type=kind), "null")


@pytest.mark.parametrize("kind", ["any", "array", "object"])
def test_values_nested_too_deep_or_repeating_a_key_are_errors_not_crashes(kind):
    with pytest.raises(ValueError, match="nested deeper than 100 levels"):
        parse_cli_value(InputSpec(type=kind), "[" * 1000 + "]" * 1000)
    with pytest.raises(ValueError, match="duplicate key 'a'"):
        parse_cli_value(InputSpec(type=kind), '{"a": 1, "a": 2}')
