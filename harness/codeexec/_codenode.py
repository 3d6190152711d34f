"""The sandbox a pflow `code` node runs in (`runner.nodes.code`): the same jail as the code
approach's scripts (no network, no host files, memory and time caps), with a small driver that
gives the block its inputs and hands back `result`, `next` and what it printed.

    runtime = Runtime(extra={"code_runner": run_code_node})
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from harness.codeexec._sandbox import run_script
from runner.nodes.code import CodeRun, bare_annotations

__all__ = ["run_code_node"]

MARK = "\x1eflowtape-code-node "  # the line the driver's answer is on (the block's own prints are before it)
MEMORY_MB = 512

# The driver: the block's inputs as variables, `Any`/`Optional`/`typing` at hand, prints captured.
_DRIVER = '''import io, json, sys, typing
from typing import Any, Optional

CODE = {code!r}
INPUTS = json.loads({inputs!r})
MARK = {mark!r}
namespace = {{"Any": Any, "Optional": Optional, "typing": typing, "__name__": "__main__", **INPUTS}}
out, real = io.StringIO(), sys.stdout
sys.stdout = out
try:
    exec(compile(CODE, "<code node>", "exec"), namespace)
finally:
    sys.stdout = real
answer = {{"result": namespace.get("result"), "next": namespace.get("next"), "stdout": out.getvalue()}}
print(MARK + json.dumps(answer, default=repr))
'''


def _parsed(code: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs, JSON text parsed where the block annotates the input `dict` or `list` (as
    pflow does); a block that is not Python gets them as they are (the sandbox reports it)."""
    try:
        declared = bare_annotations(code)
    except SyntaxError:
        return inputs
    out = dict(inputs)
    for name, value in inputs.items():
        if isinstance(value, str) and declared.get(name, "").split("[")[0] in ("dict", "list"):
            try:
                out[name] = json.loads(value)
            except ValueError:
                pass
    return out


def run_code_node(code: str, inputs: dict[str, Any], timeout: float) -> CodeRun:
    """Run one code block in the sandbox. Raises SandboxError when this machine cannot jail it
    (nothing runs)."""
    with tempfile.TemporaryDirectory(prefix="flowtape-code-") as folder:
        script = Path(folder) / "code_node.py"
        script.write_text(_DRIVER.format(code=code, inputs=json.dumps(_parsed(code, inputs), default=str), mark=MARK), encoding="utf-8")
        done = run_script(script, timeout=timeout, memory_mb=MEMORY_MB)
    if done.ended == "ok" and MARK in done.stdout:
        answer = json.loads(done.stdout.rsplit(MARK, 1)[1].strip())
        return CodeRun(True, answer.get("result"), answer.get("next"), answer.get("stdout") or "", done.stderr)
    if done.ended == "timeout":
        return CodeRun(False, stderr=done.stderr, error=f"the code ran longer than {timeout:g} s")
    if done.ended == "memory":
        return CodeRun(False, stderr=done.stderr, error=f"the code went over its memory cap ({MEMORY_MB} MB)")
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    return CodeRun(False, stderr=done.stderr, error=lines[-1].strip() if lines else f"the code ended with exit code {done.exit_code}")

