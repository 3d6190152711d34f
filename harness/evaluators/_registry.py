"""Evaluators by name, and the three ways a case file writes one.

    Contains:                          # bare name: no arguments (or all defaulted)
    {Contains: "feat:"}                # one argument: the evaluator's first field
    {DeepEquals: {expected_file: x.json, ignore_order: true}}   # keyword arguments

A mapping argument is keyword arguments when every key names a field, else it is the one
positional argument (`{JsonSchema: {$ref: s.json}}`, `{Equals: {a: 1}}`); to pass a mapping whose
keys look like field names, write it as a keyword (`{Equals: {value: {value: 1}}}`).
Arguments are checked against the fields' types strictly (no "3" for 3, no true for 1).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from harness.evaluators._base import Evaluator
from harness.evaluators._budgets import MaxCompletionTokens, MaxCost, MaxDuration, MaxPromptTokens, MaxResultTokens
from harness.evaluators._common import clip, evaluator_name, import_object, is_required
from harness.evaluators._deep import DeepEquals
from harness.evaluators._judge import LLMJudge
from harness.evaluators._policy import EvidenceFound, ModelUsed, RouteTaken
from harness.evaluators._routing import Attempts, StepRan, StepSkipped
from harness.evaluators._schemas import JsonSchema, PydanticModel
from harness.evaluators._values import Contains, Equals, NumberRange, Regex


class EvaluatorSpecError(ValueError):
    """An evaluator entry or a custom evaluator cannot be built; the one-line message names the
    evaluator and the argument."""


DEFAULT_EVALUATORS: tuple[type[Evaluator], ...] = (
    Equals,
    DeepEquals,
    Contains,
    Regex,
    JsonSchema,
    PydanticModel,
    NumberRange,
    MaxResultTokens,
    MaxPromptTokens,
    MaxCompletionTokens,
    MaxCost,
    MaxDuration,
    StepRan,
    StepSkipped,
    Attempts,
    RouteTaken,
    ModelUsed,
    EvidenceFound,
    LLMJudge,
)

_FORMS = "Name, {Name: argument} or {Name: {keyword: argument}}"


def registry(extra: Iterable[type[Evaluator]] = ()) -> dict[str, type[Evaluator]]:
    """The built-in evaluators plus `extra` (e.g. from `load_custom`), by name.

    Raises:
        EvaluatorSpecError: two different evaluators share a name, or an extra is not an evaluator.
    """
    out: dict[str, type[Evaluator]] = {}
    for cls in (*DEFAULT_EVALUATORS, *extra):
        _check_class(cls, getattr(cls, "__qualname__", repr(cls)))
        name = evaluator_name(cls)
        if name in out and out[name] is not cls:
            raise EvaluatorSpecError(f"two evaluators are named '{name}': {_where(out[name])} and {_where(cls)}")
        out[name] = cls
    return out


def load_custom(import_path: str) -> type[Evaluator]:
    """A user's evaluator class from `package.module:Class` (as listed in task.yaml).

    Raises:
        EvaluatorSpecError: it does not import, or is not an `Evaluator` dataclass.
    """
    try:
        cls = import_object(import_path, "evaluator")
    except ValueError as err:
        raise EvaluatorSpecError(str(err)) from err
    _check_class(cls, import_path)
    return cls


def parse_evaluator(entry: Any, registry: Mapping[str, type[Evaluator]]) -> Evaluator:
    """Build the evaluator a case file writes as `entry` (see the module docstring for the forms).

    Raises:
        EvaluatorSpecError: unknown name (with a "did you mean"), bad form, or a bad argument.
    """
    if isinstance(entry, str):
        name, arg, bare = entry, None, True
    elif isinstance(entry, dict) and len(entry) == 1:
        ((name, arg),) = entry.items()
        bare = False
        if not isinstance(name, str):
            raise EvaluatorSpecError(f"an evaluator name is a string, got {name!r}")
    elif isinstance(entry, dict):
        keys = ", ".join(map(str, entry)) or "none"
        raise EvaluatorSpecError(f"an evaluator entry has exactly one key, its name; got keys: {keys} (write {_FORMS})")
    else:
        raise EvaluatorSpecError(f"an evaluator entry is written {_FORMS}; got {type(entry).__name__} {entry!r}")
    cls = registry.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, list(registry), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(sorted(registry))})"
        raise EvaluatorSpecError(f"unknown evaluator '{name}'{hint}")
    fields = [f for f in dataclasses.fields(cls) if f.init]
    kwargs = {} if bare else _arguments(name, fields, arg)
    return _build(name, cls, fields, kwargs)


def _arguments(name: str, fields: list[dataclasses.Field[Any]], arg: Any) -> dict[str, Any]:
    names = [f.name for f in fields]
    if not fields:
        if arg is None or arg == {}:
            return {}
        raise EvaluatorSpecError(f"{name} takes no arguments, got {arg!r}")
    if isinstance(arg, dict):
        if not arg:  # {} is no keywords, unless an argument is required: then it is the value
            return {names[0]: arg} if any(is_required(f) for f in fields) else {}
        known = [k for k in arg if k in names]
        if len(known) == len(arg):
            return dict(arg)
        for key in (k for k in arg if k not in names):
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.75)
            if known or close:
                hint = f"; did you mean '{close[0]}'?" if close else f" (arguments: {', '.join(names)})"
                raise EvaluatorSpecError(f"{name}: unknown argument '{key}'{hint}")
    return {names[0]: arg}


def _build(name: str, cls: type[Evaluator], fields: list[dataclasses.Field[Any]], kwargs: dict[str, Any]) -> Evaluator:
    from pydantic import ValidationError

    missing = [f.name for f in fields if f.name not in kwargs and is_required(f)]
    if missing:
        raise EvaluatorSpecError(f"{name}: missing argument '{missing[0]}' (write {{{name}: value}} or {{{name}: {{{missing[0]}: value}}}})")
    hints = _hints(cls)
    checked = {}
    for key, value in kwargs.items():
        hint = hints.get(key, Any)
        try:
            checked[key] = _adapter(hint).validate_python(value, strict=True) if hint is not Any else value
        except ValidationError as err:
            first = err.errors(include_url=False)[0]
            where = key + "".join(f"[{p}]" for p in first["loc"])
            raise EvaluatorSpecError(f"{name}: argument '{where}': {first['msg']} (got {clip(repr(first['input']), 80)})") from None
        except Exception:  # pydantic cannot build a validator for this type: pass the value through
            checked[key] = value
    try:
        return cls(**checked)
    except (TypeError, ValueError) as err:
        message = " ".join(str(err).split())
        raise EvaluatorSpecError(f"{name}: {message}") from err


@functools.lru_cache(maxsize=256)
def _hints(cls: type) -> dict[str, Any]:
    """An evaluator class's type hints, resolved once per class (every case builds evaluators:
    resolving them and building their validators each time was most of loading a case)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # a custom evaluator with annotations we cannot resolve: take its arguments as given
        return {}


def _adapter(hint: Any) -> Any:
    """pydantic's validator for `hint`, built once per hint (an unhashable one: each time)."""
    try:
        return _cached_adapter(hint)
    except TypeError as err:
        if "unhashable" not in str(err):
            raise
    from pydantic import TypeAdapter

    return TypeAdapter(hint)


@functools.lru_cache(maxsize=256)
def _cached_adapter(hint: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(hint)


def _check_class(cls: Any, label: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Evaluator)):
        raise EvaluatorSpecError(f"{label} is not an Evaluator subclass (harness.evaluators.Evaluator)")
    if not dataclasses.is_dataclass(cls):
        raise EvaluatorSpecError(f"{label} is not a @dataclass: an evaluator's fields are its arguments")
    if cls.evaluate is Evaluator.evaluate:
        raise EvaluatorSpecError(f"{label} does not define evaluate(ctx)")


def _where(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"
