"""Python MCP servers in environments of their own.

Many published Python servers pin an `mcp` SDK flowtape's own cannot share (`mcp-server-sqlite`
needs mcp 1.x; flowtape runs 2.x). A server in task.yaml may name the requirements of its own
virtual environment; flowtape creates it once, keyed by those requirements, and runs the server's
`command` from its `bin/`:

    servers:
      sqlite:
        python: [mcp-server-sqlite==2025.4.25, "mcp<2"]   # pip requirements, pinned
        command: mcp-server-sqlite                          # a console script of that environment
        args: [--db-path, "${WORKDIR}/sales.db"]

Environments live in `<project>/.flowtape/envs/<hash of the requirements>/` (or under
`FLOWTAPE_ENVS`), are made only when a server may have to start (recording), never on replay,
and count as made only once pip succeeded (a stamp file, written last): a failed or killed
install is made again from scratch next time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["EnvError", "env_dir", "ensure_env", "server_specs"]

STAMP = ".flowtape-env"


class EnvError(RuntimeError):
    """A server's environment cannot be made (pip failed; its message says why)."""


def envs_root(project: Path) -> Path:
    return Path(os.environ.get("FLOWTAPE_ENVS") or project / ".flowtape" / "envs").resolve()


def env_dir(requirements: list[str], root: Path) -> Path:
    """Where the environment for `requirements` lives: one per distinct set."""
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:16]
    return root / key


def ensure_env(requirements: list[str], root: Path, *, log: Any = None) -> Path:
    """The environment for `requirements`, created (python -m venv, then pip install) when it
    is not there yet. Raises EnvError when pip fails."""
    target = env_dir(requirements, root)
    stamp = "\n".join(requirements) + "\n"
    if (target / STAMP).is_file() and (target / STAMP).read_text() == stamp:
        return target
    # Built in place (console scripts carry their environment's absolute path, so a folder
    # cannot be renamed into place); the stamp is written last, so a failed or killed install
    # has none and is made again from scratch.
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if log:
        log(f"creating the environment for {', '.join(requirements)} in {target} (once)")
    try:
        _run([sys.executable, "-m", "venv", str(target)])
        _run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements])
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    (target / STAMP).write_text(stamp)
    return target


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        tail = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()][-3:]
        raise EnvError(f"{' '.join(argv[:4])} ... failed (exit {done.returncode}): {' / '.join(tail)}")


def server_specs(servers: Mapping[str, Mapping[str, Any]], root: Path, *, create: bool = False, log: Any = None) -> dict[str, dict[str, Any]]:
    """task.yaml's servers in pflow's `mcpServers` shape: a server with `python:` requirements
    runs its `command` from that environment's `bin/` (created first when `create`). Raises
    ValueError for a malformed `python:` entry, EnvError when an environment cannot be made."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in servers.items():
        spec = dict(spec)
        requirements = spec.pop("python", None)
        if requirements is not None:
            if not isinstance(requirements, list) or not requirements or not all(isinstance(r, str) and r.strip() for r in requirements):
                raise ValueError(f"servers.{name}.python: a list of pip requirements, e.g. [mcp-server-sqlite==2025.4.25, 'mcp<2']")
            command = spec.get("command")
            if isinstance(command, str) and command and "/" not in command:
                folder = ensure_env(requirements, root, log=log) if create else env_dir(requirements, root)
                spec["command"] = str(folder / "bin" / command)
        out[name] = spec
    return out
