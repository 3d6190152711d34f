"""The forkserver `flowtape test` workers come from, started as early as possible.

Its server imports `harness._preload` (~0.6 s) in a process of its own before it forks a worker,
so starting it early overlaps that with whatever the command does first: `flowtape test -w N`
(and `compare -w N`) starts it from `harness._cli.main` before typer is imported or the suite read,
and `harness.suiterun`'s pool again (a no-op then) as it starts its workers. Standard library only.

    context = start()    # a multiprocessing context; context.Process(...) comes from the server
"""

from __future__ import annotations

from typing import Any

__all__ = ["asked_for", "start"]


def start() -> Any:
    """The forkserver context, its server started now (idempotent)."""
    import multiprocessing
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["harness._preload"])
    forkserver.ensure_running()
    return context


def asked_for(argv: list[str]) -> bool:
    """Whether a command line is `flowtape test` or `compare` with more than one local worker on it."""
    if not argv or argv[0] not in ("test", "compare") or "--help" in argv or any(a == "--executor" or a.startswith("--executor=") for a in argv):
        return False
    for i, arg in enumerate(argv):
        value = None
        if arg in ("-w", "--workers") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-w") and arg[2:].isdigit():
            value = arg[2:]
        if value is not None:
            return value.isdigit() and int(value) > 1
    return False
