"""What one sandbox may use in total: processes and memory, through cgroups where this process
may make them, else only per-process rlimits (and the result says what is not enforced). A jail
runs one script at a time, so its caps are that script's (`limit` sets them before each).

Why cgroups: rlimits are per process (RLIMIT_AS: six children of 400 MiB each pass a 512 MiB
cap) or per user (RLIMIT_NPROC, which the kernel does not apply to root, and everything in the
sandbox runs as root when the harness does). A child cgroup of our own, for the pids and the
memory controllers (cgroup v1 or v2), holds the whole sandbox: `pids.max` caps its processes,
the memory limit its RAM, tmpfs pages included (swap too where the controller has it).

The sandbox joins them before it starts: `wrapper()` is a `sh` that writes its own pid into each
`cgroup.procs` and then execs the jail, so no process of the sandbox ever runs outside them
(`preexec_fn` would do it too, but is unsafe in the threaded harness).

    with Budget(memory_bytes=512 << 20, processes=64) as budget:
        argv = [*budget.wrapper(), *jail_argv]
        ...
        budget.limit(memory_bytes=256 << 20, processes=16)   # the caps of the next run in them
        budget.oom_kills()    # how many processes the kernel has killed in them for memory
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["JOIN_FAILED", "Budget", "owner_gone"]

_PREFIX = "flowtape-sandbox-"  # + the harness's pid + "-" + a random suffix
JOIN_FAILED = "flowtape-sandbox: cannot join cgroup"  # the wrapper's stderr when it cannot
_JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || { echo "%s $1" >&2; exit 125; }; shift; done; shift; exec "$@"' % JOIN_FAILED


class Budget:
    """The cgroups of one run (none where they cannot be made), removed on exit, everything in
    them killed first. `unenforced` names each limit that could not be set up."""

    def __init__(self, *, memory_bytes: int, processes: int) -> None:
        self.memory_bytes, self.processes = memory_bytes, processes
        self.groups: list[Path] = []
        self.unenforced: tuple[str, ...] = ()
        self._memory: Path | None = None
        self._controllers: dict[str, Path] = {}  # where each controller's limits were written

    def __enter__(self) -> Budget:
        name = f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        parents = _own_cgroups()
        _sweep(parents)
        done = {"pids": self._make(parents.get("pids"), name, "pids"),
                "memory": self._make(parents.get("memory"), name, "memory")}
        missing = []
        if not done["pids"]:
            missing.append(f"total processes (a pids cgroup cannot be made here; RLIMIT_NPROC={self.processes} instead"
                           + (", which the kernel does not apply to root)" if os.geteuid() == 0 else ")"))
        if not done["memory"]:
            missing.append("total memory (a memory cgroup cannot be made here; the cap is per process, RLIMIT_AS)")
        self.unenforced = tuple(missing)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def wrapper(self) -> list[str]:
        """The command prefix that puts the sandbox in the cgroups before anything of it runs."""
        if not self.groups:
            return []
        return ["/bin/sh", "-c", _JOIN, "flowtape-sandbox", *(str(g / "cgroup.procs") for g in self.groups), "--"]

    def limit(self, *, memory_bytes: int, processes: int) -> None:
        """Set the caps for the next run in these cgroups (a jail runs one script at a time)."""
        if (memory_bytes, processes) == (self.memory_bytes, self.processes):
            return
        self.memory_bytes, self.processes = memory_bytes, processes
        for controller, group in self._controllers.items():
            self._write_limits(group, controller)

    def oom_kills(self) -> int:
        """How many processes of the sandbox the kernel has killed for going over the memory limit."""
        if self._memory is None:
            return 0
        for events in ("memory.events", "memory.oom_control"):  # v2, v1
            try:
                for line in (self._memory / events).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
            except (OSError, ValueError):
                continue
        return 0

    def close(self, deadline: float = 5.0) -> None:
        """Kill whatever is left in the cgroups and remove them (for at most `deadline` seconds)."""
        until = time.monotonic() + deadline
        for group in reversed(self.groups):
            while group.exists() and time.monotonic() < until:
                try:
                    (group / "cgroup.kill").write_text("1")  # v2: kills all at once
                except OSError:
                    pass
                try:
                    pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
                except OSError:
                    pids = []
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    group.rmdir()
                except OSError:
                    time.sleep(0.01)  # processes still exiting
        self.groups = [g for g in self.groups if g.exists()]

    def _make(self, parent: Path | None, name: str, controller: str) -> bool:
        if parent is None:
            return False
        group = parent / name
        if group not in self.groups:
            try:
                group.mkdir()
            except OSError:
                return False
            self.groups.append(group)
        wrote = self._write_limits(group, controller)
        if wrote:
            self._controllers[controller] = group
            if controller == "memory":
                self._memory = group
        return wrote

    def _write_limits(self, group: Path, controller: str) -> bool:
        limits = {"pids": [("pids.max", str(self.processes))],
                  "memory": [("memory.max", str(self.memory_bytes)), ("memory.swap.max", "0"),  # v2
                             ("memory.limit_in_bytes", str(self.memory_bytes)),  # v1, then its swap+memory limit
                             ("memory.memsw.limit_in_bytes", str(self.memory_bytes))]}[controller]
        wrote = False
        for file, value in limits:
            if (group / file).exists():
                try:
                    (group / file).write_text(value)
                except OSError:
                    if file in ("pids.max", "memory.max", "memory.limit_in_bytes"):
                        return False
                    continue
                wrote = wrote or file in ("pids.max", "memory.max", "memory.limit_in_bytes")
        return wrote


_swept: set[Path] = set()


def _sweep(parents: dict[str, Path]) -> None:
    """Remove the cgroups of harness processes that no longer exist (one killed with SIGKILL
    cannot remove its own), killing what is left in them first (its jails die with it, a moment
    later); once per parent folder and process."""
    for parent in set(parents.values()) - _swept:
        _swept.add(parent)
        try:
            entries = [Path(e.path) for e in os.scandir(parent) if e.name.startswith(_PREFIX)]
        except OSError:
            continue
        orphans = Budget(memory_bytes=0, processes=0)
        orphans.groups = [e for e in entries if owner_gone(e.name, _PREFIX)]
        orphans.close(deadline=1.0)


def owner_gone(name: str, prefix: str) -> bool:
    """Whether `name` (`<prefix><pid>-...`, as this harness names its cgroups and jail folders)
    belongs to a harness process that no longer exists."""
    pid = name[len(prefix):].split("-")[0]
    return pid.isdigit() and not os.path.exists(f"/proc/{pid}")


def _own_cgroups() -> dict[str, Path]:
    """This process's own cgroup folder for the `pids` and `memory` controllers (v1 or v2)."""
    try:
        membership = Path("/proc/self/cgroup").read_text().splitlines()
        mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return {}
    paths: dict[str, str] = {}  # controller ("" for v2) -> our path in that hierarchy
    for line in membership:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    found: dict[str, Path] = {}
    for line in mountinfo:
        left, _, right = line.partition(" - ")
        fields, kind = left.split(), right.split()
        if len(fields) < 5 or len(kind) < 3:
            continue
        root, point, fstype, options = fields[3], fields[4], kind[0], kind[2].split(",")
        for controller in ("pids", "memory"):
            if fstype == "cgroup" and controller in options:
                key = controller
            elif fstype == "cgroup2" and controller not in found:
                key = ""
            else:
                continue
            path = paths.get(key)
            if path is None or not (path == root or path.startswith(root.rstrip("/") + "/")):
                continue
            folder = Path(point) / os.path.relpath(path, root)
            if key == "":  # v2: only a controller our parent hands down to us
                try:
                    if controller not in (folder / "cgroup.controllers").read_text().split():
                        continue
                except OSError:
                    continue
            found[controller] = folder
    return found
