"""Run one Python script sandboxed: jailed (see `_jail`), budgeted (see `_budget`), timed out.

The script runs under the harness's own interpreter binary (so it sees the same Python) in a
bubblewrap jail: new namespaces, no network, a read-only view of the interpreter and nothing of
the host's files or processes, a private size-capped /tmp as its working directory, no
environment inherited (no API keys, no tokens). Its processes and memory are capped in total by
cgroups where they can be made, and per process by rlimits always. Calls it makes to the harness
travel as JSON lines over a pipe pair it inherits; `handler` answers each.

    result = run_script(Path("baseline.py"), handler=answer, pythonpath=stubs, timeout=10)
    result.ended, result.exit_code, result.stdout

The interpreter starts isolated (`-I`: no PYTHON* variables, no user site) and runs
`_bootstrap.py`, which sets the rlimits and sys.path, then runs the script. The harness side
never waits without a deadline, and the script can neither see nor signal it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from harness.codeexec._bootstrap import MEMORY_EXIT
from harness.codeexec._budget import JOIN_FAILED, Budget
from harness.codeexec._jail import BOOTSTRAP, SCRATCH, STUBS, Mounts, SandboxError, command, interpreter, minimal_env, sandbox_prefix

__all__ = ["RPC_FDS_ENV", "Ended", "Handler", "LimitExceeded", "SandboxError", "SandboxResult", "run_script"]

Ended = Literal["ok", "timeout", "memory", "limit", "crash"]
Handler = Callable[[dict[str, Any]], dict[str, Any]]

RPC_FDS_ENV = "FLOWTAPE_RPC_FDS"  # "<fd the script reads answers from>,<fd it writes requests to>"
MAX_REQUEST = 32 << 20  # bytes in one request line; more is a misbehaving script
MAX_OUTPUT = 8 << 20  # bytes of stdout / stderr kept

_BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")


class LimitExceeded(RuntimeError):
    """Raised by a handler to stop the script: it went over a budget (too many calls, too much
    data). The run ends `limit`, with this message as its detail."""


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended. `ended`: `ok` (exit 0), `timeout`, `memory` (the cap was hit:
    MemoryError, the kernel's OOM killer, or a SIGKILL not of our doing), `limit` (the handler
    stopped it: `detail` says which budget), `crash` (any other non-zero exit or signal).
    `exit_code` is negative for a signal, as in subprocess (inside, a script that exits with
    128+N reads as killed by signal N, as in a shell). `unenforced` names the limits this
    machine could not enforce (no cgroups for a non-root harness)."""

    stdout: str
    stderr: str
    exit_code: int | None
    ended: Ended
    duration_ms: float
    detail: str = ""
    unenforced: tuple[str, ...] = ()


def run_script(script: Path, *, handler: Handler | None = None, pythonpath: Path | None = None,
               timeout: float = 60.0, memory_mb: int = 512, max_processes: int = 64, disk_mb: int = 64) -> SandboxResult:
    """Run `script` sandboxed and wait for it (at most `timeout` seconds of wall time, the
    handler's time included), answering its requests with `handler`.

    Args:
        pythonpath: the folder of the generated stubs; it appears read-only inside.
        memory_mb: the memory of the whole sandbox (cgroup) and of each process (RLIMIT_AS).
        max_processes: the processes of the whole sandbox (pids cgroup; RLIMIT_NPROC for non-root).
        disk_mb: the size of each private tmpfs (/tmp, /dev/shm) and of any file written,
            stdout and stderr included (RLIMIT_FSIZE).

    Raises:
        SandboxError: the script cannot be jailed here; nothing was run.
    """
    prefix = sandbox_prefix()
    script = Path(script).resolve()
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    env = minimal_env(SCRATCH, TMPDIR=SCRATCH, **{RPC_FDS_ENV: f"{resp_r},{req_w}"}, **({"PYTHONPATH": STUBS} if pythonpath else {}))
    mounts = Mounts(script=script, stubs=Path(pythonpath).resolve() if pythonpath else None, bootstrap=_BOOTSTRAP, scratch_bytes=disk_mb << 20)
    python = [interpreter(), "-I", BOOTSTRAP, str(memory_mb << 20), str(disk_mb << 20), str(max_processes), str(script)]
    started = time.monotonic()
    proc = None
    ended: Ended | None = None
    with Budget(memory_bytes=memory_mb << 20, processes=max_processes) as budget:
        argv = [*budget.wrapper(), *command(prefix, mounts, python)]
        try:
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                proc = subprocess.Popen(argv, cwd="/", env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                        pass_fds=(resp_r, req_w), start_new_session=True)
                for fd in (resp_r, req_w):
                    os.close(fd)
                resp_r = req_w = -1
                ended, detail = _Channel(proc.pid, req_r, resp_w, handler or _no_handler).serve(started + timeout)
                _kill_group(proc.pid)  # the jail; its PID namespace dies with it
                code = _exit_code(_wait(proc))
                stdout, stderr = _read(out), _read(err)
        finally:
            for fd in (req_r, req_w, resp_r, resp_w):
                if fd >= 0:
                    os.close(fd)
            if proc is not None and proc.returncode is None:
                _kill_group(proc.pid)
                _wait(proc)
            oom = budget.oom_killed()
    if code == 125 and stderr.startswith(JOIN_FAILED):
        raise SandboxError(stderr.strip().splitlines()[0])
    if ended is None:
        ended = _why(code, stderr, oom)
    return SandboxResult(stdout, stderr, code, ended, (time.monotonic() - started) * 1000, detail, budget.unenforced)


def _exit_code(raw: int | None) -> int | None:
    """bwrap reports a signal N that ended the script as exit code 128+N; back to -N."""
    if raw is not None and 128 < raw <= 128 + 64:
        return 128 - raw
    return raw


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

    def __init__(self, pid: int, requests: int, answers: int, handler: Handler) -> None:
        self.pid, self.requests, self.answers, self.handler = pid, requests, answers, handler
        os.set_blocking(answers, False)

    def serve(self, deadline: float) -> tuple[Ended | None, str]:
        """Until the script exits (None) or must be stopped (the reason and a detail)."""
        try:  # readable once the process has exited; does not reap it (Linux >= 5.3)
            pidfd = os.pidfd_open(self.pid)
        except OSError:
            pidfd = -1  # older kernels: poll the exit status every 50 ms instead
        try:
            watch = [fd for fd in (self.requests, pidfd) if fd >= 0]
            partial: list[bytes] = []  # the chunks of a request line not complete yet
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout", ""
                ready, _, _ = select.select(watch, [], [], remaining if pidfd >= 0 else min(remaining, 0.05))
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
                elif pidfd in ready or (pidfd < 0 and _exited(self.pid)):
                    return None, ""
        finally:
            if pidfd >= 0:
                os.close(pidfd)

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


def _exited(pid: int) -> bool:
    """Whether `pid` has exited, leaving it unreaped (so its process group id stays ours)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


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
