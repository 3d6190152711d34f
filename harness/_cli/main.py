"""The `flowtape` command. Each command lives in its own module and calls the library; heavy
libraries (litellm, the mcp SDK) are imported only by the commands that need them.

Startup is kept small: this module imports no third-party package. Running a command builds a
typer app (`_app.build_app`) holding only that command, so the other command modules are not
imported nor their signatures turned into click parameters; anything else (`flowtape`,
`--version`, a mistyped command) builds the whole app. A `--help` is printed from `_help`'s
cache when the same help was rendered before (then typer and rich are not imported at all).
`flowtape test|compare -w N` starts the forkserver its workers come from first (`harness._forkserver`).
The console script (`entry`) ends the process without the interpreter's teardown (see `_end`).

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


def entry() -> None:
    """The `flowtape` console script: `main`, then the process ends at once (`_end`)."""
    try:
        main()
    except SystemExit as done:
        _end(done.code)
    _end(0)


def _end(code: object) -> None:
    """Exit with `code` (SystemExit's meaning: None is 0, a string is printed and is 1) after
    the exit handlers and a flush, skipping the interpreter's teardown: freeing every module and
    object a command imported took ~0.2 s of a `flowtape test` (everything that must reach a
    file is closed by its owner or by an exit handler). With a thread still running that is not
    a daemon, the ordinary exit waits for it instead."""
    import threading

    if any(t is not threading.main_thread() and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code or 0)


if __name__ == "__main__":
    entry()
