"""`flowtape [COMMAND ...] --help` served from a cache of what typer and rich printed before.

Rendering help costs ~0.4 s of CPU (importing typer, pydantic and rich, and laying out rich's
panels) for text that only changes when the CLI's code, the libraries or the terminal do. The
first time a help is asked for it is rendered as usual while its output is kept; later the same
bytes are printed without importing typer at all. The key holds everything the output depends
on: the arguments and program name, the source of every module of `harness/_cli`, the versions
of Python, typer, rich and click, whether stdout is a terminal and its size, the working folder,
and every environment variable rich or typer read (`COLUMNS`, `TERM`, `NO_COLOR`, ...). So a
cached help is byte for byte the help typer would print. Only a help that exited 0 is kept; the
cache is `harness._cache`'s folder (`help/`), and any problem with it means rendering as usual.

This module and `harness._cache` import nothing beyond the standard library.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Collection
from typing import Any

__all__ = ["is_help", "serve"]

_WORD = re.compile(r"[a-z][a-z0-9-]*\Z")
# Environment variables that change what rich or typer print (width, colour, terminal, markup).
_ENV = re.compile(r"(COLUMNS|LINES|TERM|COLORTERM|NO_COLOR|FORCE_COLOR|PY_COLORS|CLICOLOR\w*|TTY_\w+|TERMINAL_WIDTH|_?TYPER_\w+|"
                  r"GITHUB_ACTIONS|JUPYTER_\w+|DATABRICKS_RUNTIME_VERSION|VSCODE_\w+|LANG|LANGUAGE|LC_\w+|PYTHONIOENCODING|PYTHONUTF8|"
                  r"COMP_\w+|_\w+_COMPLETE)\Z")
_LIBRARIES = ("typer", "rich", "click")


def is_help(argv: list[str], commands: Collection[str]) -> bool:
    """Whether `argv` only asks for help: `--help`, `COMMAND --help`, `GROUP COMMAND --help`."""
    return bool(argv) and argv[-1] == "--help" and len(argv) <= 3 and all(
        _WORD.match(word) for word in argv[:-1]) and (len(argv) == 1 or argv[0] in commands)


def _key(argv: list[str]) -> str | None:
    from importlib.util import find_spec

    here = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    try:
        for name in sorted(os.listdir(here)):
            if name.endswith(".py"):
                with open(os.path.join(here, name), "rb") as source:
                    digest.update(name.encode() + b"\0" + source.read() + b"\0")
        for library in _LIBRARIES:
            spec = find_spec(library)
            origin = spec.origin if spec is not None else None
            stat = os.stat(origin) if origin else None
            digest.update(f"{library}={origin}:{stat.st_mtime_ns if stat else ''}:{stat.st_size if stat else ''}\0".encode())
        tty = sys.stdout.isatty()
        size = os.get_terminal_size(sys.stdout.fileno()) if tty else None
        cwd = os.getcwd()
    except (OSError, ValueError, ImportError):
        return None
    main = sys.modules.get("__main__")
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    env = sorted((k, v) for k, v in os.environ.items() if _ENV.match(k))
    parts: list[Any] = [argv, sys.argv[0], spec_name, sys.version, sys.executable, tty, size, cwd, env,
                        getattr(sys.stdout, "encoding", None)]
    digest.update(repr(parts).encode())
    return digest.hexdigest()


class _Tee:
    """sys.stdout as rich and click see it (same terminal, same encoding), keeping a copy."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.kept: list[str] = []
        self.whole = True  # False once anything may have gone around the copy

    def write(self, text: str) -> int:
        if isinstance(text, str):
            self.kept.append(text)
        elif text:  # click probes a stream with write(b""); real bytes would not be in the copy
            self.whole = False
        return self._inner.write(text)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # writes through the binary buffer would not be in the copy
            self.whole = False
        return getattr(self._inner, name)


def serve(argv: list[str], render: Callable[[], object]) -> None:
    """Print the help `argv` asks for: from the cache, else by `render()` (which prints it and
    exits), keeping what it printed when it exits 0."""
    from harness._cache import cache_dir

    key, folder = _key(argv), cache_dir()
    path = os.path.join(folder, "help", f"{key}.txt") if key and folder else None
    if path is not None:
        try:
            with open(path, encoding="utf-8", newline="") as cached:
                text = cached.read()
        except (OSError, ValueError):
            text = None
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
    real = sys.stdout
    tee = _Tee(real)
    sys.stdout = tee
    try:
        render()
    except SystemExit as done:
        if done.code in (None, 0) and path is not None and tee.kept and tee.whole:
            _keep(path, "".join(tee.kept))
        raise
    finally:
        sys.stdout = real


def _keep(path: str, text: str) -> None:
    import tempfile

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".help.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
