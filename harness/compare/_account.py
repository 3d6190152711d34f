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

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.accounting import query
from harness.accounting.context import ContextCost, Settings, ToolSchemas, context_cost, write_context_rows

__all__ = ["LoadedRun", "account_run", "context_costs", "load_run", "schemas_from_cassette"]


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


@dataclass(frozen=True)
class LoadedRun:
    """A run's traces, schemas, artefacts and task prices, read once (see `load_run`)."""

    run_id: str | None
    cases: tuple[_Case, ...]


def load_run(ledger_path: Path | str, run_id: str | None = None, *, suite: Path | str = "goldens",
             cassettes: Path | str = "cassettes") -> LoadedRun:
    """Read what `context_costs` needs of `run_id` (default: the latest run with cases).

    Raises:
        FileNotFoundError: no ledger, or a trace or artefact the run names is missing.
        LedgerError: the ledger is not one, or another process is writing it.
    """
    import tempfile

    from harness.cassettes import Normalizer
    from harness.goldens import Places, load_task
    from runner.trace import Trace

    if run_id is None:
        _, rows = query(ledger_path, "SELECT c.run_id FROM cases c LEFT JOIN runs r USING (run_id) ORDER BY r.started_at DESC NULLS LAST LIMIT 1")
        if not rows:
            return LoadedRun(None, ())
        run_id = rows[0][0]
    _, rows = query(ledger_path, 'SELECT task, "case", approach, trace_path FROM cases WHERE run_id = ? AND trace_path IS NOT NULL ORDER BY ALL', [run_id])
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
        for approach in by_approach:
            tape = Path(cassettes) / task_name / f"{case}.{approach}.yaml"
            if tape.exists():
                schemas = {**schemas_from_cassette(tape), **schemas}
        artefacts = {}
        for approach in by_approach:
            artefact = {"ir": task.workflow_path, "code": task.baseline_path}.get(approach)
            artefacts[approach] = artefact.read_text(encoding="utf-8") if artefact is not None else None
        cases.append(_Case(task_name, case, by_approach, schemas, artefacts, dict(task.spec.llm.price_map())))
    return LoadedRun(run_id, tuple(cases))


def context_costs(run: LoadedRun, settings: Settings | None = None) -> list[ContextCost]:
    """The context cost of every (case, approach) of `run`, and of `direct` for every case:
    modelled from its `ir` trace, else its `code` trace.

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
            costs.append(context_cost(trace, case.schemas, case_settings, artefact=case.artefacts.get(approach)))
        if "direct" not in case.traces:
            source = case.traces.get("ir") or case.traces.get("code") or next(iter(case.traces.values()))
            costs.append(context_cost(source, case.schemas, case_settings, approach="direct"))
    return costs


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
    run = load_run(ledger_path, run_id, suite=suite, cassettes=cassettes)
    if run.run_id is None:
        return []
    costs = context_costs(run, settings)
    write_context_rows(ledger_path, run.run_id, costs)
    return costs
