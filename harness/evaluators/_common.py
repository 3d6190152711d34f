"""Small helpers the built-in evaluators share: verdicts, target checks, values read as data."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any


from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext
from runner.trace import StepRecord

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)


def evaluator_name(evaluator: Evaluator | type[Evaluator]) -> str:
    """The name an evaluator is written under: its `name`, else its class name."""
    cls = evaluator if isinstance(evaluator, type) else type(evaluator)
    return cls.name or cls.__name__


def verdict(ctx: EvaluatorContext, evaluator: Evaluator, passed: bool, reason: str = "", *, score: float | None = None,
            error: bool = False) -> EvaluationResult:
    return EvaluationResult(target=ctx.target, evaluator=evaluator_name(evaluator), passed=passed, score=score, reason=reason, error=error)


def is_output(ctx: EvaluatorContext) -> bool:
    return ctx.target.startswith("outputs.")


def target_name(ctx: EvaluatorContext) -> str:
    return ctx.target.partition(".")[2]


def target_step(ctx: EvaluatorContext, evaluator: Evaluator, *, kinds: tuple[str, ...] = (), applies_to: str = "") -> StepRecord | EvaluationResult:
    """The step the evaluator reads, or a failing verdict saying why it does not apply.

    `kinds` limits the step kinds it reads (empty: any); `applies_to` words what it reads for
    the reason ("llm steps").
    """
    name = evaluator_name(evaluator)
    if is_output(ctx):
        which = f" ({applies_to})" if applies_to else ""
        return verdict(ctx, evaluator, False, f"{name} does not apply to outputs: it reads a step{which}")
    step = ctx.step
    if step is None:
        return verdict(ctx, evaluator, False, f"step '{target_name(ctx)}' did not run")
    if kinds and step.kind not in kinds:
        return verdict(ctx, evaluator, False, f"{name} does not apply to step '{step.step_id}': it is a {step.kind} step, {name} reads {applies_to}")
    return step


def as_data(value: Any) -> tuple[Any, str | None]:
    """A string that holds JSON (bare or in one ```json fence) parsed; anything else unchanged.

    Returns the value and, for a string that is not JSON, why it did not parse (else None).
    """
    if not isinstance(value, str):
        return value, None
    fenced = _FENCE.match(value)
    try:
        return json.loads(fenced.group(1) if fenced else value), None
    except json.JSONDecodeError as err:
        return value, f"{err.msg} at char {err.pos}"


def load_data_file(base_dir: Path, relative: str, what: str) -> Any:
    """Read a JSON or YAML file (by extension) named relative to the task folder.

    Raises:
        FileNotFoundError: the file does not exist (the message names `what` and the folder).
        ValueError: it does not parse.
    """
    path = base_dir / relative
    if not path.is_file():
        raise FileNotFoundError(f"{what} '{relative}' not found in {base_dir}")
    from harness._readers import ParseError, load_json, load_yaml, read_text

    try:  # read as strictly as the golden files themselves (no aliases, duplicates, deep nesting)
        text = read_text(path)
        return load_yaml(text) if path.suffix.lower() in (".yaml", ".yml") else load_json(text)
    except ParseError as err:
        raise ValueError(f"{what} '{relative}'{err.where()} does not parse: {err}") from None


def clip(text: str, limit: int = 120) -> str:
    """`text` on one line, cut to `limit` characters with the length said when cut."""
    flat = text.replace("\n", "\\n")
    return flat if len(flat) <= limit else f"{flat[:limit]}... ({len(text):,} chars)"


def show(value: Any, limit: int = 120) -> str:
    """A value for a reason: strings quoted, anything else as JSON, clipped."""
    return clip(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str), limit)


def import_object(path: str, what: str) -> Any:
    """The object at `package.module:Name` (`Name` may be dotted).

    Raises:
        ValueError: the path is malformed, the module does not import, or it has no such name;
            the message says which.
    """
    import importlib

    module_name, sep, attr = path.partition(":")
    if not (sep and module_name and attr):
        raise ValueError(f"{what} must be written 'package.module:Name', got {path!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as err:  # any failure of the user's module is a spec problem
        raise ValueError(f"cannot import {what} {path!r}: {type(err).__name__}: {err}") from err
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"cannot import {what} {path!r}: {module_name} has no attribute {attr!r}") from None
    return target


def is_required(f: dataclasses.Field[Any]) -> bool:
    """Whether a dataclass field has no default (its argument must be written)."""
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
