"""The `flowtape` command. Each command lives in its own module and calls the library; heavy
libraries (litellm, the mcp SDK) are imported only by the commands that need them.

Startup is kept small: this module imports no third-party package. Running a command builds a
typer app (`_app.build_app`) holding only that command, so the other command modules are not
imported nor their signatures turned into click parameters; anything else (`flowtape`,
`--version`, a mistyped command) builds the whole app. A `--help` is printed from `_help`'s
cache when the same help was rendered before (then typer and rich are not imported at all).
`flowtape test|compare -w N` starts the forkserver its workers come from first (`harness._forkserver`).

    from harness._cli.main import app    # the whole app, e.g. for typer's CliRunner
"""

from __future__ import annotations

import sys
from typing import Any

# The commands and groups by name (kept in step with `_app.COMMANDS` and `_app.GROUPS`, which a
# test checks): known here without importing typer.
NAMES = frozenset({"init", "validate", "run", "record", "author", "test", "rescore", "compare", "gate", "report", "diff", "schema",
                   "ledger", "cassettes"})


def __getattr__(name: str) -> Any:
    if name == "app":  # built on first use, so that importing this module stays cheap
        from harness._cli._app import build_app

        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _run(only: str | None) -> None:
    from harness._cli._app import build_app

    build_app(only)()


def main() -> None:
    argv = sys.argv[1:]
    from harness import _forkserver

    if _forkserver.asked_for(argv):  # its workers' imports start now, beside typer's and the suite's
        _forkserver.start()
    only = argv[0] if argv and argv[0] in NAMES else None
    if argv and argv[-1] == "--help":
        from harness._cli import _help

        if _help.is_help(argv, NAMES):
            _help.serve(argv, lambda: _run(only))
            return
    _run(only)


if __name__ == "__main__":
    main()
