"""Shared pieces of the CLI commands: `-i` values, user errors (one line, exit 2, no traceback)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer


if TYPE_CHECKING:
    from harness.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class ExecutorName(str, Enum):  # harness.suiterun.Executor's values, for typer (which lists them in --help)
    local = "local"
    ray = "ray"


ExecutorOption = Annotated[ExecutorName, typer.Option("--executor", help="local: this machine's processes (--workers); ray: each (case, approach, model) a Ray task on a Ray cluster (pip install 'flowtape[ray]'; suite, cassettes and fixtures at the same path on every node).")]
AddressOption = Annotated[Optional[str], typer.Option("--address", help="With --executor ray: the cluster, auto (one running on this machine) or ray://host:port (default: RAY_ADDRESS, else a new local cluster).", show_default=False)]


MESSAGE_LIMIT = 1000  # characters of one message line; the rest is cut, with a marker


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one line per message line to stderr, prefixed, each cut to `MESSAGE_LIMIT`
    characters (a value quoted in a message can be megabytes), and exit; never a traceback."""
    from harness._readers import clip

    for line in message.splitlines() or [""]:
        print(f"flowtape: {clip(line, MESSAGE_LIMIT)}", file=sys.stderr)
    raise typer.Exit(code)


def project() -> Settings:
    """The settings of the project the current folder is in (exit 2 when they are invalid).
    A path given on the command line wins; a setting fills in what it leaves out."""
    from harness.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as err:
        fail(str(err))


def parse_inputs(document: Any, pairs: list[str], source: str) -> dict[str, Any]:
    """`NAME=VALUE` pairs parsed by each input's declared type; exit 2 on a bad pair."""
    from runner.inputs import parse_cli_value  # the runner's models: imported by the commands that run, not by --help
    from runner.ir import InputSpec

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
    # pflow: an input declared `stdin: true` and not given is read from piped standard input
    specs = raw_specs if isinstance(raw_specs, dict) else {}
    piped = [n for n, spec in specs.items() if isinstance(spec, dict) and spec.get("stdin") is True and n not in values]
    text = sys.stdin.read() if piped and not sys.stdin.isatty() else ""
    if text:  # nothing piped (an empty or closed stdin): the input is not given
        try:
            values[piped[0]] = parse_cli_value(InputSpec.model_validate(specs[piped[0]]), text.removesuffix("\n"))
        except ValueError as err:
            fail(f"standard input for {piped[0]}: {err} ({source}: $.inputs.{piped[0]})")
    return values
