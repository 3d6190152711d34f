"""The code-execution baseline: run `goldens/<task>/baseline.py` sandboxed, its MCP tools reaching
it as generated typed stubs whose calls travel back to the harness (and its cassette).

    from harness.codeexec import run_code
    trace = run_code(task.folder / "baseline.py", case_inputs, runtime, task=task.name, case=case.name)
    trace.status, trace.outputs, [s.step_id for s in trace.steps]

The sandbox is a bubblewrap jail (new user, mount, PID, IPC, network and UTS namespaces, every
capability dropped) that sees a read-only interpreter, the script, the stubs and a private
size-capped /tmp, and no host file, process or network; its processes and memory are capped in
total by cgroups (where this process may make them; otherwise the result's `unenforced` says
what is not) and per process by rlimits; it has a timeout, a per-case cap on calls and on trace
size, and inherits no environment variables. It is probed before first use; where it does not
hold, `SandboxError` is raised and nothing runs. A jail is kept for the next script (each
runs in a child forked inside it, and nothing it leaves is seen by the next);
`close_sandboxes()` stops the kept ones (done at exit too).
"""

from harness.codeexec._codenode import run_code_node
from harness.codeexec._jail import SandboxError, network_denied
from harness.codeexec._run import run_code, script_hash
from harness.codeexec._sandbox import LimitExceeded, SandboxResult, close_sandboxes, run_script, warm_sandbox
from harness.codeexec._stubs import generate_stubs

__all__ = ["LimitExceeded", "SandboxError", "SandboxResult", "close_sandboxes", "generate_stubs", "network_denied", "run_code", "run_code_node", "run_script", "script_hash", "warm_sandbox"]
