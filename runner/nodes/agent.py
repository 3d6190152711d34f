"""`agent` (pflow's): a model that calls MCP tools itself, turn by turn, until it answers.

pflow runs this node with the Claude Code or Codex command-line programs. flowtape runs it with
its own tool-calling loop (`runner.agent`, the direct approach's) over the run's LLM and MCP
clients, so every turn and every tool call is one recorded call a cassette replays. `backend`
(`claude`, `codex`) is accepted and written into the trace; it does not change the loop. The
tools on offer are the MCP tools of the run's servers: `allowed_tools` picks among them
(`server.tool`, `mcp__server__tool` as Claude Code names MCP tools, or a server name for all of
its tools); Claude Code's and Codex's built-in tools (Read, Edit, Bash, ...) are theirs, not
flowtape's, and naming one is an error before anything runs.

    {"id": "when", "type": "agent", "params": {"backend": "claude", "prompt": "What time is it in Tokyo?",
     "allowed_tools": ["time.get_current_time"], "max_turns": 4,
     "output_schema": {"type": "object", "properties": {"time": {"type": "string"}}, "required": ["time"]}}}

Outputs: `result` (the answer: an object with `output_schema`, else its text), `llm_usage`
(model, tokens summed over the turns, turns) and `turns`. Each turn is a step
`<node>/turn-<n>` (kind `llm`), each tool call a step `<node>/turn-<n>:<server>.<tool>` (kind
`mcp`), in the trace before the node's own step.
"""

from __future__ import annotations

from typing import Any

from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec

DEFAULT_MAX_TURNS = 8
# Accepted because pflow's format has them; they configure the Claude Code / Codex programs,
# which flowtape does not run (the trace keeps them with the params).
BACKEND_ONLY = ("disallowed_tools", "max_thinking_tokens", "sandbox", "approval_policy", "add_dir", "profile", "config",
                "resume", "use_api_key", "cwd", "schema_retries")


class AgentNode(NodeType):
    name = "agent"
    kind = "agent"
    params = {
        "prompt": ParamSpec("string", True, "the task, as the user's message"),
        "backend": ParamSpec("string", False, "pflow's backend (claude, codex); flowtape runs its own loop either way"),
        "model": ParamSpec("string", False, "litellm model name (default: --model)"),
        "system_prompt": ParamSpec("string", False, "the system message's opening"),
        "output_schema": ParamSpec("object", False, "JSON schema of the answer (top-level type object)"),
        "allowed_tools": ParamSpec("array", False, "MCP tools offered: server.tool, mcp__server__tool or a server name (default: all)"),
        "max_turns": ParamSpec("integer", False, f"model turns before the node fails for want of an answer (default {DEFAULT_MAX_TURNS})"),
        "timeout": ParamSpec("number", False, "seconds per model call"),
        "inputs": ParamSpec("object", False, "extra values for the prompt's templates"),
        **{key: ParamSpec("any", False, "accepted, not acted on (configures pflow's agent programs)") for key in BACKEND_ONLY},
    }
    outputs = ("result", "llm_usage", "turns")

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        backend = params.get("backend")
        if isinstance(backend, str) and "${" not in backend and backend not in ("claude", "codex"):
            problems.append(("backend", f"backend '{backend}' is not one of claude, codex"))
        schema = params.get("output_schema")
        if isinstance(schema, dict) and schema.get("type") != "object":
            problems.append(("output_schema", "the answer's schema must have top-level \"type\": \"object\" (wrap other values in a property)"))
        tools = params.get("allowed_tools")
        for i, name in enumerate(tools if isinstance(tools, list) else []):
            if isinstance(name, str) and "${" not in name and not _mcp_name(name):
                problems.append((f"allowed_tools[{i}]", f"'{name}' is a built-in tool of Claude Code or Codex; flowtape's agent offers "
                                 "the run's MCP tools (name them server.tool, mcp__server__tool or by server)"))
        return problems

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        from runner.agent import AgentConfig, AgentTool, run_agent

        if ctx.llm is None:
            raise NodeFailure("no LLM client configured", retryable=False)
        model = params.get("model") or ctx.extra.get("default_model")
        if not model:
            raise NodeFailure("no model: give the node a `model` or the run a default model (--model)", retryable=False)
        schema = params.get("output_schema")
        outputs = dict(schema.get("properties") or {}) if isinstance(schema, dict) else {"result": {"type": "string"}}
        tools: list[AgentTool] = []
        if ctx.mcp is not None:
            try:
                tools = _offered(ctx.mcp, params.get("allowed_tools"))
            except NodeFailure:
                raise
            except Exception as err:  # a server that does not start, a cassette miss
                raise NodeFailure(f"listing the tools failed: {type(err).__name__}: {err}", retryable=False) from None
        elif params.get("allowed_tools"):
            raise NodeFailure("allowed_tools names MCP tools but the run has no MCP servers (--mcp-config)", retryable=False)
        config = AgentConfig(model=str(model), request=str(params["prompt"]), outputs=outputs, system=params.get("system_prompt") or None,
                             max_turns=int(params.get("max_turns") or DEFAULT_MAX_TURNS), timeout=params.get("timeout"))
        trace = run_agent(config, ctx.llm, ctx.mcp or _NoTools(), tools=tools, source=ctx.step_id)
        for step in trace.steps:
            step.step_id = f"{ctx.step_id}/{step.step_id}"
            if ctx.add_step is not None:
                ctx.add_step(step)
        turns = sum(s.kind == "llm" for s in trace.steps)
        usage = {"model": str(model), "backend": params.get("backend") or "flowtape", "turns": turns,
                 "input_tokens": sum(s.llm.prompt_tokens for s in trace.steps if s.llm),
                 "output_tokens": sum(s.llm.completion_tokens for s in trace.steps if s.llm)}
        if trace.status.value != "passed":
            raise NodeFailure(f"agent: {trace.error}", {"llm_usage": usage, "turns": turns}, retryable=False)
        answer = trace.outputs if isinstance(schema, dict) else trace.outputs.get("result")
        return NodeResult({"result": answer, "llm_usage": usage, "turns": turns})


def _mcp_name(name: str) -> bool:
    """Whether an allowed_tools entry can name an MCP tool or server (Claude Code's built-in
    tools are capitalised words: Read, Edit, Bash, WebFetch)."""
    return name.startswith("mcp__") or "." in name or not name[:1].isupper()


def _offered(mcp: Any, allowed: Any) -> list[Any]:
    from runner.agent import AgentTool

    servers = mcp.servers()
    if not allowed:
        return [AgentTool(server, info) for server in servers for info in mcp.list_tools(server)]
    chosen: list[Any] = []
    for name in allowed:
        name = str(name)
        if name.startswith("mcp__"):
            server, _, tool = name[len("mcp__"):].partition("__")
        else:
            server, _, tool = name.partition(".")
        if server not in servers:
            raise NodeFailure(f"allowed_tools: no MCP server '{server}' (servers: {', '.join(servers) or 'none'})", retryable=False)
        listed = mcp.list_tools(server)
        picked = [info for info in listed if not tool or info.name == tool]
        if not picked:
            raise NodeFailure(f"allowed_tools: server '{server}' has no tool '{tool}' (its tools: {', '.join(i.name for i in listed)})", retryable=False)
        chosen += [AgentTool(server, info) for info in picked if all(c.server != server or c.info.name != info.name for c in chosen)]
    return chosen


class _NoTools:
    """The MCP client of a run that has no servers: an agent with nothing to call."""

    def servers(self) -> list[str]:
        return []

    def list_tools(self, server: str) -> list[Any]:
        return []

    def call_tool(self, server: str, tool: str, arguments: dict[str, Any], *, step_id: str | None = None) -> Any:
        raise NodeFailure(f"no MCP server '{server}'", retryable=False)

    def close(self) -> None:
        pass
