"""flowtape's minimal IR runner: pflow-compatible JSON IR (or pflow's `.pflow.md`, read into it),
validated, executed, traced.

The runner never imports `harness`; the harness plugs its recording and replaying clients into
the `LLMClient` and `MCPClient` protocols.

    from runner import execute, Runtime
    trace = execute(document, {"name": "Ada"})
"""

from typing import TYPE_CHECKING

from runner._lazy import lazy_getattr

# Names are imported on first use (PEP 562): importing one light module of the package
# (`runner._json` for the strict JSON reader, say) must not build every pydantic model of the
# runner, which is most of what `flowtape --help` would otherwise cost.
_WHERE = {
    "MAX_JSON_DEPTH": ("runner._json", "MAX_DEPTH"), "JSONInputError": ("runner._json", "JSONInputError"),
    "parse_json": ("runner._json", "loads"), "read_json": ("runner._json", "read"),
    "MarkdownError": ("runner.pflowmd", "MarkdownError"), "read_workflow": ("runner.pflowmd", "read_workflow"),
    **{name: ("runner.agent", name) for name in ("AgentConfig", "AgentTool", "run_agent")},
    **{name: ("runner.clients", name) for name in ("LLMClient", "LLMRequest", "LLMResponse", "MCPClient", "MCPError", "ToolCallResult", "ToolInfo")},
    **{name: ("runner.executor", name) for name in ("Runtime", "execute", "new_run_id")},
    **{name: ("runner.ir", name) for name in ("Workflow", "workflow_hash")},
    **{name: ("runner.trace", name) for name in ("TRACE_VERSION", "LLMUsage", "RunStatus", "StepRecord", "ToolUsage", "Trace")},
    **{name: ("runner.validate", name) for name in ("Diagnostic", "InvalidWorkflow", "check", "load_workflow")},
}


__getattr__ = lazy_getattr(__name__, _WHERE, globals())


if TYPE_CHECKING:
    from runner._json import MAX_DEPTH as MAX_JSON_DEPTH
    from runner._json import JSONInputError
    from runner._json import loads as parse_json
    from runner._json import read as read_json
    from runner.agent import AgentConfig, AgentTool, run_agent
    from runner.clients import LLMClient, LLMRequest, LLMResponse, MCPClient, MCPError, ToolCallResult, ToolInfo
    from runner.executor import Runtime, execute, new_run_id
    from runner.ir import Workflow, workflow_hash
    from runner.pflowmd import MarkdownError, read_workflow
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
    "MarkdownError",
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
    "read_workflow",
    "run_agent",
    "workflow_hash",
]
