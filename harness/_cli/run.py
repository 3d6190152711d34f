"""`flowtape run FILE`: validate, run, print the outputs, write the trace."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness._cli._common import EXIT_BAD_INPUT, EXIT_FAILED, fail, parse_inputs, read_json
from runner.validate import InvalidWorkflow

DEFAULT_TRACE_DIR = Path("reports/traces")


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def load_servers(path: Path) -> dict[str, Any]:
    """The MCP server configs of a pflow-style config file, or exit 2 naming the problem."""
    from runner.live.mcp import MCPConfigError, load_mcp_config

    try:
        return load_mcp_config(path)
    except MCPConfigError as err:
        fail(str(err))


def run(
    file: Annotated[Path, typer.Argument(help="The JSON IR workflow to run.", show_default=False)],
    input_: Annotated[Optional[list[str]], typer.Option("--input", "-i", help="NAME=VALUE, parsed by the input's declared type (JSON for object, array, number, boolean). Repeatable.")] = None,
    format_: Annotated[OutputFormat, typer.Option("--format", help="text: the outputs for people; json: one object {status, outputs, run_id, trace}.")] = OutputFormat.text,
    mcp_config: Annotated[Optional[Path], typer.Option("--mcp-config", help="pflow-style {\"mcpServers\": {...}} JSON for mcp-<server>-<tool> nodes.")] = None,
    trace_dir: Annotated[Path, typer.Option("--trace-dir", help="Where the run's trace JSON is written.")] = DEFAULT_TRACE_DIR,
    model: Annotated[Optional[str], typer.Option("--model", help="Default litellm model for llm nodes that name none.")] = None,
    llm_api_base: Annotated[Optional[str], typer.Option("--llm-api-base", help="Base URL of an OpenAI-compatible server for llm nodes (e.g. a local llama.cpp server).", envvar="FLOWTAPE_LLM_API_BASE")] = None,
    llm_api_key: Annotated[Optional[str], typer.Option("--llm-api-key", help="API key for --llm-api-base (providers' own keys come from their usual env vars).", envvar="FLOWTAPE_LLM_API_KEY", show_default=False)] = None,
) -> None:
    """Run a workflow. Exit 0 when it succeeded, 1 when a node failed at run time, 2 for bad
    input (missing or unreadable file, invalid JSON, invalid IR, bad -i)."""
    from runner.executor import Runtime, execute

    document = read_json(file)
    inputs = parse_inputs(document, input_ or [], str(file))
    runtime = Runtime(default_model=model)
    if mcp_config is not None:
        from runner.live.mcp import LiveMCPClient

        runtime.mcp = LiveMCPClient(load_servers(mcp_config))
    from runner.live.llm import LiteLLMClient  # litellm itself is imported on the first call

    runtime.llm = LiteLLMClient(api_base=llm_api_base, api_key=llm_api_key)
    try:
        trace = execute(document, inputs, runtime=runtime, base_dir=file.resolve().parent, source=str(file))
    except InvalidWorkflow as err:
        for d in err.diagnostics:
            typer.echo(f"{file}: {d}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    finally:
        if runtime.mcp is not None:
            runtime.mcp.close()
    for warning in trace.warnings:
        typer.echo(f"{file}: {warning}", err=True)
    try:
        path = trace.write(trace_dir)
    except OSError as err:
        fail(f"{trace_dir}: cannot write the trace: {err.strerror or err}")
    passed = trace.status.value == "passed"
    if format_ is OutputFormat.json:
        payload = {"status": trace.status.value, "outputs": trace.outputs, "run_id": trace.run_id, "trace": str(path)}
        if trace.error:
            payload["error"] = trace.error
        typer.echo(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        for name, value in trace.outputs.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
            typer.echo(f"{name}: {text.rstrip()}" if "\n" not in text.rstrip() else f"{name}:\n{text.rstrip()}")
        status = "passed" if passed else f"failed: {trace.error}"
        typer.echo(f"{trace.status.value if passed else status} · {len(trace.steps)} steps · {trace.duration_ms:.0f} ms · trace {path}", err=True)
    if not passed:
        raise typer.Exit(EXIT_FAILED)
