"""Run one Python script sandboxed: jailed (see `_jail`), budgeted (see `_budget`), timed out.

The script runs under the harness's own interpreter binary (so it sees the same Python) in a
bubblewrap jail: new namespaces, no network, a read-only view of the interpreter and nothing of
the host's files or processes, a private size-capped /tmp as its working directory, no
environment inherited (no API keys, no tokens). Its processes and memory are capped in total by
cgroups where they can be made, and per process by rlimits always. Calls it makes to the harness
travel as JSON lines over a pipe pair it inherits; `handler` answers each.

    result = run_script(Path("baseline.py"), handler=answer, pythonpath=stubs, timeout=10)
    result.ended, result.exit_code, result.stdout

A jail is started once and kept (per process, per tmpfs size) for the next script: its
interpreter (`-I`: no PYTHON* variables, no user site) runs `_bootstrap.py`, which forks a child
per script, sets its rlimits, environment and sys.path, and runs it; after it, every process it
left is killed and /tmp and /dev/shm are emptied before the next script may start (what cannot
be put back ends the jail, and a fresh one is started). A script that times out, goes over a
budget or kills the bootstrap ends its jail. So a case costs a fork, not a jail and an
interpreter (`benchmarks/sandbox_start.py`). The harness side never waits without a deadline,
and the script can neither see nor signal it.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from harness.codeexec._bootstrap import MEMORY_EXIT, RPC_FDS, SCRIPT
from harness.codeexec._budget import JOIN_FAILED, Budget, owner_gone
from harness.codeexec._jail import BOOTSTRAP, SCRATCH, STUBS, Mounts, SandboxError, command, interpreter, minimal_env, sandbox_prefix, seccomp_fd

__all__ = ["RPC_FDS_ENV", "Ended", "Handler", "LimitExceeded", "SandboxError", "SandboxResult", "close_sandboxes", "run_script", "warm_sandbox"]

Ended = Literal["ok", "timeout", "memory", "limit", "crash"]
Handler = Callable[[dict[str, Any]], dict[str, Any]]

RPC_FDS_ENV = "FLOWTAPE_RPC_FDS"  # "<fd the script reads answers from>,<fd it writes requests to>"
MAX_REQUEST = 32 << 20  # bytes in one request line; more is a misbehaving script
MAX_OUTPUT = 8 << 20  # bytes of stdout / stderr kept
START_TIMEOUT = 30.0  # seconds a new jail may take to say it is ready

_BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")


class LimitExceeded(RuntimeError):
    """Raised by a handler to stop the script: it went over a budget (too many calls, too much
    data). The run ends `limit`, with this message as its detail."""


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended. `ended`: `ok` (exit 0), `timeout`, `memory` (the cap was hit:
    MemoryError, the kernel's OOM killer, or a SIGKILL not of our doing), `limit` (the handler
    stopped it: `detail` says which budget), `crash` (any other non-zero exit or signal, or the
    jail's bootstrap killed from inside: `exit_code` None). `exit_code` is negative for a
    signal, as in subprocess; a run the harness stopped (timeout, limit) reads -9. `unenforced`
    names the limits this machine could not enforce (no cgroups for a non-root harness)."""

    stdout: str
    stderr: str
    exit_code: int | None
    ended: Ended
    duration_ms: float
    detail: str = ""
    unenforced: tuple[str, ...] = ()


def run_script(script: Path, *, handler: Handler | None = None, pythonpath: Path | None = None, stubs: Mapping[str, str] | None = None,
               timeout: float = 60.0, memory_mb: int = 512, max_processes: int = 64, disk_mb: int = 64) -> SandboxResult:
    """Run `script` sandboxed and wait for it (at most `timeout` seconds of wall time, the
    handler's time included), answering its requests with `handler`.

    Args:
        pythonpath: the folder of the generated stubs; its contents appear read-only inside.
        stubs: the same as files ({relative path: text}, from `stub_files`), written where the
            jail sees them with their bytecode compiled once per text (instead of `pythonpath`).
        memory_mb: the memory of the whole sandbox (cgroup) and of each process (RLIMIT_AS).
        max_processes: the processes of the whole sandbox (pids cgroup; RLIMIT_NPROC for non-root).
        disk_mb: the size of each private tmpfs (/tmp, /dev/shm) and of any file written,
            stdout and stderr included (RLIMIT_FSIZE).

    Raises:
        SandboxError: the script cannot be jailed here; nothing was run.
        OSError: the script cannot be read.
    """
    prefix = sandbox_prefix()
    script = Path(script).resolve()
    started = time.monotonic()
    env = minimal_env(SCRATCH, TMPDIR=SCRATCH, **{RPC_FDS_ENV: ",".join(map(str, RPC_FDS))}, **({"PYTHONPATH": STUBS} if pythonpath or stubs is not None else {}))
    header = {"script": str(script), "memory": memory_mb << 20, "file_size": disk_mb << 20, "processes": max_processes, "env": env}
    for fresh in (False, True):  # a kept jail that died before it started the script: once more, in a new one
        jail = _take(prefix, disk_mb << 20, fresh=fresh)
        try:
            jail.stage(script, Path(pythonpath) if pythonpath else None, stubs)
            jail.budget.limit(memory_bytes=memory_mb << 20, processes=max_processes)
        except BaseException:
            jail.close()
            raise
        done = _run_in(jail, header, handler or _no_handler, timeout)
        if done is not None:
            stdout, stderr, code, ended, detail = done
            return SandboxResult(stdout, stderr, code, ended, (time.monotonic() - started) * 1000, detail, jail.budget.unenforced)
    raise SandboxError("the sandbox ended before the script started, twice")


def _run_in(jail: _Jail, header: dict[str, Any], handler: Handler, timeout: float) -> tuple[str, str, int | None, Ended, str] | None:
    """Run the staged script in `jail` and keep or close the jail after it: (stdout, stderr,
    exit code, how it ended, detail), or None if the jail died before the script started."""
    keep, detail, code, begun = False, "", None, False
    kills = jail.budget.oom_kills()
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                socket.send_fds(jail.control, [json.dumps(header).encode()], [out.fileno(), err.fileno(), resp_r, req_w])
            except OSError:
                return None
            os.close(resp_r)
            os.close(req_w)
            resp_r = req_w = -1
            deadline = time.monotonic() + timeout
            channel = _Channel(req_r, resp_w, handler)
            while True:
                ended, detail = channel.serve(deadline, jail.control)
                if ended is not None:  # stopped by us: the jail goes, its PID namespace with it
                    code = -signal.SIGKILL
                    jail.kill()
                    break
                message = jail.receive()
                if message == b"started":
                    begun = True
                    continue
                report = _report(message)
                if report is None and not begun:
                    return None
                if report is None:  # the bootstrap is gone: killed by the script, or by the kernel for memory
                    detail = "the sandbox's bootstrap ended before the script did"
                else:
                    code, keep = report["exit"], bool(report["clean"])
                break
            stdout, stderr = _read(out), _read(err)
    finally:
        for fd in (req_r, req_w, resp_r, resp_w):
            if fd >= 0:
                os.close(fd)
        oom = jail.budget.oom_kills() > kills
        if keep:
            _give_back(jail)
        else:
            jail.close()
    return stdout, stderr, code, ended or _why(code, stderr, oom), detail


def _report(message: bytes) -> dict[str, Any] | None:
    """The bootstrap's word on how the script ended; None for the end of the socket (it is gone)."""
    try:
        report = json.loads(message) if message else None
    except ValueError:
        return None
    return report if isinstance(report, dict) and "exit" in report else None


def warm_sandbox(disk_mb: int = 64) -> None:
    """Start a jail for this process's next script now, without waiting for it: its interpreter
    starts while this process does other work (a `flowtape test` worker, before its first case).
    Does nothing where the sandbox cannot be set up (the script's run will say why)."""
    try:
        prefix = sandbox_prefix()
        jail = _Jail(prefix, disk_mb << 20)
    except (SandboxError, OSError):
        return
    _give_back(jail)


def close_sandboxes() -> None:
    """Stop every jail this process keeps for its next scripts (also done at exit)."""
    with _lock:
        jails = [j for idle in _idle.values() for j in idle] if _owner == os.getpid() else []
        _idle.clear()
    for jail in jails:
        jail.close()


class _Jail:
    """A started jail whose bootstrap runs one script at a time (see `_bootstrap`), in its own
    cgroups, with a host folder of its own (`script/`, `stubs/`) that it sees read-only."""

    def __init__(self, prefix: list[str], scratch_bytes: int) -> None:
        _sweep_folders()
        self.key = (tuple(prefix), scratch_bytes)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{_FOLDER}{os.getpid()}-"))
        for part in ("script", "stubs"):
            (self.folder / part).mkdir()
        self.staged: set[str] = set()  # files in stubs/ ({"?"}: a copied folder, whatever it held)
        self.written: dict[str, str] = {}  # the text of each file in stubs/, as written last
        self.seen_ready = False  # a new jail may take START_TIMEOUT to say it is ready
        self.budget = Budget(memory_bytes=512 << 20, processes=64).__enter__()
        self.log = tempfile.TemporaryFile()  # the bootstrap's own output: why it did not start
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        seccomp = seccomp_fd()
        argv = [*self.budget.wrapper(), *command(prefix, Mounts(self.folder, _BOOTSTRAP, scratch_bytes, seccomp),
                                                 [interpreter(), "-I", BOOTSTRAP, str(theirs.fileno())])]
        try:
            self.proc: subprocess.Popen[bytes] | None = _spawn(
                argv, cwd="/", env=minimal_env(SCRATCH), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                pass_fds=(theirs.fileno(),) if seccomp is None else (theirs.fileno(), seccomp), start_new_session=True)
        except OSError:
            self.proc = None
            self.close()
            raise
        finally:
            theirs.close()
            if seccomp is not None:
                os.close(seccomp)

    def ready(self, timeout: float) -> bool:
        """Whether the bootstrap says it is ready for a script within `timeout` seconds (and its
        jail is still running: a `ready` sent before it died may still be in the socket)."""
        try:
            said = select.select([self.control], [], [], timeout)[0] != [] and self.control.recv(64) == b"ready"
        except OSError:
            return False
        return said and self.proc is not None and self.proc.poll() is None

    def why_not_started(self) -> str:
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read(1 << 16).decode("utf-8", "replace").splitlines() if line.strip()]
        if lines and lines[0].startswith(JOIN_FAILED):
            return lines[0]
        return f"the sandbox did not start: {lines[-1] if lines else 'no reason given'}"

    def stage(self, script: Path, folder: Path | None, files: Mapping[str, str] | None) -> None:
        """Put the next script and its stubs (a folder to copy, or files) where the jail sees them."""
        shutil.copyfile(script, self.folder / "script" / os.path.basename(SCRIPT))
        stubs = self.folder / "stubs"
        wanted = set(files or ())
        wanted |= {_pyc(name) for name in wanted if name.endswith(".py")}
        for stale in self.staged - wanted:  # what the last script's stubs had and these do not
            (stubs / stale).unlink(missing_ok=True)
        if folder is not None or self.staged == {"?"}:
            for entry in os.scandir(stubs):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            self.staged, self.written = set(), {}
        if folder is not None:
            shutil.copytree(folder, stubs, dirs_exist_ok=True)
            self.staged = {"?"}  # unknown files: the next stage clears the folder
            return
        for name, text in (files or {}).items():
            if self.written.get(name) == text:
                continue  # as the last script had it (the server modules, usually)
            path = stubs / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            if name.endswith(".py"):
                cached = stubs / _pyc(name)
                cached.parent.mkdir(exist_ok=True)
                cached.write_bytes(_bytecode(text, f"{STUBS}/{name}"))
            self.written[name] = text
        self.staged = wanted
        self.written = {name: text for name, text in self.written.items() if name in wanted}

    def receive(self) -> bytes:
        """The bootstrap's next message (b"" when it is gone)."""
        try:
            return self.control.recv(1 << 16)
        except OSError:
            return b""

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            _kill_group(self.proc.pid)
            _wait(self.proc)

    def close(self) -> None:
        self.kill()
        self.control.close()
        self.budget.close()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_FOLDER = "flowtape-jail-"  # + the harness's pid + "-" + a random suffix, in the temporary folder
_lock = threading.Lock()
_idle: dict[tuple[Any, ...], list[_Jail]] = {}
_owner = os.getpid()
_swept = False


def _take(prefix: list[str], scratch_bytes: int, fresh: bool = False) -> _Jail:
    """A jail ready for a script: one kept from an earlier script (unless `fresh`), else a new one.

    Raises:
        SandboxError: a new jail did not start (its cgroups could not be joined, bwrap failed).
    """
    key = (tuple(prefix), scratch_bytes)
    while not fresh:
        with _lock:
            _claim()
            jail = _idle[key].pop() if _idle.get(key) else None
        if jail is None:
            break
        if jail.ready(5.0 if jail.seen_ready else START_TIMEOUT):  # emptying /tmp after the last script, or still starting
            jail.seen_ready = True
            return jail
        jail.close()  # it ended itself (something left it could not remove), or died
    jail = _Jail(prefix, scratch_bytes)
    if not jail.ready(START_TIMEOUT):
        why = jail.why_not_started()
        jail.close()
        raise SandboxError(why)
    jail.seen_ready = True
    return jail


def _spawn(argv: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """`subprocess.Popen(argv, **options)` from a thread that lives as long as this process.

    The jail dies with the thread that started it (`setpriv --pdeathsig`, bwrap's
    `--die-with-parent`: the kernel's parent-death signal follows the creating thread), and a
    kept jail must outlive the thread of the script that needed it (a thread pool's, say). So
    jails are started from one long-lived thread, and die with the process, as they should."""
    global _spawner
    with _lock:
        if _spawner is None or _spawner[0] != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            _spawner = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="flowtape-jails"))
        pool = _spawner[1]
    return pool.submit(subprocess.Popen, argv, **options).result()


_spawner: tuple[int, Any] | None = None  # (the pid it belongs to, the executor of one thread)


def _pyc(name: str) -> str:
    """Where the bytecode of the stub file `name` goes, beside it (as the importer looks for it)."""
    path = Path(name)
    return str(path.parent / "__pycache__" / f"{path.stem}.{sys.implementation.cache_tag}.pyc")


@functools.lru_cache(maxsize=256)
def _bytecode(text: str, inside: str) -> bytes:
    """`text` compiled as the jail's interpreter would import it from `inside`, as an unchecked
    hash-based .pyc (PEP 552): the stubs are written with it, so no script compiles them."""
    import importlib.util
    import marshal

    code = compile(text, inside, "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + importlib.util.source_hash(text.encode()) + marshal.dumps(code)


def _give_back(jail: _Jail) -> None:
    """Keep `jail` for this process's next script (a jail made here is this process's, even when
    the module was imported before a fork: a `flowtape test` worker, forked from a server that
    imported it, warms one for its code-approach units)."""
    with _lock:
        _claim()
        _idle.setdefault(jail.key, []).append(jail)


def _claim() -> None:
    """Make the kept jails this process's (with `_lock` held): in a forked child, those it
    inherited are its parent's, and it forgets them."""
    global _owner
    if _owner != os.getpid():
        _idle.clear()
        _owner = os.getpid()


def _sweep_folders() -> None:
    """Remove the jail folders of harness processes that no longer exist (killed with SIGKILL)."""
    global _swept
    if _swept:
        return
    _swept = True
    base = Path(tempfile.gettempdir())
    for entry in base.glob(f"{_FOLDER}*"):
        if owner_gone(entry.name, _FOLDER):
            shutil.rmtree(entry, ignore_errors=True)


atexit.register(close_sandboxes)


def _wait(proc: subprocess.Popen[bytes], deadline: float = 10.0) -> int | None:
    """The jail's exit status; None if even SIGKILL did not end it in time (never seen; never hang)."""
    try:
        return proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        return None


def _why(code: int | None, stderr: str, oom: bool) -> Ended:
    if code == 0:
        return "ok"
    lines = stderr.strip().splitlines()
    if oom or code in (MEMORY_EXIT, -signal.SIGKILL) or (lines and lines[-1].startswith("MemoryError")):
        return "memory"  # an unexplained SIGKILL is the kernel's OOM killer
    return "crash"


class _Channel:
    """The harness end of the pipe pair: read request lines, answer each, watch the clock."""

    def __init__(self, requests: int, answers: int, handler: Handler) -> None:
        self.requests, self.answers, self.handler = requests, answers, handler
        os.set_blocking(answers, False)

    def serve(self, deadline: float, done: Any) -> tuple[Ended | None, str]:
        """Until `done` (the jail's control socket) is readable: the script exited (None); or
        until it must be stopped (the reason and a detail)."""
        watch = [self.requests, done]
        partial: list[bytes] = []  # the chunks of a request line not complete yet
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", ""
            ready, _, _ = select.select(watch, [], [], remaining)
            if self.requests in ready:
                chunk = os.read(self.requests, 1 << 16)
                if not chunk:
                    watch.remove(self.requests)
                elif b"\n" not in chunk:
                    partial.append(chunk)
                    if sum(map(len, partial)) > MAX_REQUEST:
                        return "crash", f"a request was longer than {MAX_REQUEST} bytes"
                else:
                    *lines, rest = b"".join([*partial, chunk]).split(b"\n")
                    partial = [rest] if rest else []
                    for line in lines:
                        try:
                            if not self._answer(line, deadline):
                                return "timeout", ""
                        except LimitExceeded as err:
                            return "limit", str(err)
            elif done in ready:
                return None, ""

    def _answer(self, line: bytes, deadline: float) -> bool:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
        except ValueError as err:
            reply: dict[str, Any] = {"error": f"malformed request: {err}", "error_type": "RuntimeError"}
        else:
            reply = self.handler(request)
        data = memoryview((json.dumps(reply, ensure_ascii=False) + "\n").encode())
        while data:  # the script may not read (yet): never block past the deadline
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not select.select([], [self.answers], [], remaining)[1]:
                continue
            try:
                data = data[os.write(self.answers, data):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                return True  # the script is gone; its exit is seen next
        return True


def _no_handler(request: dict[str, Any]) -> dict[str, Any]:
    return {"error": "no harness is answering calls in this sandbox", "error_type": "RuntimeError"}


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read(handle: Any) -> str:
    handle.seek(0)
    data = handle.read(MAX_OUTPUT + 1)
    text = data[:MAX_OUTPUT].decode("utf-8", "replace")
    return text + ("\n[output truncated]" if len(data) > MAX_OUTPUT else "")
