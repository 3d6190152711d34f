"""`flowtape record [SUITE]`: run the suite's cases against real servers and record cassettes."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness._cli._common import EXIT_BAD_INPUT, EXIT_FAILED, fail


def record(
    suite: Annotated[Path, typer.Argument(help="The golden suite folder (tasks with task.yaml).")] = Path("goldens"),
    task: Annotated[Optional[str], typer.Option("--task", help="Record only this task.")] = None,
    case: Annotated[Optional[str], typer.Option("--case", help="Record only this case.")] = None,
    approach: Annotated[Optional[str], typer.Option("--approach", help="Record only this approach (ir or code; direct is modelled, never run).")] = None,
    cassettes: Annotated[Path, typer.Option("--cassettes", help="Where cassettes are written: <task>/<case>.<approach>.yaml.")] = Path("cassettes"),
    record_mode: Annotated[str, typer.Option("--record-mode", help="all (re-record everything), new_episodes (keep what is recorded, add the rest), once (only cases with no cassette).")] = "all",
    fixtures: Annotated[Optional[Path], typer.Option("--fixtures", help="Built fixtures (default .fixtures, or FLOWTAPE_FIXTURES).")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="litellm model for llm nodes instead of the task's (default: the local SmolLM2 server).")] = None,
    llm_api_base: Annotated[Optional[str], typer.Option("--llm-api-base", envvar="FLOWTAPE_LLM_API_BASE", help="An OpenAI-compatible server for llm nodes; without it (and without --model) the local SmolLM2 server is started.")] = None,
    llm_api_key: Annotated[Optional[str], typer.Option("--llm-api-key", envvar="FLOWTAPE_LLM_API_KEY", show_default=False, help="API key for --llm-api-base.")] = None,
) -> None:
    """Record the suite's cassettes from real MCP servers and a real model. Each case runs live
    once; its MCP and LLM calls are written to its cassette (secrets redacted; a cassette in
    which a secret would remain is refused). Exit 0 when every case ran and passed, 1 when a case
    failed, 2 for bad input."""
    from harness.cassettes import CassetteError, LeakedSecretError, RecordModeError, in_ci
    from harness.goldens import GoldenError, load_suite
    from harness.suite import LLMSettings, run_case
    from runner import InvalidWorkflow

    if in_ci():
        fail("flowtape record calls real servers and models; CI replays only (unset CI to record)")
    try:
        tasks = load_suite(suite, task=task, case=case)
    except GoldenError as err:
        fail(str(err))
    failed = 0
    with ExitStack() as stack:
        llm = LLMSettings(api_base=llm_api_base, api_key=llm_api_key, model=model)
        if any(t.uses_llm() for t in tasks) and llm_api_base is None and model is None:
            from harness import localmodel

            typer.echo("flowtape: starting the local model server (SmolLM2-135M on llama.cpp)", err=True)
            try:
                server = stack.enter_context(localmodel.start_local_model())
            except localmodel.LocalModelError as err:
                fail(str(err))
            llm = LLMSettings(api_base=server.api_base, api_key=server.api_key, note=localmodel.describe())
        units = [(t, c, a) for t in tasks for a in t.spec.approaches if a != "direct" and approach in (None, a) for c in t.cases]
        total = len(units)
        done = 0
        for t, c, a in units:
            done += 1
            try:
                run = run_case(t, c, cassettes=cassettes, mode=record_mode, llm=llm, fixtures=fixtures, evaluate=True, approach=a)
            except (GoldenError, CassetteError, RecordModeError, LeakedSecretError, InvalidWorkflow) as err:
                fail(str(err))
            status = run.trace.status.value
            failed += not run.passed
            what = f"recorded {len(run.cassette.interactions)} interactions" if run.saved else "nothing new to record"
            failing = [f"{r.target} {r.evaluator}" for r in run.evaluations if not r.passed]
            typer.echo(f"[{done}/{total}] {t.name}/{c.name} [{a}]: {status}, {what} -> {run.cassette.path}"
                       + (f" ({run.trace.error})" if run.trace.error else "")
                       + (f"; failing checks: {', '.join(failing)}" if failing else ""))
    if failed:
        raise typer.Exit(EXIT_FAILED)


__all__ = ["record", "EXIT_BAD_INPUT"]
