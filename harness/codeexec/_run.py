"""Run a code-execution baseline (`goldens/<task>/baseline.py`) and return its `Trace`.

The script is what an agent would write in code mode: it imports `flowtape_tools`, calls tools
and the model through it, and prints its answer. It runs sandboxed; every call it makes comes
back here and goes through the run's own clients, so with a cassette the code approach records
and replays exactly like the IR approach, and its calls land in the trace as steps:

    trace = run_code(Path("goldens/meeting-times/baseline.py"), {"home": "UTC"}, runtime, timeout=30)
    [s.step_id for s in trace.steps]   # ["call-1:time.convert_time", "stdout"]
    trace.outputs                      # the JSON object the script printed

Only the script's stdout is its answer: a JSON object there becomes `trace.outputs`, any other
text `{"stdout": text}`. Progress messages belong on stderr. The raw stdout and the tail of
stderr are kept in a last step, `stdout`, where they cannot collide with an output name (with
the limits this machine could not enforce, if any, as `unenforced`).
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.codeexec._bridge import MAX_CALLS, MAX_TRACE_BYTES, Bridge
from harness.codeexec._jail import sandbox_prefix
from harness.codeexec._sandbox import SandboxResult, run_script
from harness.codeexec._stubs import stub_files
from runner.clients import ToolInfo
from runner.executor import Runtime, new_run_id
from runner.trace import RunStatus, StepRecord, Trace

__all__ = ["run_code", "script_hash"]

STDERR_TAIL = 4000  # characters of stderr kept in the trace


def script_hash(text: str) -> str:
    """The trace's `workflow_hash` for a script, in the IR's format (`sha256:` + 16 hex)."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def run_code(script: Path, inputs: dict[str, Any], runtime: Runtime, *, task: str | None = None, case: str | None = None,
             timeout: float = 60.0, memory_mb: int = 512, base_dir: Path | None = None, max_calls: int = MAX_CALLS,
             max_trace_mb: int = MAX_TRACE_BYTES >> 20, approach: str = "code") -> Trace:
    """Run `script` sandboxed with typed stubs for every tool of `runtime.mcp`, and trace it.

    Args:
        script: the baseline; a relative path is read from `base_dir` (default: the current folder).
        inputs: the case's inputs, as `flowtape_tools.inputs`.
        runtime: the clients every call goes through (live, or a cassette's).
        timeout: seconds of wall time for the whole script, its tool and model calls included.
        memory_mb: the memory cap of the whole sandbox (and of each of its processes).
        max_calls: the most tool, model and discovery calls the script may make.
        max_trace_mb: the most JSON of arguments and results its calls may put in the trace.
        approach: the trace's label: `code`, or `code@<model>` for a script a model authored.

    Returns:
        The trace (`approach="code"` by default): `passed` when the script exits 0, `failed` with the reason
        otherwise, `error` when the tools could not be listed (nothing ran).

    Raises:
        SandboxError: network access cannot be denied on this machine; nothing was run.
        OSError: the script cannot be read.
    """
    sandbox_prefix()  # fail closed before any server starts or any cassette is touched
    path = Path(script) if Path(script).is_absolute() else (base_dir or Path.cwd()) / script
    text = path.read_text(encoding="utf-8")
    trace = Trace(run_id=new_run_id(), task=task, case=case, approach=approach, workflow=str(path),
                  workflow_hash=script_hash(text), status=RunStatus.PASSED, inputs=dict(inputs))
    started = time.perf_counter()
    try:
        tools = _list_tools(runtime)
    except Exception as err:  # a server that will not start, a cassette miss: the run cannot start
        trace.status, trace.error = RunStatus.ERROR, f"listing the tools failed: {type(err).__name__}: {err}"
        trace.duration_ms = (time.perf_counter() - started) * 1000
        return trace
    bridge = Bridge(tools, runtime, max_calls=max_calls, max_trace_bytes=max_trace_mb << 20)
    script_started = datetime.now(timezone.utc)
    result = run_script(path, handler=bridge, stubs=stub_files(tools, inputs=inputs), timeout=timeout, memory_mb=memory_mb)
    trace.steps = [*bridge.steps, _stdout_step(path, result, script_started)]
    trace.outputs = _outputs(result.stdout)
    if result.ended != "ok":
        trace.status, trace.error = RunStatus.FAILED, _why(result, bridge.steps, timeout, memory_mb)
    trace.duration_ms = (time.perf_counter() - started) * 1000
    return trace


def _list_tools(runtime: Runtime) -> dict[str, list[ToolInfo]]:
    if runtime.mcp is None:
        return {}
    return {server: runtime.mcp.list_tools(server) for server in runtime.mcp.servers()}


def _outputs(stdout: str) -> dict[str, Any]:
    try:
        value = json.loads(stdout)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"stdout": stdout.rstrip("\n")}


def _stdout_step(path: Path, result: SandboxResult, started: datetime) -> StepRecord:
    output = {"stdout": result.stdout, "stderr": result.stderr[-STDERR_TAIL:], "exit_code": result.exit_code, "ended": result.ended,
              **({"unenforced": list(result.unenforced)} if result.unenforced else {})}  # limits this machine could not set
    return StepRecord(step_id="stdout", kind="code", node_type="code-script", params={"script": path.name}, output=output,
                      action="default" if result.ended == "ok" else "error", started_at=started, duration_ms=result.duration_ms)


def _why(result: SandboxResult, steps: list[StepRecord], timeout: float, memory_mb: int) -> str:
    """One line naming why the script did not succeed, for `trace.error`."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "(nothing on stderr)"
    if result.ended == "timeout":
        why = f"timeout after {timeout:g} s"
    elif result.ended == "limit":
        why = f"stopped after {len(steps)} calls: {result.detail}"
    elif result.ended == "memory":
        why = f"memory cap of {memory_mb} MB exceeded: {last}"
    elif result.exit_code is not None and result.exit_code < 0:
        why = f"script killed by signal {_signal_name(-result.exit_code)}: {last}"
    else:
        why = f"script exited with code {result.exit_code}: {last}"
    if result.detail and result.ended != "limit":
        why += f" ({result.detail})"
    failed = [s for s in steps if s.error]
    if failed and result.ended == "crash":  # name the call behind it (its message is often `last`)
        step = failed[-1]
        why += f"; after call '{step.step_id}' failed" + ("" if (step.error or "") in last else f": {step.error}")
    return why


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
