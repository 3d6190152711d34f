"""flowtape's minimal IR runner: pflow-compatible JSON IR, validated, executed, traced.

The runner never imports `harness`; the harness plugs its recording and replaying clients into
the `LLMClient` and `MCPClient` protocols.

    from runner import execute, Runtime
    trace = execute(document, {"name": "Ada"})
"""

from runner.clients import LLMClient, LLMRequest, LLMResponse, MCPClient, MCPError, ToolCallResult, ToolInfo
from runner.executor import Runtime, execute, new_run_id
from runner.ir import Workflow, workflow_hash
from runner.trace import TRACE_VERSION, LLMUsage, RunStatus, StepRecord, ToolUsage, Trace
from runner.validate import Diagnostic, InvalidWorkflow, check, load_workflow

__all__ = [
    "TRACE_VERSION",
    "Diagnostic",
    "InvalidWorkflow",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "LLMUsage",
    "MCPClient",
    "MCPError",
    "RunStatus",
    "Runtime",
    "StepRecord",
    "ToolCallResult",
    "ToolInfo",
    "ToolUsage",
    "Trace",
    "Workflow",
    "check",
    "execute",
    "load_workflow",
    "new_run_id",
    "workflow_hash",
]
