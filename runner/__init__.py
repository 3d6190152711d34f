"""flowtape's minimal IR runner: pflow-compatible JSON IR, validated, executed, traced.

The runner never imports `harness`; the harness plugs its recording and replaying clients into
the `LLMClient` and `MCPClient` protocols.

    from runner import execute, Runtime
    trace = execute(document, {"name": "Ada"})
"""

from runner._json import MAX_DEPTH as MAX_JSON_DEPTH
from runner._json import JSONInputError
from runner._json import loads as parse_json
from runner._json import read as read_json
from runner.agent import AgentConfig, AgentTool, run_agent
from runner.clients import LLMClient, LLMRequest, LLMResponse, MCPClient, MCPError, ToolCallResult, ToolInfo
from runner.executor import Runtime, execute, new_run_id
from runner.ir import Workflow, workflow_hash
from runner.trace import TRACE_VERSION, LLMUsage, RunStatus, StepRecord, ToolUsage, Trace
from runner.validate import Diagnostic, InvalidWorkflow, check, load_workflow

__all__ = [
    "TRACE_VERSION",
    "AgentConfig",
    "AgentTool",
    "Diagnostic",
    "InvalidWorkflow",
    "JSONInputError",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "LLMUsage",
    "MCPClient",
    "MAX_JSON_DEPTH",
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
    "parse_json",
    "read_json",
    "run_agent",
    "workflow_hash",
]
