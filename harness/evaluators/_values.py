"""Evaluators of one value: a step's primary value (its `stdout`, `response`, `result`, ...) or a
declared output.

    steps:   {log: [{Contains: "feat:"}, {Regex: '^\\w+'}]}
    outputs: {count: [{Equals: 115}, {NumberRange: {min: 1, max: 400}}]}

A string that holds JSON compares as the data it holds wherever the expectation is data
(`Equals: 115` against stdout "115").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext
from harness.evaluators._common import as_data, clip, show, verdict


def same(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@dataclass
class Equals(Evaluator):
    """The value equals `value` (JSON equality; a string holding JSON is compared as its data)."""

    value: Any

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        actual = ctx.value
        if not isinstance(self.value, str):
            actual, _ = as_data(actual)
        if same(actual, self.value):
            return verdict(ctx, self, True)
        return verdict(ctx, self, False, f"expected {show(self.value)}, got {show(ctx.value)}")


@dataclass
class Contains(Evaluator):
    """`text` is a substring of the value as text; for a list value, an element equal to `text`
    passes too (`["a.txt", "b.txt"]` contains "b.txt")."""

    text: str

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        haystack = ctx.text()
        if self.text in haystack:
            return verdict(ctx, self, True, f"found at char {haystack.index(self.text)}")
        if isinstance(ctx.value, list):
            for i, item in enumerate(ctx.value):
                if item == self.text or ctx.text(item) == self.text:
                    return verdict(ctx, self, True, f"element {i} equals it")
        return verdict(ctx, self, False, f"{self.text!r} not found in {clip(haystack)}")


@dataclass
class Regex(Evaluator):
    """`pattern` matches somewhere in the value as text (`re.search`; anchor with `^`/`$`, flags
    inline: `(?i)`, `(?m)`)."""

    pattern: str

    def __post_init__(self) -> None:
        try:
            self._compiled = re.compile(self.pattern)
        except re.error as err:
            raise ValueError(f"invalid regular expression: {err}") from None

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        text = ctx.text()
        match = self._compiled.search(text)
        if match:
            return verdict(ctx, self, True, f"matched {clip(match.group(0), 80)!r} at char {match.start()}")
        return verdict(ctx, self, False, f"/{self.pattern}/ does not match {clip(text)}")


@dataclass
class NumberRange(Evaluator):
    """The value is a number (or a string holding one) with `min <= value <= max`."""

    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        number, _ = as_data(ctx.value.strip() if isinstance(ctx.value, str) else ctx.value)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return verdict(ctx, self, False, f"not a number: {show(ctx.value)}")
        low = "-inf" if self.min is None else _num(self.min)
        high = "inf" if self.max is None else _num(self.max)
        if self.min is not None and number < self.min:
            return verdict(ctx, self, False, f"{_num(number)} is below min {low}")
        if self.max is not None and number > self.max:
            return verdict(ctx, self, False, f"{_num(number)} is above max {high}")
        return verdict(ctx, self, True, f"{_num(number)} in [{low}, {high}]")


def _num(x: float) -> str:
    """A number as a person writes it: 50 not 50.0, 0.25 as is."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))
