"""`flowtape record [SUITE]`: run the suite's cases against real servers and record cassettes."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness._cli._common import EXIT_BAD_INPUT, EXIT_FAILED, AddressOption, ExecutorName, ExecutorOption, fail, project


def record(
    suite: Annotated[Optional[Path], typer.Argument(help="The golden suite folder (tasks with task.yaml) (default: the project's `suite` setting, else goldens).", show_default=False)] = None,
    task: Annotated[Optional[list[str]], typer.Option("--task", help="Only this task (repeat for several).", show_default=False)] = None,
    case: Annotated[Optional[list[str]], typer.Option("--case", help="Only this case (repeat for several).", show_default=False)] = None,
    approach: Annotated[Optional[list[str]], typer.Option("--approach", help="Only this approach: ir, code, direct, or ir@<model> / code@<model> (what `flowtape author` saved for that model) (repeat for several).", show_default=False)] = None,
    cassettes: Annotated[Optional[Path], typer.Option("--cassettes", help="Where cassettes are written: <task>/<case>.<approach>.yaml (default: the project's `cassettes` setting, else cassettes).", show_default=False)] = None,
    record_mode: Annotated[str, typer.Option("--record-mode", help="all (re-record everything), new_episodes (keep what is recorded, add the rest), once (only cases with no cassette).")] = "all",
    fixtures: Annotated[Optional[Path], typer.Option("--fixtures", help="Built fixtures (default .fixtures, or FLOWTAPE_FIXTURES).")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", help="litellm model for llm nodes, code's llm() and direct's orchestrator instead of the task's (default: the local SmolLM2 server); repeat to record every case with each. Another model than the task's llm.model is recorded to <task>/models/<model>/<case>.<approach>.yaml.", show_default=False)] = None,
    llm_api_base: Annotated[Optional[str], typer.Option("--llm-api-base", envvar="FLOWTAPE_LLM_API_BASE", help="An OpenAI-compatible server for llm nodes; without it (and without --model) the local SmolLM2 server is started.")] = None,
    llm_api_key: Annotated[Optional[str], typer.Option("--llm-api-key", envvar="FLOWTAPE_LLM_API_KEY", show_default=False, help="API key for --llm-api-base.")] = None,
    review: Annotated[Optional[list[str]], typer.Option("--review", help="A human's decision at a review checkpoint, STEP=DECISION (like check=reject; STEP * for every checkpoint), recorded with the reviewer and time and replayed after (repeat for several).", show_default=False)] = None,
    reviewer: Annotated[Optional[str], typer.Option("--reviewer", help="Who made the --review decisions (default: the user name).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-record cassettes that exist (mode all); without it flowtape lists them and stops.")] = False,
    executor: ExecutorOption = ExecutorName.local,
    address: AddressOption = None,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", min=0, help="USD: once the units recorded so far cost this much, start no more (those running finish) and list the units left unrecorded; exit 1.", show_default=False)] = None,
    max_per_model: Annotated[Optional[int], typer.Option("--max-per-model", min=1, help="With --executor ray: at most this many units calling one model at once (rate limits, not cores, bound recording).", show_default=False)] = None,
    max_per_server: Annotated[Optional[int], typer.Option("--max-per-server", min=1, help="With --executor ray: at most this many units using one MCP server (by its task.yaml name) at once.", show_default=False)] = None,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Times a unit that stopped on an HTTP 429 or 5xx answer is recorded again, after 1 s, 2 s, 4 s ... (each retry is named in its line and in the saved cassette's meta.retried).")] = 3,
) -> None:
    """Record the suite's cassettes from real MCP servers and a real model. Each case runs live
    once; its MCP and LLM calls are written to its cassette (secrets redacted; a cassette in
    which a secret would remain is refused) only when the run completed: a run that did not (a
    server that did not start, a model error, a timeout) leaves the cassette on disk byte for
    byte as it was. Re-recording an existing cassette (mode all) needs --force and prints what
    changed, step by step. Exit 0 when every case ran and passed, 1 when a case failed or was
    not saved or --max-cost left some unrecorded, 2 for bad input."""
    proj = project()
    suite, cassettes = suite or proj.suite, cassettes or proj.cassettes
    from harness.cassettes import CassetteError, LeakedSecretError, RecordModeError, in_ci
    from harness.goldens import GoldenError, load_suite, select_units
    from harness.suite import LLMSettings
    from runner import InvalidWorkflow

    from runner.review import parse_decisions

    if in_ci():
        fail("flowtape record calls real servers and models; CI replays only (unset CI to record)")
    try:
        reviews = parse_decisions(review or [])
    except ValueError as err:
        fail(str(err))
    try:
        selected = select_units(load_suite(suite, task=task, case=case), approach)
    except GoldenError as err:
        fail(str(err))
    if not selected:
        fail(f"{suite}: no (case, approach) to record (no selected task lists an approach)")
    # Each case under each model; a run that calls no model is the same under all, recorded once.
    models = list(dict.fromkeys(model or [])) or [None]
    units = [(t, c, a, m) for t, c, a in selected for m in (models if t.uses_llm(a) else models[:1])]
    if record_mode == "all" and not force:
        _refuse_to_replace(units, cassettes)
    from harness._ray import RayError
    from harness.recordrun import RecordOptions, record_suite

    failed = 0
    with ExitStack() as stack:
        llm = LLMSettings(api_base=llm_api_base, api_key=llm_api_key)
        if any(t.uses_llm(a) for t, _, a, _ in units) and llm_api_base is None and not model:
            from harness import localmodel

            typer.echo("flowtape: starting the local model server (SmolLM2-135M on llama.cpp)", err=True)
            # A direct run holds the tool catalog and every result in one conversation: it gets
            # SmolLM2's full 8,192-token context (llm nodes need far less).
            n_ctx = localmodel.DIRECT_N_CTX if any(a == "direct" for _, _, a, _ in units) else localmodel.DEFAULT_N_CTX
            try:
                server = stack.enter_context(localmodel.start_local_model(n_ctx=n_ctx))
            except localmodel.LocalModelError as err:
                fail(str(err))
            llm = LLMSettings(api_base=server.api_base, api_key=server.api_key, note=localmodel.describe())
        options = RecordOptions(cassettes=cassettes, mode=record_mode, llm=llm, fixtures=fixtures, executor=executor.value, address=address,
                                max_cost=max_cost, per_model=max_per_model, per_server=max_per_server, retries=retries, several_models=len(models) > 1,
                                reviews=reviews, reviewer=reviewer)
        finished = 0

        def report(unit: Any) -> None:
            nonlocal failed, finished
            finished += 1
            failed += not unit.passed
            for message in unit.log:
                typer.echo(f"flowtape: {message}", err=True)
            typer.echo(f"[{finished}/{len(units)}] {unit.label}: {unit.line}")

        try:
            result = record_suite(units, options, report=report, log=lambda message: typer.echo(f"flowtape: {message}", err=True))
        except (GoldenError, CassetteError, RecordModeError, LeakedSecretError, InvalidWorkflow, RayError) as err:
            fail(str(err))
    if max_cost is not None:
        typer.echo(f"cost: ${result.spent_usd:.6f} of --max-cost ${max_cost:g}")
    if result.left:
        shown = [f"{t}/{c} [{a}{' · ' + m if m and len(models) > 1 else ''}]" for t, c, a, m in result.left]
        typer.echo(f"--max-cost ${max_cost:g} reached (${result.spent_usd:.6f} spent): {len(shown)} unit(s) left unrecorded: "
                   + ", ".join(shown[:50]) + (f", ... and {len(shown) - 50} more" if len(shown) > 50 else ""))
    if failed or result.left:
        raise typer.Exit(EXIT_FAILED)


def _refuse_to_replace(units: list[Any], cassettes: Path) -> None:
    """Mode `all` over existing cassettes is deliberate: without --force, say what it would replace."""
    from harness.cassettes import Cassette, CassetteError
    from harness.goldens import cassette_path

    existing = [cassette_path(cassettes, t, c, a, m) for t, c, a, m in units]
    existing = [p for p in existing if p.exists()]
    if not existing:
        return
    lines = []
    for path in existing[:10]:
        try:
            lines.append(f"  {path} ({len(Cassette.open(path, 'none').interactions)} interactions)")
        except CassetteError:
            lines.append(f"  {path} (unreadable)")
    more = [f"  ... and {len(existing) - 10} more"] if len(existing) > 10 else []
    fail("\n".join([f"record mode 'all' would re-record {len(existing)} existing cassette(s):", *lines, *more,
                     "pass --force to re-record them (each is replaced only when its new run completes), "
                     "or --record-mode new_episodes to record only what is missing"]))




__all__ = ["record", "EXIT_BAD_INPUT"]
