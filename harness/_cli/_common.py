"""Shared pieces of the CLI commands: reading a workflow file, `-i` values, user errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from runner.inputs import parse_cli_value
from runner.ir import InputSpec

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


MESSAGE_LIMIT = 1000  # characters of one message line; the rest is cut, with a marker


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one line per message line to stderr, prefixed, each cut to `MESSAGE_LIMIT`
    characters (a value quoted in a message can be megabytes), and exit; never a traceback."""
    from harness._readers import clip

    for line in message.splitlines() or [""]:
        print(f"flowtape: {clip(line, MESSAGE_LIMIT)}", file=sys.stderr)
    raise typer.Exit(code)


def read_json(path: Path, what: str = "workflow") -> Any:
    """Parse a JSON file or exit 2 naming the file and the line and column of the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path}: no such {what} file")
    except IsADirectoryError:
        fail(f"{path}: is a directory, expected a {what} JSON file")
    except (OSError, UnicodeDecodeError) as err:
        fail(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        fail(f"{path}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}")
    except RecursionError:
        from harness._readers import json_depth_error

        err = json_depth_error(text)
        fail(f"{path}{err.where()}: invalid JSON: {err}")


def parse_inputs(document: Any, pairs: list[str], source: str) -> dict[str, Any]:
    """`NAME=VALUE` pairs parsed by each input's declared type; exit 2 on a bad pair."""
    raw_specs = document.get("inputs") if isinstance(document, dict) else None
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            fail(f"-i {pair!r}: expected NAME=VALUE")
        spec = None
        if isinstance(raw_specs, dict) and isinstance(raw_specs.get(name), dict):
            try:
                spec = InputSpec.model_validate(raw_specs[name])
            except ValueError:
                spec = None  # reported by validation with its path
        try:
            values[name] = parse_cli_value(spec, raw)
        except ValueError as err:
            fail(f"-i {name}: {err} ({source}: $.inputs.{name})")
    return values
