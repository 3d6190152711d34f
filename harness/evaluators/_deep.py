"""`DeepEquals`: structural comparison with deepdiff, the diff shown (trimmed) when it fails.

    outputs:
      changelog: [{DeepEquals: {expected_file: expected/changelog.json, ignore_order: true}}]
      totals:    [{DeepEquals: {expected: {feat: 3, fix: 2.5}, tolerance: 0.01, ignore_paths: [generated_at]}}]
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext
from harness.evaluators._common import as_data, clip, load_data_file, show, verdict

if TYPE_CHECKING:
    from deepdiff import DeepDiff

MAX_DIFF_LINES = 8
MAX_DIFF_CHARS = 800

# One segment of an ignore path: `.key` / `key`, `[3]`, `[*]`, `*`, `["key.with.dots"]`.
_SEGMENT = re.compile(r"""\.?(?:\[(?P<index>\d+|\*)\]|\[(?P<q>["'])(?P<quoted>.*?)(?P=q)\]|(?P<key>[^.\[\]]+))""")


@dataclass
class DeepEquals(Evaluator):
    """The value equals the expected data, compared structurally.

    Attributes:
        expected: the data, inline (JSON equality: 1 == 1.0).
        expected_file: or a JSON/YAML file (by extension) relative to the task folder.
        ignore_order: lists compare as multisets (repetitions count).
        ignore_paths: places left out of the comparison, on both sides: `a.b`, `items[0].id`,
            `items[*].id`, `["key.with.dots"]`.
        tolerance: numbers within this absolute difference are equal (deepdiff's
            `math_epsilon`). With `ignore_order`, deepdiff applies `math_epsilon` to flat lists
            only, so list items are then paired by a tolerant comparison instead.
    """

    expected: Any = None
    expected_file: str | None = None
    ignore_order: bool = False
    ignore_paths: list[str] = field(default_factory=list)
    tolerance: float | None = None

    def __post_init__(self) -> None:
        if self.expected is not None and self.expected_file is not None:
            raise ValueError("give expected or expected_file, not both")
        if self.tolerance is not None and self.tolerance < 0:
            raise ValueError(f"tolerance must be >= 0, got {self.tolerance}")
        self._paths = [_parse_path(p) for p in self.ignore_paths]

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        expected = self.expected
        if self.expected_file is not None:
            expected = load_data_file(ctx.base_dir, self.expected_file, "expected_file")
        actual = ctx.value if isinstance(expected, str) else as_data(ctx.value)[0]
        if self._paths:
            expected, actual = _without(expected, self._paths), _without(actual, self._paths)
        if _identical(expected, actual):  # equal under any options: no need to load deepdiff
            return verdict(ctx, self, True)
        diff = _diff(expected, actual, self.ignore_order, self.tolerance)
        source = self.expected_file or "expected"
        if not diff:
            return verdict(ctx, self, True)
        return verdict(ctx, self, False, f"differs from {source} (old = expected, new = actual): {_summary(diff)}")


def _identical(a: Any, b: Any) -> bool:
    """Whether two JSON-like values are the same in order, type and value (numbers: int and
    float alike, as `ignore_numeric_type_changes` has it; a bool is not a number): what deepdiff
    then finds no difference in, whatever the options. False also for anything else (NaN, other
    types): deepdiff decides those."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) in (int, float) and type(b) in (int, float) and a == b
    if type(a) is not type(b):
        return False
    if a is None or type(a) is str:
        return a == b
    if type(a) is dict:
        return a.keys() == b.keys() and all(_identical(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b))
    return False


def _diff(expected: Any, actual: Any, ignore_order: bool, tolerance: float | None) -> DeepDiff:
    from deepdiff import DeepDiff  # ~0.25 s (it imports numpy): only where a value is compared

    options: dict[str, Any] = {"ignore_numeric_type_changes": True, "verbose_level": 1}
    if tolerance is not None:
        options["math_epsilon"] = tolerance
    if not ignore_order:
        return DeepDiff(expected, actual, **options)
    if tolerance is None:
        return DeepDiff(expected, actual, ignore_order=True, report_repetition=True, **options)

    def pair(x: Any, y: Any, level: Any = None) -> bool:
        return not DeepDiff(x, y, iterable_compare_func=pair, **options)

    diff = DeepDiff(expected, actual, iterable_compare_func=pair, **options)
    diff.pop("iterable_item_moved", None)
    return diff


def _summary(diff: DeepDiff) -> str:
    lines = [line for line in diff.pretty().splitlines() if not line.startswith("Repetition change")]
    for change in diff.get("repetition_change", {}).values():
        lines.append(f"{show(change['value'], 60)} appears {change['new_repeat']} time(s), expected {change['old_repeat']}.")
    shown = " ".join(lines[:MAX_DIFF_LINES])
    more = f" (and {len(lines) - MAX_DIFF_LINES} more)" if len(lines) > MAX_DIFF_LINES else ""
    return clip(shown, MAX_DIFF_CHARS) + more


def _parse_path(path: str) -> list[str | int]:
    text = path.strip().removeprefix("$")
    segments: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"ignore_paths: cannot read {path!r} at char {pos}")
        index, quoted, key = match.group("index"), match.group("quoted"), match.group("key")
        segments.append(int(index) if index and index.isdigit() else "*" if index or key == "*" else quoted if quoted is not None else key)
        pos = match.end()
    if not segments:
        raise ValueError("ignore_paths: empty path")
    return segments


def _without(value: Any, paths: list[list[str | int]]) -> Any:
    """A copy of `value` with every place a path names removed."""
    value = copy.deepcopy(value)
    for path in paths:
        _remove(value, path)
    return value


def _remove(node: Any, path: list[str | int]) -> None:
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
        children = [(node, k) for k in keys]
    elif isinstance(node, list):
        idx = range(len(node)) if head == "*" else [head] if isinstance(head, int) and head < len(node) else []
        children = [(node, i) for i in idx]
    else:
        return
    if rest:
        for parent, k in children:
            _remove(parent[k], rest)
    elif isinstance(node, dict):
        for _, k in children:
            del node[k]
    else:  # a list keeps its length, so later indexes still line up
        for _, k in children:
            node[k] = "<ignored>"

