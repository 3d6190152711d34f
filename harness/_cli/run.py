"""`flowtape run FILE`: validate, run, print the outputs, write the trace."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness._cli._common import EXIT_BAD_INPUT, EXIT_FAILED, fail, parse_inputs, project



class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def read_workflow(path: Path) -> Any:
    """The workflow document (JSON IR, or pflow's markdown `.pflow.md` read into it), or exit 2
    with one line naming the file and the place: not found, not UTF-8, not JSON, a key repeated
    in one object, nested too deep (`runner._json`), markdown that is not a workflow
    (`file:line: ...`, `runner.pflowmd`)."""
    from runner import JSONInputError, read_workflow as read_any  # the runner's package is imported by the commands that run, not by --help

    try:
        return read_any(path)
    except JSONInputError as err:
        fail(str(err))


def load_servers(path: Path) -> dict[str, Any]:
    """The MCP server configs of a pflow-style config file, or exit 2 naming the problem."""
    from runner.live.mcp import MCPConfigError, load_mcp_config

    try:
        return load_mcp_config(path)
    except MCPConfigError as err:
        fail(str(err))


def _open_cassette(path: Path, mode: str | None, mcp_config: Path | None, runtime: Any, *, workflow: Path) -> Any:
    """Plug cassette clients into `runtime`; with no --mcp-config the servers named in the
    cassette are replayed (their commands are never run). Recordings are normalised as a suite
    run normalises them: the project's places (`${FIXTURES}`, `${ROOT}`, its own), and the
    task's `normalize:` when the workflow is a task's (a task.yaml beside it), so a cassette
    `flowtape record` wrote replays here too."""
    import tempfile

    from harness.cassettes import Cassette, CassetteError, RecordModeError, in_ci
    from harness.cassettes._llm import CassetteLLMClient
    from harness.cassettes._mcp import CassetteMCPClient
    from harness.goldens import GoldenError, NormalizeSpec, Places, load_task
    from runner.live.mcp import ServerConfig

    try:
        spec = load_task(workflow.parent).spec.normalize if (workflow.parent / "task.yaml").is_file() else NormalizeSpec()
    except GoldenError:
        spec = NormalizeSpec()  # not a task after all: places only
    try:
        places = Places.here(Path(tempfile.gettempdir()) / "flowtape-no-workdir", project=workflow.resolve().parent)
        tape = Cassette.open(path, mode, normalizer=places.normalizer(spec), ci=in_ci())
    except (CassetteError, RecordModeError, GoldenError) as err:
        fail(str(err))
    if mcp_config is not None:
        servers = load_servers(mcp_config)
    else:
        named = tape.meta.get("servers") if isinstance(tape.meta.get("servers"), dict) else {}
        servers = {name: ServerConfig(name=name, transport="stdio", command=str(spec.get("command") or name)) for name, spec in named.items()}
    runtime.mcp = CassetteMCPClient(servers, tape)
    from harness.cassettes._review import CassetteReviewClient

    runtime.review = CassetteReviewClient(runtime.review, tape)  # review decisions: recorded with the calls, replayed
    recorded = tape.meta.get("llm") if isinstance(tape.meta.get("llm"), dict) else {}
    if runtime.default_model is None and isinstance(recorded.get("model"), str):
        runtime.default_model = recorded["model"]  # llm nodes that name no model: the one the cassette was recorded with
    if tape.write_protected and runtime.llm.api_key is None:
        from harness.suite import REPLAY_KEY

        runtime.llm.api_key = REPLAY_KEY  # the openai SDK sends nothing without a key; replay sends nothing anyway
    runtime.llm = CassetteLLMClient(runtime.llm, tape)
    return tape


def _meta(tape: Any, runtime: Any) -> dict[str, Any]:
    """What a recording keeps besides its interactions: the servers, and the default model the
    run's llm and agent nodes were recorded with (a replay then needs no --model)."""
    meta: dict[str, Any] = {"servers": runtime.mcp.server_meta()}
    if runtime.default_model and any(i.kind == "llm" for i in tape.interactions):
        meta["llm"] = {"model": runtime.default_model, "recorded_from": f"{runtime.default_model} via litellm (flowtape run)"}
    return meta


def _close_cassette(tape: Any, runtime: Any, completed: bool) -> list[Any]:
    """Save what was recorded when the run completed (exit 2 if a secret would be written; a run
    that did not complete leaves the cassette as it was) and report unused recordings."""
    from harness.cassettes import LeakedSecretError

    try:
        if tape.changed and not completed:
            state = "left as it was" if tape.existed else "not written"
            typer.echo(f"flowtape: the run did not complete; {tape.path} {state} (a run that did not complete is never recorded)", err=True)
        elif tape.save(_meta(tape, runtime)):
            typer.echo(f"flowtape: recorded {len(tape.interactions)} interactions in {tape.path}", err=True)
    except LeakedSecretError as err:
        fail(str(err))
    unused = tape.unused()
    if unused:
        listed = ", ".join(f"{i.step or '(set-up)'} ({i.kind} {i.server} {i.method})" for i in unused[:8])
        typer.echo(f"flowtape: {len(unused)} recording(s) in {tape.path} not used: {listed}", err=True)
    return unused


def _redacted(trace: Any, tape: Any, servers: dict[str, Any], llm_api_key: str | None) -> Any:
    """The trace as it may be written and shown: known secrets (secret-named variables, the
    servers' credentials, --llm-api-key) and URL credentials redacted in place."""
    from harness.cassettes._secrets import redact_trace, secrets_of

    secrets = tape.known_secrets() if tape is not None else secrets_of(servers.values(), {"--llm-api-key": llm_api_key})
    return redact_trace(trace, secrets)


def _check_live_tools(document: Any, client: Any, file: Path) -> None:
    """Before anything runs, each MCP node against the tools its server lists (the servers the
    workflow names are started for it; one that does not start is left to fail its node in the
    run, where an error edge may handle it): an unknown tool (with a did-you-mean), a missing required
    argument or a literal argument its schema refuses is bad input (exit 2), as in pflow."""
    from harness.toolcheck import check_live

    try:
        problems = check_live(document, client)
    except Exception:  # noqa: BLE001 - a server that does not start fails its node in the run (an error edge may handle it)
        return
    if problems:
        client.close()
        for problem in problems:
            typer.echo(f"{file}: {problem}", err=True)
        typer.echo(f"{file}: {len(problems)} problem{'s' if len(problems) != 1 else ''} with the servers' tools; nothing ran", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


def run(
    file: Annotated[Path, typer.Argument(help="The workflow to run: JSON IR, or pflow's markdown (.pflow.md).", show_default=False)],
    input_: Annotated[Optional[list[str]], typer.Option("--input", "-i", help="NAME=VALUE, parsed by the input's declared type (JSON for object, array, number, boolean). Repeatable.")] = None,
    format_: Annotated[OutputFormat, typer.Option("--format", help="text: the outputs for people; json: one object {status, outputs, run_id, trace}.")] = OutputFormat.text,
    mcp_config: Annotated[Optional[Path], typer.Option("--mcp-config", help="pflow-style {\"mcpServers\": {...}} JSON for mcp-<server>-<tool> nodes.")] = None,
    trace_dir: Annotated[Optional[Path], typer.Option("--trace-dir", help="Where the run's trace JSON is written (default: the project's `traces` setting, else reports/traces).", show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Default litellm model for llm nodes that name none (with --cassette: the model it was recorded with).")] = None,
    llm_api_base: Annotated[Optional[str], typer.Option("--llm-api-base", help="Base URL of an OpenAI-compatible server for llm nodes (e.g. a local llama.cpp server).", envvar="FLOWTAPE_LLM_API_BASE")] = None,
    llm_api_key: Annotated[Optional[str], typer.Option("--llm-api-key", help="API key for --llm-api-base (providers' own keys come from their usual env vars).", envvar="FLOWTAPE_LLM_API_KEY", show_default=False)] = None,
    cassette: Annotated[Optional[Path], typer.Option("--cassette", help="Record MCP and LLM calls into this YAML/JSON file, or replay them from it. Replay needs no server, no model and no --mcp-config.")] = None,
    record_mode: Annotated[Optional[str], typer.Option("--record-mode", help="none (replay only; the default when the cassette exists, and always in CI), once (record if the cassette is new), new_episodes (record what is missing), all (re-record).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="With --cassette: recordings the run did not use fail it (exit 1).")] = False,
    approve: Annotated[Optional[list[str]], typer.Option("--approve", help="Run this step although it has `approval: required` (repeatable; '*' approves every one). Without it such a step does not run: the node fails, saying so.", show_default=False)] = None,
    review: Annotated[Optional[list[str]], typer.Option("--review", help="A decision at a review checkpoint, STEP=DECISION (like check=approve; STEP * for every one); repeatable. Without one the run stops at the checkpoint. With --cassette it is recorded (who, when) and replayed after.", show_default=False)] = None,
    reviewer: Annotated[Optional[str], typer.Option("--reviewer", help="Who made the --review decisions (default: the user name).", show_default=False)] = None,
) -> None:
    """Run a workflow. Exit 0 when it succeeded, 1 when a node failed at run time, 2 for bad
    input (missing or unreadable file, invalid JSON, invalid IR, bad -i)."""
    from runner.executor import Runtime, execute
    from runner.trace import clip
    from runner.validate import InvalidWorkflow

    document = read_workflow(file)
    inputs = parse_inputs(document, input_ or [], str(file))
    from harness.codenode import code_runner

    from runner.review import GivenDecisions, parse_decisions

    try:
        decisions = parse_decisions(review or [])
    except ValueError as err:
        fail(str(err))
    runtime = Runtime(default_model=model, approved=frozenset(approve or ()), extra={"code_runner": code_runner},  # code nodes: in the sandbox
                      review=GivenDecisions({**{step: "approve" for step in approve or ()}, **decisions}, reviewer) if decisions else None)
    from runner.live.llm import LiteLLMClient  # litellm itself is imported on the first call

    runtime.llm = LiteLLMClient(api_base=llm_api_base, api_key=llm_api_key, max_retries=0 if cassette else 2)
    tape = None
    if cassette is not None:
        tape = _open_cassette(cassette, record_mode, mcp_config, runtime, workflow=file)
        tape.add_credential(llm_api_key, "--llm-api-key")
    elif record_mode is not None or strict:
        fail("--record-mode and --strict need --cassette")
    servers: dict[str, Any] = {}
    if cassette is None and mcp_config is not None:
        from runner.live.mcp import LiveMCPClient

        servers = load_servers(mcp_config)
        runtime.mcp = LiveMCPClient(servers)
        _check_live_tools(document, runtime.mcp, file)
    try:
        trace = execute(document, inputs, runtime=runtime, base_dir=file.resolve().parent, source=str(file))
    except InvalidWorkflow as err:
        for d in err.diagnostics:
            typer.echo(d.located(str(file)), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    finally:
        if runtime.mcp is not None:
            runtime.mcp.close()
    for warning in trace.warnings:
        typer.echo(f"{file}: {warning}", err=True)
    unused = _close_cassette(tape, runtime, trace.status.value == "passed") if tape is not None else []
    if unused and strict and trace.status.value == "passed":
        from runner.trace import RunStatus

        trace.status, trace.error = RunStatus.FAILED, f"{len(unused)} recording(s) in {cassette} were not used (--strict)"
    trace = _redacted(trace, tape, servers, llm_api_key)
    try:
        trace_dir = trace_dir or project().traces
        path = trace.write(trace_dir)
    except OSError as err:
        fail(f"{trace_dir}: cannot write the trace: {err.strerror or err}")
    passed = trace.status.value == "passed"
    outputs = clip(trace.outputs)  # printed as the trace stores them: never too deep to print
    if format_ is OutputFormat.json:
        from runner.ir import OutputSpec
        from runner.outputs import printed

        # as pflow's CLI prints them for machines: a string holding JSON as its value, unless declared a string
        specs = document.get("outputs") if isinstance(document, dict) and isinstance(document.get("outputs"), dict) else {}
        outputs = printed(outputs, {k: OutputSpec.model_validate(v) for k, v in specs.items() if isinstance(v, dict)})
        if not specs and trace.steps and trace.steps[-1].output is not None:
            outputs = clip(trace.steps[-1].output)  # no declared outputs: the last node's, as pflow prints
        payload = {"status": trace.status.value, "outputs": outputs, "run_id": trace.run_id, "trace": str(path)}
        if trace.error:
            payload["error"] = trace.error
        typer.echo(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        for name, value in outputs.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
            typer.echo(f"{name}: {text.rstrip()}" if "\n" not in text.rstrip() else f"{name}:\n{text.rstrip()}")
        status = "passed" if passed else f"failed: {trace.error}"
        typer.echo(f"{trace.status.value if passed else status} · {len(trace.steps)} steps · {trace.duration_ms:.0f} ms · trace {path}", err=True)
    if not passed:
        raise typer.Exit(EXIT_FAILED)
