"""`flowtape author TASK`: a live model writes the task's workflow or script; every call recorded."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness._cli._common import EXIT_FAILED, fail, project


def author(
    task: Annotated[str, typer.Argument(help="The task: its name in the suite, or its folder.", show_default=False)],
    approach: Annotated[Optional[list[str]], typer.Option("--approach", help="ir (a JSON IR workflow) or code (a script); repeat for both (default: those of ir and code the task lists).", show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="The orchestrator, a litellm model (default: the task's model, the local SmolLM2 server).", show_default=False)] = None,
    max_attempts: Annotated[int, typer.Option("--max-attempts", min=1, help="Submissions checked before the model is out of attempts.")] = 3,
    max_turns: Annotated[int, typer.Option("--max-turns", min=1, help="Model turns in all (discovery, submissions, corrections).")] = 10,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=16, help="Tokens the model may write per turn.")] = 1024,
    suite: Annotated[Optional[Path], typer.Option("--suite", help="The golden suite folder (default: the project's `suite` setting, else goldens).", show_default=False)] = None,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="The recordings: the task's tools/list is read from them, the authoring run is recorded to <task>/authored/<model>.<approach>.yaml (default: the project's `cassettes` setting, else cassettes).", show_default=False)] = None,
    ledger: Annotated[Optional[Path], typer.Option("--ledger", help="The DuckDB ledger the authoring runs are added to (default: the project's `ledger` setting, else reports/ledger.duckdb).", show_default=False)] = None,
    traces: Annotated[Optional[Path], typer.Option("--trace-dir", help="Traces are written to <DIR>/authoring/ (default: the project's `traces` setting, else reports/traces).", show_default=False)] = None,
    record_mode: Annotated[Optional[str], typer.Option("--record-mode", help="none (replay only), once (record what is not recorded), all (author again, live). Default: replay a recorded run, record a new one; in CI none.", show_default=False)] = None,
    llm_api_base: Annotated[Optional[str], typer.Option("--llm-api-base", envvar="FLOWTAPE_LLM_API_BASE", help="An OpenAI-compatible server; without it (and without --model) the local SmolLM2 server is started when something must be recorded.", show_default=False)] = None,
    llm_api_key: Annotated[Optional[str], typer.Option("--llm-api-key", envvar="FLOWTAPE_LLM_API_KEY", show_default=False, help="API key for --llm-api-base.")] = None,
) -> None:
    """Let a model write the task's IR workflow or code-mode script, as an orchestrator would:
    it is told the task, its inputs and judged outputs, the node catalog (ir) or the stubs (code)
    and the servers, may look tools up (list_servers, search_tools, get_tool_schema, answered
    from the recorded tools/list), and gets flowtape's validation diagnostics back after each
    submission until one passes or --max-attempts run out. Every model call is recorded (and
    replays offline); a valid artefact is saved to SUITE/TASK/authored/<model>/; the tokens and
    attempts go to the ledger's `authoring` table, measured. Exit 0 when every approach was
    authored validly, 1 when the model did not manage (a measured result), 2 for bad input."""
    from harness.author import APPROACHES, author as run_author, model_slug, save_artifact, write_authoring_row
    from harness.cassettes import Cassette, CassetteError, LeakedSecretError, RecordModeError, in_ci
    from harness.cassettes._llm import CassetteLLMClient
    from harness.goldens import GoldenError, Places, load_task
    from harness.suite import REPLAY_KEY, _version
    from harness.toolcheck import recorded_tool_infos
    from runner.live.llm import LiteLLMClient

    proj = project()
    suite, cassettes, ledger, traces = suite or proj.suite, cassettes or proj.cassettes, ledger or proj.ledger, traces or proj.traces
    folder = Path(task) if Path(task).is_dir() and (Path(task) / "task.yaml").exists() else suite / task
    try:
        loaded = load_task(folder)
    except GoldenError as err:
        fail(str(err))
    wanted = approach or [a for a in loaded.spec.approaches if a in APPROACHES]
    for name in wanted:
        if name not in APPROACHES:
            fail(f"--approach {name!r}: flowtape author writes ir or code")
    if not wanted:
        fail(f"{folder / 'task.yaml'}: the task lists neither ir nor code; give --approach")
    tools = recorded_tool_infos(cassettes / loaded.name)
    unrecorded = [s for s in loaded.spec.servers if s not in tools]
    if unrecorded:
        fail(f"{cassettes / loaded.name}: no recorded tools/list for server(s) {', '.join(unrecorded)}; "
             f"record the task first (flowtape record {suite} --task {loaded.name})")
    model = model or loaded.spec.llm.model
    ci = in_ci()
    places = Places.here(Path("/nonexistent-workdir"), project=loaded.folder)
    failed = 0
    with ExitStack() as stack:
        tapes: dict[str, Any] = {}
        for name in wanted:
            path = cassettes / loaded.name / "authored" / f"{model_slug(model)}.{name}.yaml"
            try:
                tapes[name] = Cassette.open(path, record_mode, normalizer=places.normalizer(loaded.spec.normalize), ci=ci)
            except (CassetteError, RecordModeError) as err:
                fail(str(err))
        api_base, api_key, note = llm_api_base, llm_api_key, None
        if any(not t.write_protected for t in tapes.values()) and llm_api_base is None and (model == loaded.spec.llm.model):
            from harness import localmodel

            typer.echo("flowtape: starting the local model server (SmolLM2-135M on llama.cpp)", err=True)
            try:
                server = stack.enter_context(localmodel.start_local_model(n_ctx=8192))
            except localmodel.LocalModelError as err:
                fail(str(err))
            api_base, api_key, note = server.api_base, server.api_key, localmodel.describe()
        for name in wanted:
            tape = tapes[name]
            tape.add_credential(api_key, "--llm-api-key")
            live = LiteLLMClient(api_base=api_base, api_key=api_key or (REPLAY_KEY if tape.write_protected else None),
                                 max_retries=0, timeout=proj.timeouts.model_call)
            result = run_author(loaded, name, llm=CassetteLLMClient(live, tape), model=model, tools=tools, max_attempts=max_attempts,
                                max_turns=max_turns, max_tokens=max_tokens, log=lambda line: typer.echo(f"flowtape: {line}", err=True))
            saved = False
            if result.status != "error":  # a run that completed is recorded; one cut short leaves the cassette as it was
                try:
                    saved = tape.save({"flowtape": _version(), "llm": {"model": model, "recorded_from": note or f"{model} via litellm"},
                                       "authoring": {"approach": name, "max_attempts": max_attempts, "max_turns": max_turns, "max_tokens": max_tokens}})
                except LeakedSecretError as err:
                    fail(str(err))
            save_artifact(result, loaded)
            trace_path = result.trace.write(traces / "authoring")
            try:
                write_authoring_row(ledger, result, trace_path=trace_path, cassette=tape.path)
            except Exception as err:  # a locked or foreign ledger file
                fail(f"{ledger}: cannot add the authoring run: {err}")
            failed += result.status != "valid"
            typer.echo(_summary(result, tape.path if saved else None))
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _summary(result: Any, recorded: Path | None) -> str:
    tokens = f"{result.prompt_tokens:,} prompt + {result.completion_tokens:,} completion tokens (provider usage)"
    where = f" · recorded to {recorded}" if recorded else ""
    if result.status == "valid":
        from harness.author import model_slug

        variant = f"{result.approach}@{model_slug(result.model)}"
        return (f"{result.task} [{result.approach}] {result.model}: valid after {result.attempts} submission(s) in {result.turns} turn(s)"
                f" · {tokens} · {result.artifact}{where}\n  it is the approach {variant} now: `flowtape record --task {result.task}"
                f" --approach {variant}` records its cases, `flowtape test` then judges it")
    why = result.trace.error or result.status
    first = f"; last problems: {'; '.join(result.diagnostics[:2])}" if result.diagnostics else ""
    return f"{result.task} [{result.approach}] {result.model}: not authored ({why}){first} · {tokens}{where}"
