"""The code runner flowtape gives a run's pflow `code` nodes (`Runtime.extra["code_runner"]`):
each block runs in the code approach's sandbox (`harness.codeexec.run_code_node`), imported on the
first code node so a run without one does not pay for it."""

from __future__ import annotations

from typing import Any

__all__ = ["code_runner"]


def code_runner(code: str, inputs: dict[str, Any], timeout: float) -> Any:
    from harness.codeexec import run_code_node

    return run_code_node(code, inputs, timeout)
