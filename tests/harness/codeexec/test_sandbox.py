"""The sandbox a code baseline runs in: no network, a timeout, a memory cap, no inherited
environment, a throwaway working directory, and a refusal to run at all where the jail does not
hold. (The escapes a red team tried are in test_sandbox_escapes.py.)"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

from harness.codeexec import SandboxError, close_sandboxes, generate_stubs, network_denied, run_script
from harness.codeexec import _jail


def script(tmp_path: Path, body: str, name: str = "script.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture
def listener():
    """A port the test process listens on, on 127.0.0.1: reachable from here, not from the sandbox."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield sock.getsockname()[1]


def test_network_can_be_denied_here():
    assert network_denied()


def test_the_sandbox_cannot_reach_a_port_the_harness_listens_on(tmp_path, listener):
    socket.create_connection(("127.0.0.1", listener), timeout=2).close()  # reachable from the harness
    result = run_script(script(tmp_path, f"""
        import socket
        socket.create_connection(("127.0.0.1", {listener}), timeout=2)
        print("connected")
    """))
    assert result.ended == "crash" and "connected" not in result.stdout
    assert "ConnectionRefusedError" in result.stderr  # its own loopback has no listener


def test_the_sandbox_cannot_resolve_a_public_name(tmp_path):
    result = run_script(script(tmp_path, """
        import socket
        print(socket.getaddrinfo("pypi.org", 443))
    """))
    assert result.ended == "crash" and result.stdout == ""
    assert "socket.gaierror" in result.stderr


def test_the_sandbox_cannot_join_the_harness_network_namespace_back(tmp_path, listener):
    """It cannot even name it: the harness's /proc entry is not in its PID namespace. (The probe
    also hands it the namespace's fd and sees setns refused.)"""
    result = run_script(script(tmp_path, f"""
        import ctypes, os
        fd = os.open("/proc/{os.getpid()}/ns/net", os.O_RDONLY)
        print("setns", ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000))
    """))
    assert "setns 0" not in result.stdout
    assert result.ended == "crash" and "FileNotFoundError" in result.stderr


def _way_id(index: int) -> str:
    way = _jail._candidates()[index]
    return "with user namespace" if "--unshare-user" in way else "without user namespace"


@pytest.mark.parametrize("way", range(len(_jail._candidates())), ids=_way_id)
def test_every_way_offered_here_denies_the_network(tmp_path, listener, monkeypatch, way):
    """As root both the user-namespace way and the one without a user namespace are checked."""
    monkeypatch.setattr(_jail, "_candidates", lambda ways=_jail._candidates(): [ways[way]])
    result = run_script(script(tmp_path, f"import socket; socket.create_connection(('127.0.0.1', {listener}), timeout=2)"))
    assert result.ended == "crash" and "ConnectionRefusedError" in result.stderr
    result = run_script(script(tmp_path, "open('/etc/passwd')"))
    assert result.ended == "crash" and "FileNotFoundError" in result.stderr


def test_a_script_that_runs_too_long_is_killed_with_its_children(tmp_path):
    started = time.monotonic()
    marker = f"{60 + os.getpid() % 1000 / 1000:.3f}"  # `sleep 60.xyz`: its command line on the host
    result = run_script(script(tmp_path, f"""
        import subprocess, sys
        child = subprocess.Popen(["sleep", "{marker}"])
        print(child.pid, flush=True)
        while True:
            pass
    """), timeout=1)
    assert result.ended == "timeout" and result.exit_code == -9
    assert time.monotonic() - started < 4
    assert result.stdout.split()[0].isdigit()  # the child did start
    alive = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p) == f"sleep\0{marker}\0"]
    assert alive == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_text()
    except OSError:
        return ""


def test_a_script_over_its_memory_cap_is_stopped_and_reported_as_memory(tmp_path):
    result = run_script(script(tmp_path, """
        data = bytearray(2 * 1024 ** 3)
        print("allocated", len(data))
    """), memory_mb=256, timeout=10)
    assert result.ended == "memory" and "allocated" not in result.stdout
    assert result.stderr.strip().splitlines()[-1] == "MemoryError"


def test_memory_growing_step_by_step_hits_the_cap_too(tmp_path):
    result = run_script(script(tmp_path, """
        chunks = []
        while True:
            chunks.append(bytearray(16 * 1024 ** 2))
    """), memory_mb=256, timeout=10)
    assert result.ended == "memory"


def test_the_script_cannot_raise_its_memory_cap(tmp_path):
    result = run_script(script(tmp_path, """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    """), memory_mb=256)
    assert result.ended == "crash" and "not allowed to raise maximum limit" in result.stderr


def test_no_environment_is_inherited_so_no_secret_leaks(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWTAPE_TEST_SECRET_TOKEN", "s3cret-value-7d1f")
    result = run_script(script(tmp_path, """
        import json, os
        print(json.dumps(dict(os.environ)))
    """))
    assert result.ended == "ok"
    assert "s3cret-value-7d1f" not in result.stdout and "FLOWTAPE_TEST_SECRET_TOKEN" not in result.stdout
    env = json.loads(result.stdout)
    assert set(env) == {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "TMPDIR", "FLOWTAPE_RPC_FDS", "PWD"}
    assert env["HOME"] == env["TMPDIR"] == env["PWD"] == "/tmp"  # PWD: bwrap sets it on --chdir
    assert env["PATH"] == "/usr/bin:/bin" and env["LANG"] == "C.UTF-8"


def test_the_script_runs_in_a_fresh_directory_that_is_gone_afterwards(tmp_path):
    path = script(tmp_path, """
        import json, os, sys, tempfile
        before = os.listdir(".")
        open("scratch.txt", "w").write("x")
        print(json.dumps({"cwd": os.getcwd(), "home": os.environ["HOME"], "tmp": tempfile.gettempdir(), "before": before,
                          "isolated": sys.flags.isolated, "path": sys.path, "file": __file__, "name": __name__,
                          "argv": sys.argv, "host folder": os.path.exists(sys.path[0])}))
    """)
    first, second = (json.loads(run_script(path).stdout) for _ in range(2))
    assert first["cwd"] == first["home"] == first["tmp"] == "/tmp"
    assert first["before"] == second["before"] == []  # an empty /tmp for every run
    assert first["isolated"] == 1 and first["path"][0] == str(tmp_path)  # the script's folder, as for `python script.py`
    assert first["file"] == str(path) and first["argv"] == [str(path)] and first["name"] == "__main__"
    assert first["host folder"] is False  # named, not in view: the script's text is all it gets
    assert not any(p.endswith("codeexec") for p in first["path"])


def test_a_failing_script_is_a_crash_with_its_traceback_and_exit_code(tmp_path):
    result = run_script(script(tmp_path, """
        import sys
        print("partial")
        sys.stderr.write("going down\\n")
        raise ValueError("bad value")
    """))
    assert (result.ended, result.exit_code, result.stdout) == ("crash", 1, "partial\n")
    assert result.stderr.strip().splitlines()[-1] == "ValueError: bad value"
    assert "bootstrap" not in result.stderr  # the bootstrap's frames are hidden
    assert f'File "{tmp_path / "script.py"}", line 5' in result.stderr and 'raise ValueError("bad value")' in result.stderr
    assert run_script(script(tmp_path, "raise SystemExit(3)", "exit3.py")).exit_code == 3


@pytest.mark.parametrize(("weak", "found"), [
    (["--unshare-pid"], "setns into the harness's network namespace succeeded"),  # capabilities kept
    (["--unshare-pid", "--cap-drop", "ALL"], "connected to the harness on 127.0.0.1"),  # the host's network
], ids=["capabilities", "network"])
def test_where_the_jail_does_not_hold_nothing_runs(tmp_path, monkeypatch, weak, found):
    if os.geteuid() != 0:
        pytest.skip("without root a bwrap without a user namespace does not start at all")
    marker = tmp_path / "ran"
    monkeypatch.setattr(_jail, "_candidates", lambda: [[_jail._bwrap(), *weak]])
    path = script(tmp_path, f"open({str(marker)!r}, 'w').write('ran')")
    with pytest.raises(SandboxError, match=f"cannot sandbox code here: .*: {found}"):
        run_script(path)
    assert not marker.exists() and not network_denied()


def test_without_bubblewrap_nothing_runs(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.setattr(_jail, "_candidates", lambda: [])
    with pytest.raises(SandboxError, match=r"bubblewrap \(.bwrap.\) not found"):
        run_script(script(tmp_path, f"open({str(marker)!r}, 'w').write('ran')"))
    assert not marker.exists()


def test_large_requests_and_answers_cross_the_pipes_whole(tmp_path):
    big = "x" * (3 << 20)
    path = script(tmp_path, """
        from flowtape_tools import call_tool
        answer = call_tool("s", "echo", {"text": "y" * (2 << 20)})
        print(len(answer["text"]), answer["got"])
    """)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    generate_stubs({}, stubs)
    result = run_script(path, pythonpath=stubs, handler=lambda r: {"result": {"text": big, "got": len(r["arguments"]["text"])}})
    assert result.ended == "ok", result.stderr
    assert result.stdout == f"{len(big)} {2 << 20}\n"


def test_a_script_that_abuses_the_channel_is_answered_or_stopped(tmp_path):
    path = script(tmp_path, """
        import os
        answers, requests = (int(fd) for fd in os.environ["FLOWTAPE_RPC_FDS"].split(","))
        os.write(requests, b"not json\\n")
        print(os.read(answers, 1000).decode().strip(), flush=True)
        chunk = b"z" * (1 << 20)
        while True:
            os.write(requests, chunk)
    """)
    result = run_script(path, handler=lambda r: {"result": None}, timeout=20)
    assert result.stdout.startswith('{"error": "malformed request: ')
    assert (result.ended, result.detail) == ("crash", "a request was longer than 33554432 bytes")


def test_where_no_cgroup_can_be_made_the_result_says_what_is_not_enforced(tmp_path, no_cgroups):
    """A non-root harness usually cannot make cgroups: the run still happens, jailed, and says so."""
    result = run_script(script(tmp_path, "print('ran')"))
    assert (result.ended, result.stdout) == ("ok", "ran\n")
    assert [u.split(" (")[0] for u in result.unenforced] == ["total processes", "total memory"]


def test_the_cgroups_of_a_jail_are_removed_when_it_is_closed(tmp_path, monkeypatch):
    from harness.codeexec import _budget

    close_sandboxes()
    made = []
    enter = _budget.Budget.__enter__
    monkeypatch.setattr(_budget.Budget, "__enter__", lambda self: (made.append(self), enter(self))[1])
    result = run_script(script(tmp_path, "import subprocess; subprocess.Popen(['sleep', '30']); print('left a child')"))
    assert result.ended == "ok" and result.unenforced == ()
    groups = [group for budget in made for group in budget.groups]
    assert groups and all(group.exists() for group in groups)  # kept with its jail for the next script
    close_sandboxes()
    assert not any(group.exists() for group in groups)


def test_the_cgroups_a_killed_harness_left_are_removed_by_the_next(tmp_path):
    """A harness killed with SIGKILL cannot remove its cgroups; the next one that makes a jail does."""
    from harness.codeexec import _budget

    harness = subprocess.run([sys.executable, "-c", KILLED_HARNESS, str(script(tmp_path, "print('ran')"))], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    left = [Path(line) for line in harness.stdout.split()]
    assert harness.returncode == -9 and left and all(group.exists() for group in left), harness.stderr
    _budget._swept.clear()  # this process swept at its first jail: sweep again, as a new harness would
    with _budget.Budget(memory_bytes=64 << 20, processes=8):
        pass
    assert not any(group.exists() for group in left)


KILLED_HARNESS = """
import os, signal, sys
from pathlib import Path
from harness.codeexec import _budget, run_script
made = []
enter = _budget.Budget.__enter__
_budget.Budget.__enter__ = lambda self: (made.append(self), enter(self))[1]
assert run_script(Path(sys.argv[1])).ended == "ok"
print(" ".join(str(group) for budget in made for group in budget.groups), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_script_never_sees_what_the_script_before_it_left(tmp_path):
    """Scripts run one after another in a kept jail: files, processes and the environment of one
    are gone before the next starts (the second script's larger pid shows the jail was reused)."""
    close_sandboxes()
    first = run_script(script(tmp_path, """
        import json, os, subprocess
        open("/tmp/left.txt", "w").write("x")
        os.makedirs("/tmp/locked/inner")
        os.chmod("/tmp/locked", 0o500)
        open("/dev/shm/left", "w").write("x")
        os.environ["LEFT"] = "1"
        subprocess.Popen(["setsid", "sleep", "30"])
        print(json.dumps({"pid": os.getpid()}))
    """, "first.py"))
    assert first.ended == "ok", first.stderr
    second = run_script(script(tmp_path, """
        import json, os
        others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid())
        print(json.dumps({"pid": os.getpid(), "tmp": os.listdir("/tmp"), "shm": os.listdir("/dev/shm"),
                          "others": others, "env": "LEFT" in os.environ}))
    """, "second.py"))
    seen = json.loads(second.stdout)
    assert seen["pid"] > json.loads(first.stdout)["pid"]  # the same PID namespace: the same jail
    assert (seen["tmp"], seen["shm"], seen["env"]) == ([], [], False)
    assert seen["others"] == [1, 2]  # bwrap's init and the bootstrap; no `sleep`


KEY = """
import ctypes, json
libc = ctypes.CDLL(None, use_errno=True)
made = libc.syscall(NUMBER, b"user", b"flowtape-left", b"secret", 6, -4)  # add_key to the user keyring
print(json.dumps({"made": made, "errno": ctypes.get_errno(), "keys": open("/proc/keys").read().count("flowtape-left")}))
"""


@pytest.mark.skipif(_jail.seccomp_filter() is None, reason="no seccomp filter for this architecture")
def test_a_script_cannot_leave_a_key_in_the_kernels_keyrings(tmp_path):
    """Keyrings outlive a jail (a key added in one was seen by a script in the next, new jail):
    the key system calls are refused."""
    import platform

    number = _jail._KEY_SYSCALLS[platform.machine()][1][0]
    first, second = (json.loads(run_script(script(tmp_path, KEY.replace("NUMBER", str(number)), f"{n}.py")).stdout) for n in "ab")
    assert (first["made"], first["errno"]) == (-1, 1)  # EPERM
    assert first["keys"] == second["keys"] == 0


def test_a_script_that_leaves_what_cannot_be_removed_gets_a_fresh_jail_after_it(tmp_path):
    """A SysV shared memory segment outlives the script's processes; the bootstrap does not remove
    it, it ends its jail, and the next script starts in a new one (a new IPC namespace)."""
    close_sandboxes()
    first = run_script(script(tmp_path, """
        import ctypes, json, os
        made = ctypes.CDLL(None, use_errno=True).shmget(0, 4096, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
        print(json.dumps({"pid": os.getpid(), "made": made >= 0, "shm": len(open("/proc/sysvipc/shm").readlines()) - 1}))
    """, "first.py"))
    second = run_script(script(tmp_path, """
        import json, os
        print(json.dumps({"pid": os.getpid(), "shm": len(open("/proc/sysvipc/shm").readlines()) - 1}))
    """, "second.py"))
    first, second = json.loads(first.stdout), json.loads(second.stdout)
    assert first["made"] and first["shm"] == 1
    assert second["shm"] == 0 and second["pid"] <= first["pid"]  # a new PID namespace too


def test_a_script_that_kills_its_bootstrap_ends_as_a_crash_and_the_next_runs(tmp_path):
    result = run_script(script(tmp_path, "import os, signal, time; os.kill(os.getppid(), signal.SIGKILL); time.sleep(30)"), timeout=20)
    assert (result.ended, result.exit_code) == ("crash", None)
    assert result.detail == "the sandbox's bootstrap ended before the script did"
    assert run_script(script(tmp_path, "print('next')", "next.py")).stdout == "next\n"


def test_a_jail_warmed_ahead_serves_the_next_script(tmp_path, monkeypatch):
    """`flowtape test` workers start a jail before their first case; that script does not wait
    for one of its own."""
    from harness.codeexec import _sandbox, warm_sandbox

    close_sandboxes()
    warm_sandbox()
    made = []
    start = _sandbox._Jail.__init__
    monkeypatch.setattr(_sandbox._Jail, "__init__", lambda self, *args: (made.append(self), start(self, *args))[1])
    result = run_script(script(tmp_path, "import os; print(os.getpid())"))
    assert (result.ended, result.stdout, made) == ("ok", "3\n", [])  # the first script of the warmed jail


def test_a_jail_warmed_in_a_forked_process_serves_its_next_script(tmp_path):
    """`flowtape test` workers are forked from a server that imported the sandbox module: the jail
    a worker warms is its own, kept for its first script (it was closed at once, as if it
    belonged to the server, so every worker's first code case started a jail of its own)."""
    code = textwrap.dedent(f"""
        import json, os, sys
        from harness.codeexec import _sandbox, warm_sandbox, run_script
        pid = os.fork()
        if pid == 0:
            warm_sandbox()
            kept = sum(len(jails) for jails in _sandbox._idle.values())
            made = []
            start = _sandbox._Jail.__init__
            _sandbox._Jail.__init__ = lambda self, *args: (made.append(1), start(self, *args))[1]
            result = run_script({str(script(tmp_path, "print('ran')"))!r})
            print(json.dumps({{"kept": kept, "made": len(made), "out": result.stdout}}), flush=True)
            _sandbox.close_sandboxes()
            os._exit(0)
        os.waitpid(pid, 0)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout) == {"kept": 1, "made": 0, "out": "ran\n"}, done.stderr


def test_jails_kept_from_a_finished_thread_pool_still_serve(tmp_path):
    """A jail dies with the thread that started it; kept jails are started from one thread that
    lives as long as the process, so scripts run from a thread pool that has since finished
    (a `batch` of code nodes) leave jails the next scripts can use."""
    from concurrent.futures import ThreadPoolExecutor

    close_sandboxes()
    path = script(tmp_path, "import os; open('/tmp/left', 'w').write('x'); print(sorted(os.listdir('/tmp')))")
    for _ in range(2):
        with ThreadPoolExecutor(3) as pool:
            results = list(pool.map(lambda _: run_script(path), range(6)))
        assert {(r.ended, r.stdout) for r in results} == {("ok", "['left']\n")}
    assert run_script(path).stdout == "['left']\n"


def test_a_kept_jail_that_died_after_saying_ready_is_replaced(tmp_path, monkeypatch):
    from harness.codeexec import _sandbox

    close_sandboxes()
    path = script(tmp_path, "print('ran')")
    assert run_script(path).stdout == "ran\n"
    [dead] = [jail for kept in _sandbox._idle.values() for jail in kept]
    dead.kill()
    ready = _sandbox._Jail.ready
    monkeypatch.setattr(_sandbox._Jail, "ready", lambda self, timeout: True if self is dead else ready(self, timeout))
    result = run_script(path)
    assert (result.ended, result.stdout) == ("ok", "ran\n")
    assert dead not in [jail for kept in _sandbox._idle.values() for jail in kept]
