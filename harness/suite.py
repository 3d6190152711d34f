"""Run one golden case under the IR approach through its cassette: the unit that `flowtape record`
(and later `flowtape test`) repeats over a suite.

    run = run_case(task, case, cassettes=Path("cassettes"), mode="none", ci=True)
    run.trace.status, run.unused, run.live_starts
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from harness.cassettes import Cassette, RecordMode, StepChange, StoredInteraction
from harness.cassettes._secrets import redact_server_spec, redact_trace, scrub
from harness.codenode import code_runner
from harness.envs import EnvError, envs_root, server_specs
from harness.goldens import (Case, GoldenError, Places, Task, base_approach, calls_llm, cassette_path, direct_outputs, direct_prompt,
                             project_settings)
from harness.settings import Settings
from runner import JSONInputError, RunStatus, Runtime, Trace, execute, read_workflow
from runner.clients import MCPError
from runner.live.mcp import MCPConfigError, parse_mcp_config


REPLAY_KEY = "flowtape-replay-needs-no-key"


@dataclass
class LLMSettings:
    """Where llm calls go when they must be made live (recording). Replay needs none of it."""

    api_base: str | None = None
    api_key: str | None = None
    model: str | None = None
    note: str | None = None  # what the cassette's meta says the calls were recorded from
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseRun:
    task: str
    case: str
    approach: str
    trace: Trace
    cassette: Cassette
    unused: list[StoredInteraction]
    live_starts: int  # real MCP servers started (0 on a pure replay)
    saved: bool
    evaluations: list[Any] = field(default_factory=list)  # EvaluationResult, when asked for
    changes: list[StepChange] = field(default_factory=list)  # what the save changed, by step
    held_back: bool = False  # recorded, but not saved: the run did not complete

    @property
    def passed(self) -> bool:
        return self.trace.status.value == "passed" and all(r.passed for r in self.evaluations)


def run_case(task: Task, case: Case, *, cassettes: Path, mode: RecordMode | str | None = None, ci: bool = False,
             llm: LLMSettings | None = None, fixtures: Path | None = None, evaluate: bool = False,
             tokenizer: str = "o200k_base", approach: str = "ir", log: Callable[[str], None] | None = None,
             model: str | None = None, notes: dict[str, Any] | None = None, reviews: dict[str, str] | None = None,
             reviewer: str | None = None) -> CaseRun:
    """Run `case` of `task` under `approach` (`ir`: the workflow; `code`: the task's baseline.py
    in the sandbox; `direct`: a model calling the tools itself, `runner.agent`, asked the task's
    `direct.prompt`; `ir@<model>` / `code@<model>`: what `flowtape author` saved for that
    model) with its cassette, judge it when `evaluate` (model-judged
    evaluators call through the same cassette, so judging records and replays too), save what was
    recorded, and report. `notes` go into the saved cassette's `meta` (a recording that needed
    retries after 429/5xx answers says so there). Review checkpoints replay the cassette's
    decision; recording, they take the decision `reviews` gives their step (`flowtape record
    --review STEP=DECISION`), made by `reviewer` (default: the user), and record it.

    Raises:
        GoldenError: the task's server config or workflow file is invalid.
        CassetteError, RecordModeError: the cassette cannot be used in this mode.
        InvalidWorkflow: the workflow or the case's inputs are invalid.
        LeakedSecretError: a recording would store a secret (nothing is written).

    The returned trace (and evaluation reasons) have known secrets and URL credentials redacted,
    so the callers that write them (`flowtape test`'s traces and ledger) write no secret.
    """
    from harness.accounting import with_result_tokens
    from harness.cassettes._llm import CassetteLLMClient
    from harness.cassettes._mcp import CassetteMCPClient
    from harness.cassettes._review import CassetteReviewClient
    from runner.live.llm import LiteLLMClient
    from runner.review import GivenDecisions

    llm = llm or LLMSettings()
    # The model the run calls where a step names none: `model` (a unit of `--model`), else the
    # live settings', else the task's. Another model than the task's has cassettes of its own.
    model = model or llm.model or task.spec.llm.model
    # A fresh folder for servers that keep state, made only for tasks that use one (making and
    # removing it costs milliseconds per case).
    needs_workdir = "${WORKDIR}" in json.dumps([task.spec.servers, case.spec.inputs])
    workdir = Path(tempfile.mkdtemp(prefix="flowtape-")) if needs_workdir else Path(tempfile.gettempdir()) / "flowtape-no-workdir"
    try:
        settings: Settings = project_settings(task.folder)  # read once: the places and the timeouts
        places = Places.here(workdir, fixtures, project=task.folder, settings=settings)
        missing = [name for name in task.spec.fixtures if not (places.fixtures / name).exists()]
        if missing:
            built = sorted(p.name for p in places.fixtures.iterdir()) if places.fixtures.is_dir() else []
            raise GoldenError(f"{task.folder / 'task.yaml'}: fixtures: {', '.join(repr(m) for m in missing)} not in {places.fixtures}"
                              f" (there: {', '.join(built) or 'nothing'}; scripts/build_fixtures.py builds them, --fixtures or FLOWTAPE_FIXTURES points elsewhere)")
        document = None
        base = base_approach(approach)
        if base == "ir":
            try:
                document = read_workflow(task.artefact_path(approach))  # strict: duplicate keys, depth, UTF-8; .pflow.md by line
            except JSONInputError as err:
                raise GoldenError(str(err)) from None
        cassette = Cassette.open(cassette_path(cassettes, task, case, approach, model), mode, normalizer=places.normalizer(task.spec.normalize), ci=ci)
        try:  # a server with an environment of its own gets it made when it may have to start
            specs = server_specs(places.expand(task.spec.servers), envs_root(task.folder.parent.parent),
                                 create=not cassette.write_protected, log=log)
            servers = parse_mcp_config({"mcpServers": specs}, source=str(task.folder / "task.yaml"))
        except (MCPConfigError, EnvError) as err:
            raise GoldenError(f"{task.folder / 'task.yaml'}: {err}" if isinstance(err, EnvError) else str(err)) from None
        cassette.add_credential(llm.api_key, "--llm-api-key")
        # The openai SDK will not send a request without a key; a replay sends none, so any will do.
        api_key = llm.api_key or (REPLAY_KEY if cassette.write_protected else None)
        timeouts = settings.timeouts
        live = LiteLLMClient(api_base=llm.api_base, api_key=api_key, max_retries=0, extra=llm.extra or None, timeout=timeouts.model_call)
        with CassetteMCPClient(servers, cassette, startup_timeout=timeouts.server_start, call_timeout=timeouts.tool_call) as mcp:
            # Review checkpoints: the cassette's decision; recording, the one given (`reviews`, by step).
            review = CassetteReviewClient(GivenDecisions(reviews, reviewer) if reviews else None, cassette)
            runtime = Runtime(llm=CassetteLLMClient(live, cassette), mcp=mcp, default_model=model, extra={"code_runner": code_runner}, review=review)
            inputs = places.expand(case.spec.inputs)
            if base == "ir":
                path = task.artefact_path(approach)
                trace = execute(document, inputs, runtime=runtime, base_dir=path.parent,
                                source=str(path), task=task.name, case=case.name, approach=approach)
            elif base == "direct":
                trace = _run_direct(task, case, inputs, runtime, model, cassette.normalizer.text_to_stored)
            else:
                from harness.codeexec import run_code

                budget = task.spec.code
                trace = run_code(task.artefact_path(approach).resolve(), inputs, runtime, task=task.name, case=case.name, base_dir=task.folder.resolve(),
                                 timeout=budget.timeout, memory_mb=budget.memory_mb, max_calls=budget.max_calls, approach=approach)
            # Every connected server's tools/list, used or not (what a direct agent is offered);
            # after the run, so a run that failed never starts a server again.
            if completed(trace) or cassette.write_protected:
                try:
                    mcp.list_every_server()
                except MCPError as err:
                    trace.status, trace.error = RunStatus.ERROR, f"listing every connected server's tools failed: {err}"
            # Each tool step's result_tokens from the content blocks the client returned (the
            # documented rule; the step's output keeps only the structured copy), in the form the
            # cassette stores (`${WORKDIR}`, not this run's random folder name, whose tokens vary),
            # so a count is the same in every replay and checkout.
            portable = [(step_id, server, tool, replace(result, content=cassette.normalizer.to_stored(list(result.content)),
                                                        structured_content=cassette.normalizer.to_stored(result.structured_content)))
                        for step_id, server, tool, result in mcp.results]
            trace = with_result_tokens(trace, portable, tokenizer).model_copy(update={"model": model})
            results = judge(task, case, trace, llm=runtime.llm, judge_model=model, tokenizer=tokenizer) if evaluate else []
            # The servers as task.yaml writes them (places unexpanded), credentials redacted.
            servers_meta = {name: redact_server_spec(spec) for name, spec in task.spec.servers.items()}
            meta = {"flowtape": _version(), "servers": servers_meta, **(notes or {})}
            uses_llm = calls_llm(document) if document is not None else task.uses_llm(approach)  # the workflow is read already
            if uses_llm:
                meta["llm"] = {"model": model, "recorded_from": llm.note or f"{model} via litellm"}
            # Recording is transactional: a run that did not complete (a server that did not
            # start, a model error, a timeout) leaves the cassette on disk as it was. A direct run
            # that ended for want of a valid answer (max_turns, the context budget) did complete:
            # the model's failure is the measurement; only `error` (it could not go on) is held back.
            changes = cassette.changes()
            held_back = cassette.changed and not completed(trace)
            saved = False if held_back else cassette.save(meta)
            # What is returned is what gets written (traces, ledger): known secrets and URL
            # credentials redacted in place, after judging saw the real values.
            secrets = cassette.known_secrets()
            trace = redact_trace(trace, secrets)
            results = [replace(r, reason=scrub(r.reason, secrets)) if r.reason else r for r in results]
            return CaseRun(task.name, case.name, approach, trace, cassette, cassette.unused(), mcp.live_starts, saved, results,
                           changes=changes if saved else [], held_back=held_back)
    finally:
        if needs_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def completed(trace: Trace) -> bool:
    """Whether a run completed, so its recording may be saved (and pruned): a workflow or script
    that passed; a direct run that ended with an answer or for want of one (`failed`: max_turns,
    the context budget) -- the model's failure is what was measured -- but not one that could not
    go on (`error`: a provider or server failure)."""
    if trace.approach == "direct":
        return trace.status is not RunStatus.ERROR
    return trace.status is RunStatus.PASSED


def _run_direct(task: Task, case: Case, inputs: dict[str, Any], runtime: Runtime, model: str, stored: Callable[[str], str]) -> Trace:
    """The direct approach: `runner.agent` over the run's (cassette) clients."""
    from runner.agent import AgentConfig, run_agent

    spec = task.spec.direct
    config = AgentConfig(model=model, request=direct_prompt(task, inputs), outputs=direct_outputs(task), system=spec.system,
                         max_turns=spec.max_turns, protocol=spec.protocol, temperature=spec.temperature, max_tokens=spec.max_tokens,
                         max_result_chars=spec.max_result_chars, max_context_chars=spec.max_context_chars, timeout=spec.timeout)
    # The hash names the direct section, not one case's rendered request (as an IR's names the workflow).
    digest = "sha256:" + hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
    assert runtime.mcp is not None and runtime.llm is not None
    return run_agent(config, runtime.llm, runtime.mcp, servers=spec.servers, task=task.name, case=case.name, inputs=inputs,
                     source=f"{task.folder / 'task.yaml'}#direct", workflow_hash=digest, stored=stored)


def code_step_targets(patterns: dict[str, list[Any]], step_ids: list[str]) -> dict[str, list[Any]]:
    """The code approach's step ids each pattern names, with its evaluators: `server.tool` is
    every call of that tool, `call-<n>` the n-th call, anything else a glob over the step ids
    (`call-<n>:<server>.<tool>`). A pattern that names no call stays as it is, so its checks
    fail with "did not run" rather than vanish."""
    import fnmatch
    import re

    targets: dict[str, list[Any]] = {}
    for pattern, evaluators in patterns.items():
        if re.fullmatch(r"call-\d+", pattern):
            found = [s for s in step_ids if s.startswith(pattern + ":")]
        elif re.fullmatch(r"[^:*?\[\]]+\.[^:*?\[\]]+", pattern):
            found = [s for s in step_ids if s.startswith("call-") and s.endswith(":" + pattern)]
        else:
            found = [s for s in step_ids if fnmatch.fnmatchcase(s, pattern)]
        for step_id in dict.fromkeys(found) or [pattern]:
            targets.setdefault(step_id, []).extend(evaluators)
    return targets


def judge(task: Task, case: Case, trace: Trace, *, llm: Any = None, judge_model: str | None = None, tokenizer: str = "o200k_base") -> list[Any]:
    """Every evaluator of `case` on `trace` (also used by rescore, on stored traces)."""
    from harness.accounting import count_tokens
    from harness.evaluators import evaluate_case

    # Step evaluators name the golden IR's nodes (an authored workflow has nodes of its own: only
    # its outputs are judged); the calls of any script are judged by `code_steps` patterns.
    base = base_approach(trace.approach)
    steps = (case.steps if trace.approach == "ir" else code_step_targets(case.code_steps, [s.step_id for s in trace.steps]) if base == "code"
             else {})
    return evaluate_case(trace, steps, case.outputs, base_dir=task.folder, count_tokens=lambda text: count_tokens(text, tokenizer),
                         tokenizer=tokenizer, llm=llm, judge_model=judge_model or task.spec.llm.model)


@functools.cache
def _version() -> str:  # importlib.metadata reads the installed distributions: once per process, not per case
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowtape")
    except PackageNotFoundError:
        return "0+unknown"
