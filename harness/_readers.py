"""Strict, bounded readers for the files the harness reads: YAML (golden cases, task.yaml,
cassettes), JSON (cassettes) and TOML (the gate policy).

The YAML and JSON readers return JSON values only, and no input can make any of them, or what
runs after them, take minutes or gigabytes: a 500-byte YAML "billion laughs" expands to billions of strings in
the first code that walks it, so aliases are refused at the first one, not capped. What they
refuse, each a `ParseError` with the line and column:

- bytes that are not UTF-8;
- YAML aliases (`*name`) where a value goes, and merge keys (`<<`); anchors alone are harmless
  and ignored, and so is an alias as a key (it is read as a string, see below);
- YAML types JSON lacks (`!!binary`, `!!set`, `!!omap`, `!!pairs`); a YAML date or timestamp
  is read as the text it is written as (JSON has no dates, so that is what it meant);
- a key given twice in one mapping (YAML, JSON; TOML refuses it itself); a YAML key is read
  as the text it is written as (`1:`, `yes:`, `null:` are strings, as JSON keys are);
- nesting deeper than `MAX_DEPTH` (recursive code downstream would overflow the stack);
- integers of more digits than Python converts (~4,300), which would be a bare ValueError.

    data = load_yaml(read_text(path))     # raises ParseError: err.where() is ":line:column"

The YAML loader keeps libyaml's C parser; the checks ride on the constructor's own walk.
"""

from __future__ import annotations

import json
import re
import tomllib
from json.scanner import py_make_scanner
from pathlib import Path
from typing import Any

import yaml

from runner._json import MAX_DEPTH, too_deep_at  # one depth limit for every reader

__all__ = ["MAX_DEPTH", "ParseError", "clip", "decode", "load_json", "load_toml", "load_yaml", "locate_yaml", "read_text"]

VALUE_LIMIT = 200  # characters of a value quoted in a message


class ParseError(ValueError):
    """A document cannot be read; `line` and `column` (1-based) say where, when known."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.line, self.column = problem, line, column

    def where(self) -> str:
        """`":3:7"`, `":3"` or `""`: what follows a file name in a message."""
        if self.line is None:
            return ""
        return f":{self.line}" + (f":{self.column}" if self.column is not None else "")


def clip(value: Any, limit: int = VALUE_LIMIT) -> str:
    """`value` as text, cut to `limit` characters with a marker saying how much was cut, so
    that no value (a million-character key, an expanded structure) makes a long message."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def decode(data: bytes) -> str:
    """UTF-8 text, or a ParseError naming the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line = data.count(b"\n", 0, err.start) + 1
        raise ParseError(f"not UTF-8 (byte 0x{data[err.start]:02x})", line, err.start - line_start + 1) from None


def read_text(path: Path) -> str:
    """The file's text (OSError as open() raises it; ParseError for bytes that are not UTF-8)."""
    return decode(Path(path).read_bytes())


# -- YAML ------------------------------------------------------------------------------------------

_CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"
_NOT_JSON = ("binary", "set", "omap", "pairs")


_LONG_NUMBER = re.compile(r"[0-9a-fA-F_]{4000,}")
_MAX_INT_BITS = 14_000  # ~4,200 decimal digits: what str() and json.dumps can still write


def _too_long(number: str) -> str:
    digits = len(re.sub(r"^[+-]?0[xXoObB]|[_+-]", "", number))
    return f"a number of {digits} digits is too long to read"


def _long_number_error(text: str) -> ParseError:
    """Python refuses to convert integers of more than ~4,300 digits (a plain ValueError from
    inside the parser): the error, placed at the first very long run of digits."""
    match = _LONG_NUMBER.search(text)
    if match is None:
        return ParseError("a number is too long to read")
    return ParseError(_too_long(match.group()), *_line_column(text, match.start()))


def _at(mark: Any, problem: str) -> ParseError:
    return ParseError(problem, mark.line + 1, mark.column + 1) if mark is not None else ParseError(problem)


def _alias_error(text: str) -> ParseError:
    """Where the first alias is, and the anchor it names (found again on this error path only)."""
    anchors: dict[str, Any] = {}
    for event in yaml.parse(text, Loader=_CLoader):
        if isinstance(event, yaml.AliasEvent):
            anchor = anchors.get(event.anchor)
            refers = f" refers to &{clip(event.anchor, 40)} at line {anchor.line + 1}" if anchor is not None else ""
            return _at(event.start_mark, f"YAML aliases are not allowed (*{clip(event.anchor, 40)}{refers}); write the value out")
        if getattr(event, "anchor", None) is not None:
            anchors[event.anchor] = event.start_mark
    return ParseError("YAML aliases are not allowed; write the value out")


class _StrictLoader(_CLoader):  # type: ignore[misc,valid-type]
    """libyaml's parser with a constructor that refuses what `load_yaml` documents.

    A node reached twice is an alias (the composer shares the anchored node); depth is kept per
    collection node as the constructor reaches it."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._text = text
        self._depth: dict[Any, int] = {}

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _alias_error(self._text)
        return super().construct_object(node, deep)

    def _level(self, node: Any) -> int:
        level = self._depth.pop(node, 1)
        if level > MAX_DEPTH:
            raise _at(node.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        return level

    def construct_sequence(self, node: Any, deep: bool = False) -> list[Any]:
        if not isinstance(node, yaml.SequenceNode):
            raise _at(node.start_mark, f"expected a sequence, found {node.id}")
        level = self._level(node) + 1
        for child in node.value:
            if child.id != "scalar":
                self._depth[child] = level
        return [self.construct_object(child, deep=deep) for child in node.value]

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise _at(node.start_mark, f"expected a mapping, found {node.id}")
        level = self._level(node) + 1
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                raise _at(key_node.start_mark, "YAML merge keys (<<) are not allowed; write the keys out")
            if key_node.id != "scalar":
                raise _at(key_node.start_mark, "a key must be a string")
            key = key_node.value  # JSON keys are strings: `1:`, `true:`, `null:` are their text
            if key in mapping:
                raise _at(key_node.start_mark, f"duplicate key {clip(key)!r}")
            if value_node.id != "scalar":
                self._depth[value_node] = level
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: Any) -> int:
        try:
            value = super().construct_yaml_int(node)
        except ValueError:  # more decimal digits than Python converts (sys.get_int_max_str_digits)
            raise _at(node.start_mark, _too_long(str(node.value))) from None
        if value.bit_length() > _MAX_INT_BITS:  # 0x..., 0o...: read, but never printable in decimal
            raise _at(node.start_mark, _too_long(str(node.value)))
        return value

    def construct_timestamp_text(self, node: Any) -> str:
        return str(self.construct_scalar(node))

    def construct_not_json(self, node: Any) -> Any:
        raise _at(node.start_mark, f"YAML type !!{node.tag.rsplit(':', 1)[-1]} is not allowed (not a JSON value)")


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_timestamp_text)
for _tag in _NOT_JSON:
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _StrictLoader.construct_not_json)


def load_yaml(text: str) -> Any:
    """One YAML document as JSON values (see the module docstring for what is refused).

    Raises:
        ParseError: invalid YAML (problem "invalid YAML: ..."), or a refused construct.
    """
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        raise _at(err.problem_mark, f"invalid YAML: {clip(err.problem or str(err))}") from None
    except yaml.YAMLError as err:
        raise ParseError(f"invalid YAML: {clip(str(err))}") from None
    except RecursionError:  # the pure-Python composer, when libyaml is missing
        raise ParseError(f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def locate_yaml(text: str, loc: tuple[Any, ...]) -> tuple[int, int] | None:
    """(line, column) of the deepest node of `loc` (a pydantic error location) that the
    document has: the value itself, or the mapping that lacks the key. None if unreadable."""
    try:
        node = yaml.compose(text, Loader=_CLoader)
    except yaml.YAMLError:
        return None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return (node.start_mark.line + 1, node.start_mark.column + 1) if node is not None else None


# -- JSON ------------------------------------------------------------------------------------------

_JSON_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')
_TOML_STRING_COMMENT_OR_BRACKET = re.compile(r'"""[\s\S]*?"""(?!")|\'\'\'[\s\S]*?\'\'\'(?!\')|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[{]|[\]}]')


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _check_depth(text: str, tokens: re.Pattern[str]) -> None:
    """Bracket depth outside strings (and comments): before a recursive parser sees the text
    (TOML), or to place the error once the parsed value is known to be too deep (JSON)."""
    at = too_deep_at(text, MAX_DEPTH, tokens)
    if at is not None:
        raise ParseError(f"nested deeper than {MAX_DEPTH} levels", *_line_column(text, at))


def _depth(value: Any) -> int:
    """How deeply lists and dicts nest in `value` (iteratively: the value may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                stack.append((child, level + 1))
    return deepest if isinstance(value, (dict, list)) else 0


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key, self.offset = key, -1


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        raise _Duplicate(next(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return mapping


class _LocatingDecoder(json.JSONDecoder):
    """The pure-Python decoder, remembering where the object with a duplicate key starts; used
    only to place that error."""

    def __init__(self) -> None:
        super().__init__(object_pairs_hook=_unique)
        parse = self.parse_object

        def parse_object(s_and_end: tuple[str, int], *args: Any) -> Any:
            try:
                return parse(s_and_end, *args)
            except _Duplicate as dup:
                if dup.offset < 0:
                    dup.offset = s_and_end[1] - 1
                raise

        self.parse_object = parse_object  # type: ignore[assignment]
        self.scan_once = py_make_scanner(self)


def load_json(text: str) -> Any:
    """A JSON document, refusing duplicate keys and nesting deeper than `MAX_DEPTH`.

    Raises:
        ParseError: invalid JSON (problem "invalid JSON: ..."), a duplicate key, or too deep.
    """
    try:
        value = json.loads(text, object_pairs_hook=_unique)
    except json.JSONDecodeError as err:
        raise ParseError(f"invalid JSON: {err.msg}", err.lineno, err.colno) from None
    except _Duplicate as dup:
        try:
            _LocatingDecoder().decode(text)
        except _Duplicate as placed:
            dup = placed
        except RecursionError:
            pass  # too deep for the pure-Python decoder to place it: the key alone, then
        where = _line_column(text, dup.offset) if dup.offset >= 0 else (None, None)
        raise ParseError(f"duplicate key {clip(dup.key)!r}", *where) from None
    except RecursionError:
        too_deep = True
    except ValueError:  # not a JSONDecodeError: an integer of more digits than Python converts
        raise _long_number_error(text) from None
    else:
        too_deep = _depth(value) > MAX_DEPTH
    if too_deep:
        _check_depth(text, _JSON_STRING_OR_BRACKET)
        raise ParseError(f"nested deeper than {MAX_DEPTH} levels")
    return value


# -- TOML ------------------------------------------------------------------------------------------

def load_toml(text: str) -> dict[str, Any]:
    """A TOML document (tomllib refuses duplicate keys), refusing nesting deeper than `MAX_DEPTH`.

    Raises:
        ParseError: invalid TOML (problem "invalid TOML: ..."), or too deep.
    """
    _check_depth(text, _TOML_STRING_COMMENT_OR_BRACKET)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # its message ends "(at line 3, column 7)"
        raise ParseError(f"invalid TOML: {clip(str(err))}") from None
    except ValueError:  # an integer of more digits than Python converts
        raise _long_number_error(text) from None
    except RecursionError:
        raise ParseError(f"nested deeper than {MAX_DEPTH} levels") from None
    stack: list[Any] = [document]
    while stack:  # hex, octal and binary integers convert at any length; printed, they would not
        item = stack.pop()
        if isinstance(item, int) and item.bit_length() > _MAX_INT_BITS:
            raise _long_number_error(text)
        if isinstance(item, (dict, list)):
            stack.extend(item.values() if isinstance(item, dict) else item)
    return document
