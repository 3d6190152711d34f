"""Fill the ledger's context rows of a finished run from its stored traces, so `compare` has
figures for every approach, `direct` modelled from the recorded calls:

    account_run("reports/ledger.duckdb")            # the latest run; goldens/ and cassettes/
    report = compare("reports/ledger.duckdb")

The connected servers' schemas are the `tools/list` answers recorded in each case's cassette;
the artefact is the task's `workflow.json` (`ir`) or `baseline.py` (`code`); llm nodes are priced
with the task's `llm.prices` first (the user's statement), else litellm's local map.

`context_costs` computes the same figures without writing them, so a sensitivity sweep can
recompute them under other modelled constants (`Settings.system_prompt_tokens`,
`Settings.calls_per_turn`) from traces loaded once (`load_run`).
"""

from __future__ import annotations

import json

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.accounting import query
from harness.accounting.context import ContextCost, Settings, ToolSchemas, context_cost, write_context_rows

__all__ = ["LoadedRun", "account_run", "context_costs", "latest_run", "load_run", "run_models", "schemas_from_cassette"]


def schemas_from_cassette(path: Path) -> dict[str, list[dict[str, Any]]]:
    """`{server: [{"name", "description", "input_schema"}]}` from the `tools/list` answers a
    cassette recorded (the servers a case connected to)."""
    from harness.cassettes import Cassette

    tape = Cassette.open(path, "none", ci=True)
    schemas: dict[str, list[dict[str, Any]]] = {}
    for item in tape.interactions:
        if item.kind == "mcp" and item.method == "tools/list" and isinstance(item.response, dict):
            tools = (item.response.get("result") or {}).get("tools") or []
            schemas.setdefault(item.server, []).extend(
                {"name": t["name"], "description": t.get("description") or "", "input_schema": t.get("inputSchema", {})} for t in tools
            )
    return schemas


@dataclass(frozen=True)
class _Case:
    task: str
    case: str
    traces: dict[str, Any]  # approach -> Trace (portable: fixture paths as ${FIXTURES})
    schemas: ToolSchemas
    artefacts: dict[str, str | None]
    prices: dict[str, Any]
    tapes: dict[str, Path] = field(default_factory=dict)  # approach -> its cassette (for the run's model)


@dataclass(frozen=True)
class LoadedRun:
    """A run's traces, schemas, artefacts and task prices under one model, read once (see `load_run`)."""

    run_id: str | None
    cases: tuple[_Case, ...]
    model: str = ""


def latest_run(ledger_path: Path | str) -> str | None:
    """The latest run with cases, None when there is none."""
    _, rows = query(ledger_path, "SELECT c.run_id FROM cases c LEFT JOIN runs r USING (run_id) ORDER BY r.started_at DESC NULLS LAST LIMIT 1")
    return rows[0][0] if rows else None


def run_models(ledger_path: Path | str, run_id: str) -> list[str]:
    """The models a run's cases ran with, in name order (one unless `--model` was repeated)."""
    _, rows = query(ledger_path, "SELECT DISTINCT coalesce(model, '') FROM cases WHERE run_id = ? ORDER BY 1", [run_id])
    return [r[0] for r in rows]


def load_run(ledger_path: Path | str, run_id: str | None = None, *, suite: Path | str = "goldens",
             cassettes: Path | str = "cassettes", model: str | None = None) -> LoadedRun:
    """Read what `context_costs` needs of `run_id` (default: the latest run with cases), for the
    cases run with `model` (default: the run's one model).

    Raises:
        FileNotFoundError: no ledger, or a trace or artefact the run names is missing.
        LedgerError: the ledger is not one, or another process is writing it.
        ValueError: the run holds several models and `model` names none of them (or is None).
    """
    import tempfile

    from harness.cassettes import Normalizer
    from harness.goldens import ARTEFACTS, Places, base_approach, cassette_path, load_task
    from runner.trace import Trace

    run_id = run_id or latest_run(ledger_path)
    if run_id is None:
        return LoadedRun(None, ())
    models = run_models(ledger_path, run_id)
    if model is None and len(models) > 1 or model is not None and models and model not in models:
        raise ValueError(f"run {run_id} ran its cases with {', '.join(models)}: name one (model={model!r})")
    model = model if model is not None else (models[0] if models else "")
    _, rows = query(ledger_path, """SELECT task, "case", approach, trace_path FROM cases
                                    WHERE run_id = ? AND coalesce(model, '') = ? AND trace_path IS NOT NULL ORDER BY ALL""", [run_id, model])
    traces: dict[tuple[str, str], dict[str, Trace]] = {}
    for task, case, approach, trace_path in rows:
        traces.setdefault((task, case), {})[approach] = Trace.model_validate_json(Path(trace_path).read_text(encoding="utf-8"))
    # Count what the recordings hold (fixture paths as ${FIXTURES}), not this checkout's paths, so
    # the figures are the same on every machine.
    places = Places.here(Path(tempfile.gettempdir()) / "flowtape-no-workdir", project=Path(suite))
    portable = Normalizer(placeholders={**{k: str(v) for k, v in places.own.items()}, "ROOT": str(places.root), "FIXTURES": str(places.fixtures)})
    tasks: dict[str, Any] = {}
    cases = []
    for (task_name, case), by_approach in traces.items():
        task = tasks.get(task_name) or tasks.setdefault(task_name, load_task(Path(suite) / task_name))
        by_approach = {a: Trace.model_validate(portable.to_stored(t.model_dump(mode="json"))) for a, t in by_approach.items()}
        schemas: ToolSchemas = {}
        tapes = {approach: cassette_path(Path(cassettes), task, case, approach, model or None) for approach in by_approach}
        for tape in tapes.values():
            if tape.exists():
                schemas = {**schemas_from_cassette(tape), **schemas}
        artefacts = {}
        for approach in by_approach:
            artefact = task.artefact_path(approach) if base_approach(approach) in ARTEFACTS else None
            artefacts[approach] = artefact.read_text(encoding="utf-8") if artefact is not None and artefact.is_file() else None
        cases.append(_Case(task_name, case, by_approach, schemas, artefacts, dict(task.spec.llm.price_map()), tapes))
    return LoadedRun(run_id, tuple(cases), model)


def context_costs(run: LoadedRun, settings: Settings | None = None) -> list[ContextCost]:
    """The context cost of every (case, approach) of `run`, and of `direct` for every case:
    modelled from its `ir` trace, else its `code` trace (the golden ones; an authored variant's
    calls may be wrong, and are not the model's source).

    A case with a trace of its own under `direct` (a measured direct run) keeps it under
    `direct`; the modelled figure is then not written under the same key (see `account_run`).
    """
    settings = settings or Settings()
    costs: list[ContextCost] = []
    for case in run.cases:
        # the task's own price for a model wins over litellm's map (the user stated it); prices
        # given in `settings` win over the task's
        case_settings = replace(settings, prices={**case.prices, **(settings.prices or {})})
        for approach, trace in case.traces.items():
            if approach != "direct":  # a measured direct run is counted by `measured_direct`, not modelled
                costs.append(context_cost(trace, case.schemas, case_settings, artefact=case.artefacts.get(approach)))
        source = case.traces.get("ir") or case.traces.get("code") or next(iter(case.traces.values()))
        costs.append(context_cost(source, case.schemas, case_settings, approach="direct"))
    return costs


MEASURED_DDL = """CREATE TABLE IF NOT EXISTS direct_measured (
    run_id VARCHAR NOT NULL, task VARCHAR, "case" VARCHAR, turns INTEGER NOT NULL,
    provider_input BIGINT, provider_output BIGINT, recount_input BIGINT, recount_output BIGINT, tokenizer VARCHAR, model VARCHAR)"""
MEASURED_COLUMNS = ('task, "case", turns, provider_input, provider_output, recount_input, recount_output, tokenizer, model')
MESSAGE_OVERHEAD = 4  # tokens a chat message's role and separators add (OpenAI's documented rule of thumb)


def measured_direct(run: LoadedRun, cassettes: Path | str, tokenizer: str = "o200k_base") -> list[tuple[Any, ...]]:
    """Per case with a direct run: (task, case, turns, provider input, provider output, recount
    input, recount output, tokenizer, model: the run's). Provider figures are the usage the model's server reported
    (its own tokenizer); the recount counts what was really sent and written, read from the
    direct cassette, with the orchestrator's `tokenizer` (each message's content plus
    `MESSAGE_OVERHEAD`), so it can be set against the modelled figure token for token."""
    from harness.cassettes import Cassette, CassetteError

    rows = []
    for case in run.cases:
        trace = case.traces.get("direct")
        if trace is None:
            continue
        turns = [s.llm for s in trace.steps if s.kind == "llm" and s.llm is not None]
        provider_in = None if any(t.prompt_tokens is None for t in turns) else sum(t.prompt_tokens or 0 for t in turns)
        provider_out = None if any(t.completion_tokens is None for t in turns) else sum(t.completion_tokens or 0 for t in turns)
        recount_in = recount_out = None
        try:
            tape = Cassette.open(case.tapes.get("direct") or Path(cassettes) / case.task / f"{case.case}.direct.yaml", "none", ci=True)
        except CassetteError:
            tape = None
        if tape is not None:
            recount_in, recount_out, _, _ = _recount([i for i in tape.interactions if i.kind == "llm"], tokenizer)
        rows.append((case.task, case.case, len(turns), provider_in, provider_out, recount_in, recount_out, tokenizer, run.model))
    return rows


AUTHORING_DDL = """CREATE TABLE IF NOT EXISTS authoring_measured (
    run_id VARCHAR NOT NULL, task VARCHAR, approach VARCHAR, model VARCHAR, turns INTEGER NOT NULL,
    provider_input BIGINT, provider_output BIGINT, recount_input BIGINT, recount_output BIGINT, tokenizer VARCHAR, valid BOOLEAN)"""


def _recount(items: list[Any], tokenizer: str) -> tuple[int, int, int | None, int | None]:
    """(recount in, recount out, provider in, provider out) over recorded llm interactions."""
    from harness.accounting import count_tokens

    r_in = r_out = 0
    p_in: int | None = 0
    p_out: int | None = 0
    for item in items:
        messages = item.request.get("messages") if isinstance(item.request, dict) else None
        for message in messages or []:
            content = message.get("content") if isinstance(message, dict) else None
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            r_in += count_tokens(text or "", tokenizer) + MESSAGE_OVERHEAD
        body = (item.response or {}).get("body") if isinstance(item.response, dict) else None
        choices = body.get("choices") if isinstance(body, dict) else None
        reply = (choices[0].get("message") or {}).get("content") if choices else None
        r_out += count_tokens(reply if isinstance(reply, str) else json.dumps(reply), tokenizer)
        usage = body.get("usage") if isinstance(body, dict) else None
        p_in = None if p_in is None or not isinstance(usage, dict) or usage.get("prompt_tokens") is None else p_in + int(usage["prompt_tokens"])
        p_out = None if p_out is None or not isinstance(usage, dict) or usage.get("completion_tokens") is None else p_out + int(usage["completion_tokens"])
    return r_in, r_out, p_in, p_out


def measured_authoring(run: LoadedRun, cassettes: Path | str, suite: Path | str, tokenizer: str = "o200k_base") -> list[tuple[Any, ...]]:
    """Per task of `run` and recorded `flowtape author` run (`<cassettes>/<task>/authored/<model>.<approach>.yaml`):
    (task, approach, model, turns, provider in, provider out, recount in, recount out, tokenizer,
    whether a valid artefact was saved). Counted as `measured_direct` counts."""
    from harness.cassettes import Cassette, CassetteError

    rows = []
    for task in sorted({c.task for c in run.cases}):
        for tape_path in sorted((Path(cassettes) / task / "authored").glob("*.yaml")):
            model, _, approach = tape_path.stem.rpartition(".")
            try:
                tape = Cassette.open(tape_path, "none", ci=True)
            except CassetteError:
                continue
            items = [i for i in tape.interactions if i.kind == "llm"]
            r_in, r_out, p_in, p_out = _recount(items, tokenizer)
            artefact = Path(suite) / task / "authored" / model / ("workflow.json" if approach == "ir" else "baseline.py")
            rows.append((task, approach, model, len(items), p_in, p_out, r_in, r_out, tokenizer, artefact.is_file()))
    return rows


def write_measured_direct(ledger_path: Path | str, run_id: str, rows: Sequence[tuple[Any, ...]],
                          authoring: Sequence[tuple[Any, ...]] = ()) -> None:
    """Replace `run_id`'s rows of the ledger's `direct_measured` and `authoring_measured` tables
    (created if missing; a `direct_measured` written before models were a dimension gets its
    `model` column)."""
    from harness.accounting._schema import connect

    conn = connect(Path(ledger_path))
    try:
        conn.execute(MEASURED_DDL)
        conn.execute(AUTHORING_DDL)
        conn.execute("ALTER TABLE direct_measured ADD COLUMN IF NOT EXISTS model VARCHAR")
        conn.execute("DELETE FROM direct_measured WHERE run_id = ?", [run_id])
        conn.execute("DELETE FROM authoring_measured WHERE run_id = ?", [run_id])
        for row in rows:
            conn.execute(f"INSERT INTO direct_measured (run_id, {MEASURED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [run_id, *row])
        for row in authoring:
            conn.execute("INSERT INTO authoring_measured VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [run_id, *row])
    finally:
        conn.close()


def account_run(
    ledger_path: Path | str,
    run_id: str | None = None,
    *,
    suite: Path | str = "goldens",
    cassettes: Path | str = "cassettes",
    settings: Settings | None = None,
) -> list[ContextCost]:
    """Compute the context cost of every (case, approach) of `run_id` (default: the latest run
    with cases), and of `direct` for every case (modelled from its `ir` trace, else its `code`
    trace, unless the run has a direct trace), write them to the ledger and return them.

    Raises:
        FileNotFoundError: no ledger, or a trace or artefact the run names is missing.
        LedgerError: the ledger is not one, or another process is writing it.
    """
    run_id = run_id or latest_run(ledger_path)
    if run_id is None:
        return []
    # Each model's cases are a run of their own for the accounting (direct modelled from that
    # model's ir or code trace), written side by side under the case key's `model`.
    runs = [load_run(ledger_path, run_id, suite=suite, cassettes=cassettes, model=m) for m in run_models(ledger_path, run_id) or [""]]
    costs = [cost for run in runs for cost in context_costs(run, settings)]
    write_context_rows(ledger_path, run_id, costs)
    tokenizer = (settings or Settings()).tokenizer
    write_measured_direct(ledger_path, run_id, [row for run in runs for row in measured_direct(run, cassettes, tokenizer)],
                          measured_authoring(runs[0], cassettes, suite, tokenizer))
    return costs
