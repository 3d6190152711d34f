"""Equals, Contains, Regex and NumberRange on one value (a step's primary value or an output)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.evaluators import Contains, Equals, Evaluator, NumberRange, Regex, parse_evaluator, registry
from tests.harness.evaluators._factories import judge, shell, step_ctx, value_ctx

VERDICTS = [
    # Equals: JSON equality; a string that holds JSON compares as its data when the expectation is data.
    pytest.param(Equals(115), 115, True, id="Equals-number"),
    pytest.param(Equals(115), "115", True, id="Equals-number-in-stdout"),
    pytest.param(Equals(1), 1.0, True, id="Equals-int-matches-float"),
    pytest.param(Equals(False), "false", True, id="Equals-false-in-text"),
    pytest.param(Equals({"a": [1, 2]}), '{"a": [1, 2]}', True, id="Equals-object-in-text"),
    pytest.param(Equals("+9.0h"), "+9.0h", True, id="Equals-string"),
    pytest.param(Equals(115), 114, False, id="Equals-other-number"),
    pytest.param(Equals(1), True, False, id="Equals-true-is-not-1"),
    pytest.param(Equals("115"), 115, False, id="Equals-string-is-not-number"),
    pytest.param(Equals([1, 2]), [2, 1], False, id="Equals-order-matters"),
    pytest.param(Equals(None), None, True, id="Equals-null"),
    # Contains: a substring of the value as text; for lists, an equal element passes too.
    pytest.param(Contains("feat:"), "fix: a\nfeat: b", True, id="Contains-substring"),
    pytest.param(Contains("review-1043.txt"), ["review-1042.txt", "review-1043.txt"], True, id="Contains-list-element"),
    pytest.param(Contains("3"), [1, 2, 3], True, id="Contains-list-number-element"),
    pytest.param(Contains("leads"), {"relations": [{"type": "leads"}]}, True, id="Contains-in-json-of-object"),
    pytest.param(Contains("feat:"), "fix: a", False, id="Contains-missing"),
    pytest.param(Contains("x"), [], False, id="Contains-empty-list"),
    # Regex: re.search on the value as text.
    pytest.param(Regex(r"^\d+ commits$"), "400 commits", True, id="Regex-anchored"),
    pytest.param(Regex(r"(?i)FEAT"), "feat: x", True, id="Regex-inline-flag"),
    pytest.param(Regex(r'"kind": "feat"'), {"kind": "feat"}, True, id="Regex-on-json-of-object"),
    pytest.param(Regex(r"^(positive|negative)$"), "neutral", False, id="Regex-no-match"),
    # NumberRange: a number, or a string holding one.
    pytest.param(NumberRange(min=1, max=50), 50, True, id="NumberRange-at-max"),
    pytest.param(NumberRange(min=1), " 7\n", True, id="NumberRange-number-in-stdout"),
    pytest.param(NumberRange(max=0.5), 0.25, True, id="NumberRange-float"),
    pytest.param(NumberRange(min=1, max=50), 51, False, id="NumberRange-above"),
    pytest.param(NumberRange(min=1), 0, False, id="NumberRange-below"),
    pytest.param(NumberRange(min=0), "many", False, id="NumberRange-not-a-number"),
    pytest.param(NumberRange(min=0), True, False, id="NumberRange-bool-is-not-a-number"),
]


@pytest.mark.parametrize(("evaluator", "value", "passed"), VERDICTS)
def test_verdict(evaluator: Evaluator, value: Any, passed: bool) -> None:
    result = judge(evaluator, value_ctx(value))
    assert result.passed is passed, result.reason


REASONS = [
    pytest.param(Equals(115), 114, "expected 115, got 114", id="Equals"),
    pytest.param(Contains("feat:"), "fix: a", "'feat:' not found in fix: a", id="Contains"),
    pytest.param(Regex("^a$"), "b", "/^a$/ does not match b", id="Regex"),
    pytest.param(NumberRange(min=1, max=50), 51, "51 is above max 50", id="NumberRange-above"),
    pytest.param(NumberRange(min=1), 0, "0 is below min 1", id="NumberRange-below"),
    pytest.param(NumberRange(min=0), "many", 'not a number: "many"', id="NumberRange-not-a-number"),
]


@pytest.mark.parametrize(("evaluator", "value", "reason"), REASONS)
def test_failure_reason(evaluator: Evaluator, value: Any, reason: str) -> None:
    assert judge(evaluator, value_ctx(value)).reason == reason


def test_number_range_reads_like_its_spec() -> None:
    evaluator = parse_evaluator({"NumberRange": {"min": 1, "max": 50}}, registry())  # both read as floats
    assert judge(evaluator, value_ctx(13)).reason == "13 in [1, 50]"
    assert judge(NumberRange(max=0.5), value_ctx(0.25)).reason == "0.25 in [-inf, 0.5]"


def test_long_values_are_clipped_in_reasons() -> None:
    reason = judge(Contains("needle"), value_ctx("hay " * 1000)).reason
    assert len(reason) < 200
    assert "(4,000 chars)" in reason


def test_a_step_is_judged_on_its_primary_value() -> None:
    ctx = step_ctx(shell("count", stdout="115"))
    assert judge(Equals(115), ctx).passed
    assert judge(Contains("11"), ctx).passed


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda: Regex("("), "invalid regular expression", id="Regex-bad-pattern"),
        pytest.param(lambda: NumberRange(), "give min, max or both", id="NumberRange-no-bounds"),
        pytest.param(lambda: NumberRange(min=2, max=1), "min 2 is above max 1", id="NumberRange-inverted"),
    ],
)
def test_bad_arguments_are_refused_when_built(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@given(st.text(min_size=1, max_size=20), st.text(max_size=20), st.text(max_size=20))
def test_contains_finds_any_substring(needle: str, before: str, after: str) -> None:
    assert judge(Contains(needle), value_ctx(before + needle + after)).passed
