"""Run one Python script sandboxed: no network, a memory cap, a timeout, a throwaway directory.

The script runs under the harness's own interpreter (so it sees the same Python), in a new
network namespace (see `_netns`), in a fresh temporary working directory that is removed
afterwards, with a minimal environment (nothing inherited: no API keys, no tokens). Calls it
makes to the harness travel as JSON lines over a pipe pair it inherits; `handler` answers each.

    result = run_script(Path("baseline.py"), handler=answer, pythonpath=stubs, timeout=10)
    result.ended, result.exit_code, result.stdout

The interpreter starts isolated (`-I`: no PYTHON* variables, no user site) and runs
`_bootstrap.py`, which sets the memory cap (RLIMIT_AS, soft and hard) and sys.path, then runs
the script. Why not `preexec_fn`: the harness has threads (the MCP client's event loop), and
`preexec_fn` is documented as unsafe with threads. Inside the new user namespace (or with
capabilities dropped) the script cannot raise the hard limit again.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from harness.codeexec._bootstrap import MEMORY_EXIT
from harness.codeexec._netns import SandboxError, minimal_env, sandbox_prefix

__all__ = ["RPC_FDS_ENV", "Ended", "Handler", "SandboxError", "SandboxResult", "run_script"]

Ended = Literal["ok", "timeout", "memory", "crash"]
Handler = Callable[[dict[str, Any]], dict[str, Any]]

RPC_FDS_ENV = "FLOWTAPE_RPC_FDS"  # "<fd the script reads answers from>,<fd it writes requests to>"
MAX_REQUEST = 32 << 20  # bytes in one request line; more is a misbehaving script
MAX_OUTPUT = 8 << 20  # bytes of stdout / stderr kept

_BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended. `ended`: `ok` (exit 0), `timeout`, `memory` (the cap was hit:
    MemoryError, or killed by SIGKILL not of our doing), `crash` (any other non-zero exit or
    signal). `exit_code` is negative for a signal, as in subprocess. `detail` says more when
    the harness stopped the script (a malformed request)."""

    stdout: str
    stderr: str
    exit_code: int | None
    ended: Ended
    duration_ms: float
    detail: str = ""


def run_script(script: Path, *, handler: Handler | None = None, pythonpath: Path | None = None,
               timeout: float = 60.0, memory_mb: int = 512) -> SandboxResult:
    """Run `script` sandboxed and wait for it (at most `timeout` seconds of wall time, the
    handler's time included), answering its requests with `handler`.

    Raises:
        SandboxError: network access cannot be denied here; nothing was run.
    """
    prefix = sandbox_prefix()
    script = Path(script).resolve()
    workdir = tempfile.mkdtemp(prefix="flowtape-code-")
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    env = minimal_env(workdir, TMPDIR=workdir, **{RPC_FDS_ENV: f"{resp_r},{req_w}"}, **({"PYTHONPATH": str(pythonpath)} if pythonpath else {}))
    argv = [*prefix, sys.executable, "-I", str(_BOOTSTRAP), str(memory_mb << 20), str(script)]
    started = time.monotonic()
    proc = None
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    pass_fds=(resp_r, req_w), start_new_session=True)
            for fd in (resp_r, req_w):
                os.close(fd)
            resp_r = req_w = -1
            ended, detail = _Channel(proc.pid, req_r, resp_w, handler or _no_handler).serve(started + timeout)
            _kill_group(proc.pid)  # the script's own children too; its pid is not reaped yet
            code = proc.wait()
            stdout, stderr = _read(out), _read(err)
    finally:
        for fd in (req_r, req_w, resp_r, resp_w):
            if fd >= 0:
                os.close(fd)
        if proc is not None and proc.returncode is None:
            _kill_group(proc.pid)
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    if ended is None:
        ended = _why(code, stderr)
    return SandboxResult(stdout, stderr, code, ended, (time.monotonic() - started) * 1000, detail)


def _why(code: int, stderr: str) -> Ended:
    if code == 0:
        return "ok"
    lines = stderr.strip().splitlines()
    if code in (MEMORY_EXIT, -signal.SIGKILL) or (lines and lines[-1].startswith("MemoryError")):
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
                            if not self._answer(line, deadline):
                                return "timeout", ""
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
