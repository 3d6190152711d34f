"""The first code a sandbox's interpreter runs: `python -I _bootstrap.py CONTROL_FD`, inside the
jail (see `_jail`). It is the jail's supervisor: it imports what scripts commonly need once, then
runs one script after another, each in a child forked from it, so a case pays for a fork rather
than for a new jail and a new interpreter.

Per script, the harness sends over the control socket (SOCK_SEQPACKET: whole messages):

    {"script": host path, "memory": bytes, "file_size": bytes, "processes": n, "env": {...}}
    + 4 file descriptors: stdout, stderr, the answers pipe (read) and the requests pipe (write)

The script's text is at /flowtape/script/script.py (a read-only view of a folder the harness
writes), compiled under its host path so tracebacks name the file the user wrote. The child
sets the rlimits (hard, so the script cannot raise them), its environment, sys.path and its
descriptors (0 /dev/null, 1 stdout, 2 stderr, 3 and 4 the pipes), then runs the script. The
supervisor says `started`, waits for it, kills every other process left in the PID namespace
(a setsid'd grandchild included), answers `{"exit": code, "clean": bool}` (negative: killed by
that signal), empties /tmp and /dev/shm, and says `ready` for the next script. Anything it cannot
put back as it was (a process that will not die, a file it cannot remove, a SysV IPC object, a
key left in the kernel's keyring) ends the supervisor, and the harness starts a fresh jail: a
script never sees what an earlier one left.

The supervisor is not dumpable (no ptrace, no /proc/<pid>/mem, no pidfd_getfd from a script);
a script can still kill it, which ends that run as a crash and the jail with it. Standard
library only; the harness imports it only for MEMORY_EXIT and the paths.
"""

import os
import sys

MEMORY_EXIT = 86  # the exit code that says "ran out of memory"
SCRIPT = "/flowtape/script/script.py"  # where the harness's copy of the script appears inside
SCRATCH = ("/tmp", "/dev/shm")  # emptied after every script
RPC_FDS = (3, 4)  # the answers pipe and the requests pipe, in the script's process
_HEADER = 1 << 20  # the most bytes of one control message


def main() -> None:
    import ctypes
    import json
    import socket

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
    _preload()
    control = socket.socket(fileno=int(sys.argv[1]))
    keys = _keys()
    control.send(b"ready")
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, _HEADER, 4)
        except OSError:
            return
        if not data:
            return  # the harness closed the jail
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            control.close()
            _child(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        control.send(b"started")
        _, status = os.waitpid(pid, 0)
        clean = _kill_the_rest()
        control.send(json.dumps({"exit": os.waitstatus_to_exitcode(status), "clean": clean}).encode())
        if not (clean and _empty_scratch() and _no_ipc_objects() and _keys() == keys):
            return
        control.send(b"ready")


def _preload() -> None:
    """What scripts and the generated stubs import, imported once here rather than per script."""
    import collections  # noqa: F401
    import dataclasses  # noqa: F401
    import datetime  # noqa: F401
    import fcntl  # noqa: F401
    import json  # noqa: F401
    import linecache  # noqa: F401
    import re  # noqa: F401
    import resource  # noqa: F401
    import threading  # noqa: F401
    import traceback  # noqa: F401
    import typing  # noqa: F401


def _child(request: dict, fds: list) -> None:
    """Become the script's process and run it; exits, never returns."""
    import fcntl
    import linecache
    import resource
    import types

    try:
        out, err, answers, requests = fds
        null = os.open("/dev/null", os.O_RDONLY)
        for source, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(source, target)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (answers, requests)]  # out of the way of 3 and 4
        for source, target in zip(high, RPC_FDS):
            os.dup2(source, target)
        os.closerange(max(RPC_FDS) + 1, max(os.sysconf("SC_OPEN_MAX"), 1024))
        for which, limit in ((resource.RLIMIT_AS, request["memory"]), (resource.RLIMIT_FSIZE, request["file_size"]),
                             (resource.RLIMIT_NPROC, request["processes"]), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (limit, limit))
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(SCRATCH[0])
        os.environ["PWD"] = SCRATCH[0]
        script = request["script"]
        with open(SCRIPT, encoding="utf-8") as handle:
            text = handle.read()
    except BaseException as exc:  # noqa: BLE001 - the harness reads this on the script's stderr
        os.write(2, f"flowtape-sandbox: cannot start the script: {type(exc).__name__}: {exc}\n".encode())
        os._exit(125)
    sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE
    stubs = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [os.path.dirname(script), *stubs]
    sys.argv = [script]
    linecache.cache[script] = (len(text), None, text.splitlines(True), script)  # tracebacks show its lines
    main = types.ModuleType("__main__")
    main.__file__, main.__builtins__ = script, __builtins__
    sys.modules["__main__"] = main
    try:
        exec(compile(text, script, "exec"), main.__dict__)
    except MemoryError:
        import traceback

        traceback.print_exc()
        _exit(MEMORY_EXIT)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            _exit(exc.code or 0)
        print(exc.code, file=sys.stderr)  # as the interpreter does with `sys.exit("message")`
        _exit(1)
    except BaseException as exc:  # noqa: BLE001
        import traceback

        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next  # hide this file's frames
        traceback.print_exception(type(exc), exc, tb or exc.__traceback__)
        _exit(1)
    _exit(0)


def _exit(code: int) -> None:
    """End the script's process as the interpreter's own exit would (its threads joined, its
    atexit functions run, its output flushed) without tearing the interpreter down, which in a
    forked child only costs time (~30 ms)."""
    import atexit
    import threading

    try:
        threading._shutdown()  # type: ignore[attr-defined]  # waits for non-daemon threads, as at exit
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 - the interpreter reports these and exits all the same
        import traceback

        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a closed or full stream: nothing more to say
            pass
    os._exit(code & 0xFF)


def _kill_the_rest(deadline: float = 2.0) -> bool:
    """Kill every process in the PID namespace but its init (1) and this one, and wait until they
    are gone; False if one outlives `deadline` seconds."""
    import signal
    import time

    me, until = os.getpid(), time.monotonic() + deadline
    while True:
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            return True
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:  # our own children; init reaps the orphans
                pass
        except ChildProcessError:
            pass
        if time.monotonic() > until:
            return False
        time.sleep(0.001)


def _empty_scratch() -> bool:
    """Remove everything in /tmp and /dev/shm; False if something stays."""
    import shutil
    import stat

    def writable(func, path, _):  # a folder the script made read-only: make it writable, retry
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        func(path)

    for folder in SCRATCH:
        for entry in os.scandir(folder):
            try:
                if entry.is_dir(follow_symlinks=False):
                    os.chmod(entry.path, stat.S_IRWXU)
                    shutil.rmtree(entry.path, onerror=writable)
                else:
                    os.unlink(entry.path)
            except OSError:
                return False
        if os.listdir(folder):
            return False
    return True


def _no_ipc_objects() -> bool:
    """Whether no SysV shared memory, semaphore or message queue is left in the jail's IPC namespace."""
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                if len(table.read().splitlines()) > 1:
                    return False
        except OSError:
            pass
    return True


def _keys() -> str:
    """The kernel keys this user can see (a script could leave one in its user keyring)."""
    try:
        with open("/proc/keys") as table:
            return table.read()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
