"""The code-execution baseline: run `goldens/<task>/baseline.py` sandboxed, its MCP tools reaching
it as generated typed stubs whose calls travel back to the harness (and its cassette).

    from harness.codeexec import run_code
    trace = run_code(task.folder / "baseline.py", case_inputs, runtime, task=task.name, case=case.name)
    trace.status, trace.outputs, [s.step_id for s in trace.steps]

The sandbox has no network (a new network namespace, verified before first use; where that is not
possible `SandboxError` is raised and nothing runs), a memory cap, a timeout and a throwaway
working directory, and inherits no environment variables.
"""

from harness.codeexec._jail import SandboxError, network_denied
from harness.codeexec._run import run_code, script_hash
from harness.codeexec._sandbox import SandboxResult, run_script
from harness.codeexec._stubs import generate_stubs

__all__ = ["SandboxError", "SandboxResult", "generate_stubs", "network_denied", "run_code", "run_script", "script_hash"]
