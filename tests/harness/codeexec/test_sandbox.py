"""The sandbox a code baseline runs in: no network, a timeout, a memory cap, no inherited
environment, a throwaway working directory, and a refusal to run at all where the network
cannot be denied."""

from __future__ import annotations

import json
import os
import socket
import textwrap
import time
from pathlib import Path

import pytest

from harness.codeexec import SandboxError, generate_stubs, network_denied, run_script
from harness.codeexec import _netns


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
    assert "OSError" in result.stderr or "unreachable" in result.stderr


def test_the_sandbox_cannot_resolve_a_public_name(tmp_path):
    result = run_script(script(tmp_path, """
        import socket
        print(socket.getaddrinfo("pypi.org", 443))
    """))
    assert result.ended == "crash" and result.stdout == ""
    assert "socket.gaierror" in result.stderr


def test_the_sandbox_cannot_join_the_harness_network_namespace_back(tmp_path, listener):
    result = run_script(script(tmp_path, f"""
        import ctypes, os
        fd = os.open("/proc/{os.getpid()}/ns/net", os.O_RDONLY)
        print("setns", ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000))
    """))
    assert "setns 0" not in result.stdout
    assert result.ended == "crash" and "PermissionError" in result.stderr


@pytest.mark.parametrize("way", range(len(_netns._candidates())), ids=lambda i: " ".join(_netns._candidates()[i][1:3]))
def test_every_way_offered_here_denies_the_network(tmp_path, listener, monkeypatch, way):
    """As root both the user-namespace way and the capability-dropping fallback are checked."""
    monkeypatch.setattr(_netns, "_candidates", lambda ways=_netns._candidates(): [ways[way]])
    result = run_script(script(tmp_path, f"""
        import ctypes, os, socket
        fd = os.open("/proc/{os.getpid()}/ns/net", os.O_RDONLY)
        assert ctypes.CDLL(None).setns(fd, 0x40000000) != 0, "joined the harness's network namespace"
    """))
    assert result.ended == "crash" and "PermissionError" in result.stderr  # cannot even open it
    result = run_script(script(tmp_path, f"import socket; socket.create_connection(('127.0.0.1', {listener}), timeout=2)"))
    assert result.ended == "crash" and "OSError" in result.stderr


def test_a_script_that_runs_too_long_is_killed_with_its_children(tmp_path):
    started = time.monotonic()
    result = run_script(script(tmp_path, """
        import subprocess, sys
        child = subprocess.Popen(["sleep", "60"])
        print(child.pid, flush=True)
        while True:
            pass
    """), timeout=1)
    assert result.ended == "timeout" and result.exit_code == -9
    assert time.monotonic() - started < 4
    child = int(result.stdout.split()[0])
    time.sleep(0.2)
    status = Path(f"/proc/{child}/status")
    assert not status.exists() or "State:\tZ" in status.read_text()  # gone (or a zombie about to be reaped)


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
    assert set(env) == {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "TMPDIR", "FLOWTAPE_RPC_FDS"}
    assert env["PATH"] == "/usr/bin:/bin" and env["LANG"] == "C.UTF-8"


def test_the_script_runs_in_a_fresh_directory_that_is_removed_afterwards(tmp_path):
    result = run_script(script(tmp_path, """
        import json, os, sys, tempfile
        open("scratch.txt", "w").write("x")
        print(json.dumps({"cwd": os.getcwd(), "home": os.environ["HOME"], "tmp": tempfile.gettempdir(),
                          "files": os.listdir("."), "isolated": sys.flags.isolated, "path": sys.path}))
    """))
    seen = json.loads(result.stdout)
    assert seen["files"] == ["scratch.txt"] and seen["cwd"] == seen["home"] == seen["tmp"]
    assert Path(seen["cwd"]) != Path.cwd() and not Path(seen["cwd"]).exists()
    assert seen["isolated"] == 1 and seen["path"][0] == str(tmp_path)  # the script's folder, as for `python script.py`
    assert not any(p.endswith("codeexec") for p in seen["path"])


def test_a_failing_script_is_a_crash_with_its_traceback_and_exit_code(tmp_path):
    result = run_script(script(tmp_path, """
        import sys
        print("partial")
        sys.stderr.write("going down\\n")
        raise ValueError("bad value")
    """))
    assert (result.ended, result.exit_code, result.stdout) == ("crash", 1, "partial\n")
    assert result.stderr.strip().splitlines()[-1] == "ValueError: bad value"
    assert "runpy" not in result.stderr  # the bootstrap's frames are hidden
    assert run_script(script(tmp_path, "raise SystemExit(3)", "exit3.py")).exit_code == 3


def test_where_the_network_cannot_be_denied_nothing_runs(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.setattr(_netns, "_candidates", lambda: [[]])  # "no isolation": the probe connects
    path = script(tmp_path, f"open({str(marker)!r}, 'w').write('ran')")
    with pytest.raises(SandboxError, match=r"cannot deny network access here: \(no isolation\): (setns into the harness|connected to the harness)"):
        run_script(path)
    assert not marker.exists() and not network_denied()
    monkeypatch.setattr(_netns, "_candidates", lambda: [])
    with pytest.raises(SandboxError, match="unshare. not found"):
        run_script(path)
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
