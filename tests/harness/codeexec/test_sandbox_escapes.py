"""A hostile baseline script against the sandbox: each test is one escape a red team found, run
through `run_script` (or `run_code`), asserting that it fails. Numbers are small so the tests are
fast: the caps are the defaults or set low for the test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from harness.codeexec import run_code, run_script
from harness.codeexec._budget import Budget
from runner import RunStatus, Runtime
from runner.clients import ToolCallResult, ToolInfo

REPO = Path(__file__).resolve().parents[3]


def script(tmp_path: Path, body: str, name: str = "hostile.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def host_processes_with(marker: str) -> list[int]:
    """Host pids whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_the_script_cannot_read_host_files_the_repo_or_the_cassettes(tmp_path):
    secrets = ["/etc/shadow", str(REPO / "pyproject.toml"), str(REPO / "harness" / "codeexec" / "_sandbox.py"),
               str(REPO / "cassettes"), "/root", str(Path(sys.prefix) / "pyvenv.cfg")]
    result = run_script(script(tmp_path, f"""
        import json, os
        seen = {{}}
        for path in {secrets!r}:
            try:
                seen[path] = os.listdir(path)[:3] if os.path.isdir(path) else open(path, "rb").read(40).decode("latin-1")
            except OSError as err:
                seen[path] = None
        print(json.dumps(seen))
    """))
    assert result.ended == "ok", result.stderr
    seen = json.loads(result.stdout)
    assert {path: value for path, value in seen.items() if value} in ({}, {"/root": [".pyenv"]})  # at most the way to the interpreter


def test_the_script_cannot_see_a_process_outside_its_sandbox(tmp_path):
    """Where `--llm-api-key` sits: the harness's (and its parent's) command line."""
    marker = f"flowtape-secret-{uuid.uuid4().hex}"
    witness = subprocess.Popen(["sh", "-c", "sleep 30", marker])
    try:
        result = run_script(script(tmp_path, f"""
            import os
            lines = []
            for pid in os.listdir("/proc"):
                try:
                    lines.append(pid + " " + open(f"/proc/{{pid}}/cmdline", "rb").read().decode("latin-1"))
                except OSError:
                    pass
            for pid in ({os.getpid()}, {os.getppid()}, {witness.pid}, os.getppid()):
                try:
                    lines.append(f"{{pid}} " + open(f"/proc/{{pid}}/cmdline", "rb").read().decode("latin-1"))
                except OSError:
                    pass
            print("\\n".join(lines))
            print("me", os.getpid())
        """))
    finally:
        witness.kill()
        witness.wait()
    assert result.ended == "ok", result.stderr
    assert marker not in result.stdout
    harness = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().decode("latin-1")
    assert harness not in result.stdout
    me = result.stdout.split()[-1]
    assert {line.split()[0] for line in result.stdout.splitlines() if line.split()[0].isdigit()} <= {"1", "2", me}  # bwrap's init, the bootstrap, itself


def test_the_script_cannot_write_outside_its_own_scratch_space(tmp_path):
    """A `.pth` file in flowtape's venv runs at the next interpreter start, outside the sandbox."""
    name = f"flowtape_escape_{uuid.uuid4().hex}"
    targets = [Path(sysconfig.get_paths()["purelib"]) / f"{name}.pth", REPO / f"{name}.txt", tmp_path / f"{name}.txt",
               Path("/tmp") / f"{name}.txt", Path("/dev/shm") / f"{name}.txt"]
    try:
        result = run_script(script(tmp_path, f"""
            for path in {[str(t) for t in targets]!r}:
                try:
                    open(path, "w").write("# written from the sandbox\\n")
                    print("wrote", path)
                except OSError as err:
                    print("refused", path, type(err).__name__)
        """))
        assert result.ended == "ok", result.stderr
        assert [t for t in targets if t.exists()] == []
    finally:
        for target in targets:
            target.unlink(missing_ok=True)


def test_the_script_cannot_connect_to_a_host_unix_socket(tmp_path):
    path = tmp_path / "host.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen(1)
        result = run_script(script(tmp_path, f"""
            import socket
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect({str(path)!r})
                print("connected")
        """))
    assert "connected" not in result.stdout and result.ended == "crash"


def test_a_fork_loop_hits_the_process_cap(tmp_path):
    result = run_script(script(tmp_path, """
        import os, time
        started = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            started += 1
        print(started)
    """), max_processes=64, timeout=20)
    assert result.ended == "ok", result.stderr
    assert int(result.stdout) < 64


def test_a_double_forked_setsid_grandchild_dies_with_the_run(tmp_path):
    marker = f"{30 + uuid.uuid4().int % 1000 / 1000:.3f}"  # `sleep 30.xyz`: its command line is the marker
    try:
        result = run_script(script(tmp_path, f"""
            import os
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv("/bin/sleep", ["sleep", {marker!r}])
                os._exit(0)
            os.wait()
            print("detached")
        """))
        assert result.ended == "ok" and result.stdout == "detached\n", result.stderr
        deadline = time.monotonic() + 5  # the kernel may take a moment to finish killing it
        while host_processes_with(f"sleep\0{marker}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert host_processes_with(f"sleep\0{marker}") == []
    finally:
        for pid in host_processes_with(f"sleep\0{marker}"):
            os.kill(pid, signal.SIGKILL)


def cgroups_here() -> bool:
    with Budget(memory_bytes=64 << 20, processes=8) as budget:
        return budget.unenforced == ()


@pytest.mark.skipif(not cgroups_here(), reason="no memory cgroup can be made here (non-root): total memory is not enforced")
def test_children_together_cannot_exceed_the_memory_cap(tmp_path):
    """The cap is on the whole sandbox, not each process: 3 x 40 MiB does not fit in 64 MiB."""
    result = run_script(script(tmp_path, """
        import subprocess, sys
        hog = "import sys, time; data = b'x' * (40 << 20); print('holding', flush=True); time.sleep(30)"
        children = [subprocess.Popen([sys.executable, "-c", hog], stdout=subprocess.PIPE) for _ in range(3)]
        held = sum(child.stdout.readline() == b"holding\\n" for child in children)
        print("held", held)
    """), memory_mb=64, timeout=20)
    assert "held 3" not in result.stdout


def test_the_script_cannot_fill_dev_shm_the_disk_or_the_host_tmp_through_stdout(tmp_path):
    result = run_script(script(tmp_path, """
        import os, sys
        chunk = b"x" * (1 << 20)
        def fill(path):
            written = 0
            try:
                with open(path, "wb") as out:
                    while written < (160 << 20):
                        out.write(chunk)
                        out.flush()
                        written += len(chunk)
            except OSError:
                pass
            finally:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            return written >> 20
        shm = fill("/dev/shm/fill") if os.path.isdir("/dev/shm") else 0
        disk = fill("fill")
        out = 0
        try:
            while out < (160 << 20):
                os.write(1, chunk)
                out += len(chunk)
        except OSError:
            pass
        print(shm, disk, out >> 20, file=sys.stderr)
    """), disk_mb=32, timeout=30)
    shm, disk, out = (int(n) for n in result.stderr.split()[-3:])
    assert shm <= 32 and disk <= 32 and out <= 32, result.stderr[-300:]


HARNESS = r"""
import os, sys
from pathlib import Path
from harness.codeexec import run_script
hostile, how = Path(sys.argv[1]), sys.argv[2]
hostile.write_text(f"import os, signal, time\n"
                   f"for pid in {{{os.getpid()}, os.getppid()}} - {{0, 1}}:\n"
                   f"    try:\n        os.kill(pid, signal.{how})\n    except OSError:\n        pass\n"
                   f"time.sleep(30)\n")
print(run_script(hostile, timeout=3).ended, flush=True)
"""


@pytest.mark.parametrize("how", ["SIGSTOP", "SIGKILL"])
def test_the_script_cannot_stop_or_kill_the_harness(tmp_path, how):
    """A stopped or killed harness hangs `flowtape test --workers 2`, so the harness runs in a
    child here; the script knows the harness's pid and tries it and its own parent."""
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(tmp_path / "hostile.py"), how], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = harness.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        harness.kill()
        harness.communicate()
        pytest.fail(f"the harness hung after the script's {how}")
    assert harness.returncode == 0, f"harness exited {harness.returncode}: {err[-500:]}"
    # Its parent inside is the jail's bootstrap: stopped, the script runs into its timeout; killed,
    # the jail ends at once with it.
    assert out.split() == ["timeout" if how == "SIGSTOP" else "crash"]


class ManyCalls:
    """An `MCPClient` double that answers every call at once."""

    def servers(self) -> list[str]:
        return ["echo"]

    def list_tools(self, server: str) -> list[ToolInfo]:
        return [ToolInfo("echo", "Echo.", {"type": "object", "properties": {"text": {"type": "string"}}})]

    def call_tool(self, server, tool, arguments, *, step_id=None) -> ToolCallResult:
        return ToolCallResult(content=[{"type": "text", "text": "ok"}], request_bytes=10, result_bytes=10)

    def close(self) -> None:
        pass


def test_a_flood_of_tool_calls_is_stopped_at_the_per_case_cap(tmp_path):
    path = script(tmp_path, """
        from flowtape_tools import echo
        for _ in range(3000):
            echo.echo(text="x")
    """)
    trace = run_code(path, {}, Runtime(mcp=ManyCalls()), timeout=30)
    assert trace.status is RunStatus.FAILED
    assert len(trace.steps) <= 1001 and "calls" in (trace.error or "")


def test_huge_call_arguments_are_stopped_at_the_trace_size_cap(tmp_path):
    path = script(tmp_path, """
        from flowtape_tools import echo
        for _ in range(80):
            echo.echo(text="x" * (1 << 20))
    """)
    trace = run_code(path, {}, Runtime(mcp=ManyCalls()), timeout=30)
    assert trace.status is RunStatus.FAILED
    kept = sum(len(json.dumps(s.params)) for s in trace.steps)
    assert kept <= 40 << 20 and "trace" in (trace.error or "")
