"""Deny the sandbox the network: a new network namespace, proven to work before first use.

A process in a fresh network namespace sees only a loopback interface that is down: no route
anywhere, no DNS, and not even the harness's own sockets on 127.0.0.1. Two ways to get one:

1. `unshare --net --map-root-user`: a new user namespace too. Works for root and, where user
   namespaces are enabled, for anyone. Preferred: the script holds capabilities only inside its
   own namespaces, so it cannot join the host's network namespace back (`setns`) nor raise the
   hard memory limit.
2. As root without user namespaces, `unshare --net` then `setpriv` dropping every capability.
   A bare `unshare --net` is NOT enough for root: with CAP_SYS_ADMIN the script could `setns()`
   into `/proc/<harness pid>/ns/net` and be back on the network.

A way counts only after a probe run through it shows both denials: `setns` into the harness's
namespace fails, and connecting to a port the harness is listening on fails. When no way passes,
nothing runs: `sandbox_prefix()` raises `SandboxError` (fail closed, never unsandboxed).

    network_denied()    # True here; the probe runs once per process
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading

__all__ = ["SandboxError", "minimal_env", "network_denied", "sandbox_prefix"]

SYSTEM_PATH = "/usr/bin:/bin"

_PROBE = r"""
import ctypes, os, socket, sys
port, pid = int(sys.argv[1]), sys.argv[2]
try:
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) == 0:  # CLONE_NEWNET
        print("setns into the harness's network namespace succeeded"); sys.exit(3)
except OSError:
    pass
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
except OSError:
    print("denied"); sys.exit(0)
print(f"connected to the harness on 127.0.0.1:{port}"); sys.exit(3)
"""

_lock = threading.Lock()
_verdicts: dict[tuple[tuple[str, ...], ...], tuple[list[str] | None, str]] = {}


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this machine, so nothing was run."""


def minimal_env(home: str, **extra: str) -> dict[str, str]:
    """The whole environment a sandboxed process gets: nothing inherited, so no secrets."""
    return {"PATH": SYSTEM_PATH, "HOME": home, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _candidates() -> list[list[str]]:
    """Command prefixes that may put a process in a network namespace, best first."""
    search = f"{SYSTEM_PATH}:/usr/sbin:/sbin"
    unshare, setpriv = shutil.which("unshare", path=search), shutil.which("setpriv", path=search)
    ways = []
    if unshare:
        ways.append([unshare, "--net", "--map-root-user", "--"])
        if setpriv and os.geteuid() == 0:
            ways.append([unshare, "--net", "--", setpriv, "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--"])
    return ways


def sandbox_prefix() -> list[str]:
    """The verified command prefix that runs a program without network access.

    Raises:
        SandboxError: no way to deny network access works here (with each way's failure).
    """
    ways = _candidates()
    key = tuple(tuple(w) for w in ways)
    with _lock:
        if key not in _verdicts:
            _verdicts[key] = _probe_all(ways)
        prefix, why = _verdicts[key]
    if prefix is None:
        raise SandboxError(f"cannot deny network access here: {why}")
    return list(prefix)


def network_denied() -> bool:
    """Whether sandboxed code can be denied the network on this machine (probed once)."""
    try:
        sandbox_prefix()
    except SandboxError:
        return False
    return True


def _probe_all(ways: list[list[str]]) -> tuple[list[str] | None, str]:
    if not ways:
        return None, "util-linux `unshare` not found in /usr/bin or /bin"
    reasons = []
    for way in ways:
        problem = _probe(way)
        if problem is None:
            return way, ""
        reasons.append(f"{shlex.join(way[:-1]) or '(no isolation)'}: {problem}")
    return None, "; ".join(reasons)


def _probe(prefix: list[str]) -> str | None:
    """Run the probe through `prefix` while listening on loopback; None when it was denied."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        argv = [*prefix, sys.executable, "-I", "-c", _PROBE, str(port), str(os.getpid())]
        try:
            done = subprocess.run(argv, env=minimal_env("/"), cwd="/", stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"{type(err).__name__}: {err}"
    said = done.stdout.strip()
    if done.returncode == 0 and said == "denied":
        return None
    lines = [line for line in (said + "\n" + done.stderr).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"probe exited with code {done.returncode}"
