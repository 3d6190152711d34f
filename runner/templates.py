"""`${...}` templates in IR params and outputs.

Grammar (one pass over the IR's own text; values that come from a node are data and are never
scanned again, so a `${x}` inside a tool result stays literal):

    template   := ( text | "$${" raw "}" | "${" expr "}" )*
    expr       := ref ( "??" ( ref | literal ) )*
    ref        := name ( "." key | "[" int "]" )*
    literal    := JSON string, number, true, false or null

`$${x}` is the escape for a literal `${x}`. A path that walks into a string holding JSON parses
it first. A template that is the whole string keeps the value's type:

    >>> resolve("${n.count}", {"n": {"count": 3}})
    3
    >>> resolve("count=${n.count}", {"n": {"count": 3}})
    'count=3'
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Ref",
    "Segment",
    "Template",
    "TemplateError",
    "TemplateSyntaxError",
    "UnresolvedError",
    "find_refs",
    "lenient",
    "parse",
    "resolve",
    "resolve_expr",
    "resolve_value",
    "to_text",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_INDEX = re.compile(r"\[(-?\d+)\]")
_MISSING = object()
# Set while a node of a `template_resolution_mode: permissive` workflow is resolved: the
# expressions that did not resolve are noted here and stay as their own text (see `lenient`).
_LEFT_AS_TEXT: ContextVar[list[str] | None] = ContextVar("left_as_text", default=None)


class TemplateError(ValueError):
    """Base of template errors; `template` is the text that failed."""

    def __init__(self, message: str, template: str = "") -> None:
        super().__init__(message)
        self.template = template


class TemplateSyntaxError(TemplateError):
    """The template text cannot be parsed."""


class UnresolvedError(TemplateError, LookupError):
    """A reference names a value that does not exist (and no `??` fallback applies)."""


@dataclass(frozen=True)
class Ref:
    """A reference such as `node.key[0].sub`: `name` plus a path of keys (str) and indexes (int)."""

    name: str
    path: tuple[str | int | Expr, ...] = ()

    def __str__(self) -> str:
        out = self.name
        for part in self.path:
            if isinstance(part, Expr):
                out += "[${" + " ?? ".join(map(str, part.alternatives)) + "}]"
            else:
                out += f"[{part}]" if isinstance(part, int) else f".{part}"
        return out

    def inner_refs(self) -> list[Ref]:
        """References inside dynamic indexes (`arr[${i}]`), depth first."""
        return [r for part in self.path if isinstance(part, Expr) for r in part.refs()]


@dataclass(frozen=True)
class Expr:
    """`ref ?? ref ?? "literal"`: the first alternative that resolves to a non-null value."""

    alternatives: tuple[Ref | Literal, ...]

    def refs(self) -> list[Ref]:
        """The references among the alternatives, each followed by those in its indexes."""
        return [r for alt in self.alternatives if isinstance(alt, Ref) for r in (alt, *alt.inner_refs())]


@dataclass(frozen=True)
class Literal:
    value: Any


Segment = str | Expr


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text segments and expressions, in order."""

    segments: tuple[Segment, ...]

    @property
    def is_whole(self) -> bool:
        """True when the template is one expression and nothing else (it keeps its type)."""
        return len(self.segments) == 1 and isinstance(self.segments[0], Expr)

    def refs(self) -> list[Ref]:
        """Every reference, including those inside dynamic indexes."""
        return [r for seg in self.segments if isinstance(seg, Expr) for r in seg.refs()]


PARSED_KEPT = 4096  # parsed templates kept per process (a workflow's are parsed again for every node run and case)
CACHED_LENGTH = 4096  # longer texts are parsed each time, not kept


def parse(text: str) -> Template:
    """Parse template text. Raises `TemplateSyntaxError` naming the offset of the problem.

    A Template is immutable (its literals are copied when resolved), so one parse of a text
    serves every later call: validation, then every run of the node in every case."""
    return _parse_kept(text) if len(text) <= CACHED_LENGTH else _parse(text)


@functools.lru_cache(maxsize=PARSED_KEPT)
def _parse_kept(text: str) -> Template:
    return _parse(text)


def _parse(text: str) -> Template:
    segments: list[Segment] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$${", i):
            end = _matching_brace(text, i + 2)
            buf.append(text[i + 1 : end + 1])
            i = end + 1
        elif text.startswith("${", i):
            end = _matching_brace(text, i + 1)
            if buf:
                segments.append("".join(buf))
                buf = []
            segments.append(_parse_expr(text[i + 2 : end].strip(), text))
            i = end + 1
        else:  # literal text up to the next `$` (or the end), taken whole
            nxt = text.find("$", i + 1)
            nxt = len(text) if nxt < 0 else nxt
            buf.append(text[i:nxt])
            i = nxt
    if buf:
        segments.append("".join(buf))
    return Template(tuple(segments))


def _matching_brace(text: str, open_at: int) -> int:
    """Index of the `}` closing the `{` at `open_at`, skipping quoted strings."""
    depth, i, quote = 0, open_at, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise TemplateSyntaxError(f"unclosed '${{' at offset {open_at - 1}", text)


def _parse_expr(body: str, text: str) -> Expr:
    if not body:
        raise TemplateSyntaxError("empty '${}'", text)
    parts = _split_fallbacks(body)
    alternatives: list[Ref | Literal] = []
    for n, part in enumerate(parts):
        part = part.strip()
        if not part:
            raise TemplateSyntaxError(f"empty alternative in '${{{body}}}'", text)
        if n > 0 and (part[0] in "\"'-0123456789[{" or part in ("true", "false", "null")):
            alternatives.append(Literal(_parse_literal(part, text)))
        else:
            alternatives.append(_parse_ref(part, text))
    return Expr(tuple(alternatives))


def _split_fallbacks(body: str) -> list[str]:
    parts, start, i, quote = [], 0, 0, ""
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif body.startswith("??", i):
            parts.append(body[start:i])
            start = i + 2
            i += 1
        i += 1
    parts.append(body[start:])
    return parts


def _parse_literal(part: str, text: str) -> Any:
    if part.startswith("'") and part.endswith("'") and len(part) >= 2:
        return part[1:-1]
    try:
        return json.loads(part)
    except json.JSONDecodeError:
        raise TemplateSyntaxError(f"bad default literal {part!r}", text) from None


def _parse_ref(part: str, text: str) -> Ref:
    m = _NAME.match(part)
    if not m:
        raise TemplateSyntaxError(f"bad reference {part!r}: expected a name", text)
    name, i = m.group(), m.end()
    path: list[str | int] = []
    while i < len(part):
        if part[i] == ".":
            k = _KEY.match(part, i + 1)
            if not k:
                raise TemplateSyntaxError(f"bad reference {part!r}: expected a key after '.'", text)
            path.append(k.group())
            i = k.end()
        elif part.startswith("[${", i):
            end = _matching_brace(part, i + 2)
            if not part.startswith("]", end + 1):
                raise TemplateSyntaxError(f"bad reference {part!r}: expected ']' after a dynamic index", text)
            path.append(_parse_expr(part[i + 3 : end].strip(), text))
            i = end + 2
        elif part[i] == "[":
            k = _INDEX.match(part, i)
            if not k:
                raise TemplateSyntaxError(f"bad reference {part!r}: expected [<integer>]", text)
            path.append(int(k.group(1)))
            i = k.end()
        else:
            raise TemplateSyntaxError(f"bad reference {part!r}: unexpected {part[i]!r}", text)
    return Ref(name, tuple(path))


def lookup(ref: Ref, scope: dict[str, Any]) -> Any:
    """Walk `ref` through `scope`; returns the sentinel `_MISSING` when any step is absent."""
    value = scope.get(ref.name, _MISSING)
    for part in ref.path:
        if value is _MISSING:
            return _MISSING
        if isinstance(part, Expr):
            try:
                part = resolve_expr(part, scope)
            except UnresolvedError:
                return _MISSING
            if isinstance(part, str) and part.lstrip("-").isdigit():
                part = int(part)
            elif not isinstance(part, (str, int)) or isinstance(part, bool):
                return _MISSING
        if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except (json.JSONDecodeError, RecursionError):  # too deep to walk: as not JSON
                return _MISSING
        if isinstance(part, int):
            if isinstance(value, list) and -len(value) <= part < len(value):
                value = value[part]
            else:
                return _MISSING
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def resolve_expr(expr: Expr, scope: dict[str, Any], text: str = "") -> Any:
    """The value of one parsed `${...}` expression; `text` is the template, for errors.

    Alternatives are tried in order; the first that exists wins, even when its value is null
    (as in pflow: a found null stops a `??` chain). A literal always exists."""
    for alt in expr.alternatives:
        if isinstance(alt, Literal):  # parsed once and shared: a list or object is copied, so no caller can change it
            return copy.deepcopy(alt.value) if isinstance(alt.value, (dict, list)) else alt.value
        value = lookup(alt, scope)
        if value is not _MISSING:
            return value
    source = "${" + " ?? ".join(map(str, expr.alternatives)) + "}"
    left = _LEFT_AS_TEXT.get()
    if left is not None:
        left.append(source)
        return source
    raise UnresolvedError(f"'{source}' does not resolve", text)


@contextmanager
def lenient(enabled: bool = True) -> Iterator[list[str]]:
    """pflow's `template_resolution_mode: permissive`: inside the block, an expression that does
    not resolve is not an error; it stays as its own text (`${a.missing}`), and the list
    yielded names each one, for a warning. With `enabled` false, resolution stays strict."""
    if not enabled:
        yield []
        return
    left: list[str] = []
    token = _LEFT_AS_TEXT.set(left)
    try:
        yield left
    finally:
        _LEFT_AS_TEXT.reset(token)


def to_text(value: Any) -> str:
    """How a value reads when embedded in a longer string, as pflow renders it: strings as they
    are, null as "", objects and arrays as JSON, booleans and numbers as Python prints them
    (`True`, `3.0`)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def resolve(text: str, scope: dict[str, Any]) -> Any:
    """Resolve one template string against `scope` (input names and node ids → values)."""
    template = parse(text)
    if template.is_whole or (len(template.segments) == 2 and isinstance(template.segments[0], Expr) and template.segments[1] == "\n"):
        return resolve_expr(template.segments[0], scope, text)  # type: ignore[arg-type]
    return "".join(seg if isinstance(seg, str) else to_text(resolve_expr(seg, scope, text)) for seg in template.segments)


def resolve_value(value: Any, scope: dict[str, Any]) -> Any:
    """Resolve every template string inside a JSON-like value (dict keys are left as written)."""
    if isinstance(value, str):
        return resolve(value, scope) if "${" in value else value
    if isinstance(value, dict):
        return {k: resolve_value(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v, scope) for v in value]
    return value


def find_refs(value: Any) -> list[Ref]:
    """Every reference in a JSON-like value, in order. Raises `TemplateSyntaxError`."""
    if isinstance(value, str):
        return parse(value).refs() if "${" in value else []
    if isinstance(value, dict):
        return [r for v in value.values() for r in find_refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in find_refs(v)]
    return []
