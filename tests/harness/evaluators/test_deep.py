"""DeepEquals: structural comparison with deepdiff, inline or from a JSON/YAML file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.evaluators import DeepEquals
from tests.harness.evaluators._factories import judge, value_ctx

FOUND = {"entities": [{"name": "Ada", "type": "person"}, {"name": "skylark", "type": "project"}], "count": 2}

VERDICTS = [
    pytest.param({}, FOUND, FOUND, True, id="identical"),
    pytest.param({}, FOUND, json.dumps(FOUND), True, id="json-string-parsed"),
    pytest.param({}, {"n": 2}, {"n": 2.0}, True, id="int-equals-float"),
    pytest.param({}, {"n": 2}, {"n": 3}, False, id="value-changed"),
    pytest.param({}, {"n": 2}, {"n": 2, "m": 1}, False, id="key-added"),
    pytest.param({}, [1, 2], [2, 1], False, id="order-matters-by-default"),
    pytest.param({"ignore_order": True}, [1, 2], [2, 1], True, id="ignore-order"),
    pytest.param({"ignore_order": True}, FOUND, {**FOUND, "entities": FOUND["entities"][::-1]}, True, id="ignore-order-nested"),
    pytest.param({"ignore_order": True}, [1, 1, 2], [1, 2, 2], False, id="ignore-order-counts-repeats"),
    pytest.param({"tolerance": 0.01}, {"x": 2}, {"x": 2.004}, True, id="tolerance-within"),
    pytest.param({"tolerance": 0.01}, {"x": 2}, {"x": 2.5}, False, id="tolerance-beyond"),
    pytest.param({"tolerance": 0.01, "ignore_order": True}, [{"k": "a", "v": 2}, {"k": "b", "v": 5}],
                 [{"k": "b", "v": 5.001}, {"k": "a", "v": 2.001}], True, id="tolerance-and-ignore-order-nested"),
    pytest.param({"tolerance": 0.01, "ignore_order": True}, [{"k": "a", "v": 2}, {"k": "b", "v": 5}],
                 [{"k": "b", "v": 5.3}, {"k": "a", "v": 2.001}], False, id="tolerance-and-ignore-order-beyond"),
    pytest.param({"ignore_paths": ["generated_at"]}, {"a": 1, "generated_at": "t1"}, {"a": 1, "generated_at": "t2"}, True, id="ignore-path"),
    pytest.param({"ignore_paths": ["items[*].id"]}, {"items": [{"id": 1, "v": "x"}]}, {"items": [{"id": 9, "v": "x"}]}, True, id="ignore-path-wildcard"),
    pytest.param({"ignore_paths": ["items[0].id"]}, {"items": [{"id": 1}, {"id": 2}]}, {"items": [{"id": 5}, {"id": 3}]}, False, id="ignore-path-index-only"),
    pytest.param({"ignore_paths": ['meta["run.id"]']}, {"meta": {"run.id": 1}}, {"meta": {"run.id": 2}}, True, id="ignore-path-quoted-key"),
    pytest.param({"ignore_paths": ["$.a"]}, {"a": 1, "b": 1}, {"a": 2, "b": 2}, False, id="ignore-path-others-still-compared"),
]


@pytest.mark.parametrize(("options", "expected", "actual", "passed"), VERDICTS)
def test_verdict(options: dict[str, Any], expected: Any, actual: Any, passed: bool) -> None:
    result = judge(DeepEquals(expected=expected, **options), value_ctx(actual))
    assert result.passed is passed, result.reason


def test_the_reason_shows_the_diff() -> None:
    reason = judge(DeepEquals(expected={"feat": 3, "fix": 2}), value_ctx({"feat": 4, "fix": 2, "docs": 1})).reason
    assert reason.startswith("differs from expected (old = expected, new = actual): ")
    assert "root['docs'] added" in reason
    assert "root['feat'] changed from 3 to 4" in reason


def test_a_long_diff_is_trimmed() -> None:
    reason = judge(DeepEquals(expected={f"k{i}": i for i in range(50)}), value_ctx({f"k{i}": -i for i in range(1, 51)})).reason
    assert "more)" in reason
    assert len(reason) < 1100


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_expected_file_is_read_relative_to_the_task_folder(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "expected").mkdir()
    text = json.dumps(FOUND) if suffix == "json" else "entities:\n- {name: Ada, type: person}\n- {name: skylark, type: project}\ncount: 2\n"
    (tmp_path / "expected" / f"found.{suffix}").write_text(text)
    evaluator = DeepEquals(expected_file=f"expected/found.{suffix}")
    assert judge(evaluator, value_ctx(FOUND, base_dir=tmp_path)).passed
    failed = judge(evaluator, value_ctx({**FOUND, "count": 3}, base_dir=tmp_path))
    assert not failed.passed
    assert failed.reason.startswith(f"differs from expected/found.{suffix}")


def test_a_missing_expected_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="expected_file 'expected/nope.json' not found in"):
        DeepEquals(expected_file="expected/nope.json").evaluate(value_ctx(1, base_dir=tmp_path))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"expected": 1, "expected_file": "x.json"}, "not both", id="both-expectations"),
        pytest.param({"tolerance": -1}, "tolerance must be >= 0", id="negative-tolerance"),
        pytest.param({"ignore_paths": ["a..b"]}, "cannot read 'a..b'", id="bad-path"),
    ],
)
def test_bad_arguments_are_refused_when_built(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeepEquals(**options)


def test_an_expected_file_is_read_as_strictly_as_the_golden_files(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text("a: &a [x, x]\nb: [*a, *a]\n")
    with pytest.raises(ValueError, match=r"expected_file 'bomb.yaml':2:\d+ does not parse: YAML aliases are not allowed"):
        DeepEquals(expected_file="bomb.yaml").evaluate(value_ctx(1, base_dir=tmp_path))
    (tmp_path / "twice.json").write_text('{"a": 1, "a": 2}')
    with pytest.raises(ValueError, match=r"expected_file 'twice.json'.* does not parse: .*duplicate key 'a'"):
        DeepEquals(expected_file="twice.json").evaluate(value_ctx(1, base_dir=tmp_path))


_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-3, 3, width=16) | st.just(float("nan")) | st.sampled_from(["", "a", "1"]),
                     lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abc"), children, max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=_json, b=_json, ignore_order=st.booleans(), tolerance=st.sampled_from([None, 0.5]))
def test_values_taken_as_identical_without_deepdiff_are_equal_to_deepdiff(a: Any, b: Any, ignore_order: bool, tolerance: float | None) -> None:
    """The shortcut that passes a value without loading deepdiff never passes what deepdiff
    would fail (bool against 1, NaN, a list against the same items in another order...)."""
    from harness.evaluators._deep import _diff, _identical

    for x, y in ((a, b), (a, a), (a, json.loads(json.dumps(a)))):
        if _identical(x, y):
            assert not _diff(x, y, ignore_order, tolerance), (x, y)


def test_what_the_shortcut_cannot_tell_is_left_to_deepdiff() -> None:
    """A bool against a number and NaN go to deepdiff (which, with numeric types ignored, takes
    True for 1: the verdict stays deepdiff's)."""
    from harness.evaluators._deep import _identical

    assert not _identical([True], [1]) and not _identical({"n": 0}, {"n": False})
    assert not _identical(float("nan"), float("nan"))
    assert _identical({"n": [1, "a", None]}, {"n": [1.0, "a", None]})
    assert judge(DeepEquals(expected=[True]), value_ctx([1])).passed is True
