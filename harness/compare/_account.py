"""Fill the ledger's context rows of a finished run from its stored traces, so `compare` has
figures for every approach, `direct` modelled from the recorded calls:

    account_run("reports/ledger.duckdb")            # the latest run; goldens/ and cassettes/
    report = compare("reports/ledger.duckdb")

The connected servers' schemas are the `tools/list` answers recorded in each case's cassette;
the artefact is the task's `workflow.json` (`ir`) or `baseline.py` (`code`); llm nodes are priced
with the task's `llm.prices` when litellm does not know the model.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.accounting import query
from harness.accounting.context import ContextCost, Settings, ToolSchemas, context_cost, write_context_rows

__all__ = ["account_run", "schemas_from_cassette"]


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
    import tempfile

    from harness.cassettes import Normalizer
    from harness.goldens import Places, load_task
    from runner.trace import Trace

    settings = settings or Settings()
    if run_id is None:
        _, rows = query(ledger_path, "SELECT c.run_id FROM cases c LEFT JOIN runs r USING (run_id) ORDER BY r.started_at DESC NULLS LAST LIMIT 1")
        if not rows:
            return []
        run_id = rows[0][0]
    _, rows = query(ledger_path, 'SELECT task, "case", approach, trace_path FROM cases WHERE run_id = ? AND trace_path IS NOT NULL ORDER BY ALL', [run_id])
    traces: dict[tuple[str, str], dict[str, Trace]] = {}
    for task, case, approach, trace_path in rows:
        traces.setdefault((task, case), {})[approach] = Trace.model_validate_json(Path(trace_path).read_text(encoding="utf-8"))
    costs: list[ContextCost] = []
    tasks: dict[str, Any] = {}
    for (task_name, case), by_approach in traces.items():
        task = tasks.get(task_name) or tasks.setdefault(task_name, load_task(Path(suite) / task_name))
        # Count what the recordings hold (fixture paths as ${FIXTURES}), not this checkout's
        # paths, so the figures are the same on every machine.
        fixtures = Places.here(Path(tempfile.gettempdir()) / "flowtape-no-workdir", project=Path(suite)).fixtures
        portable = Normalizer(placeholders={"FIXTURES": str(fixtures)})
        by_approach = {a: Trace.model_validate(portable.to_stored(t.model_dump(mode="json"))) for a, t in by_approach.items()}
        prices = {**task.spec.llm.price_map(), **(settings.prices or {})}
        case_settings = replace(settings, prices=prices)
        schemas: ToolSchemas = {}
        for approach in by_approach:
            tape = Path(cassettes) / task_name / f"{case}.{approach}.yaml"
            if tape.exists():
                schemas = {**schemas_from_cassette(tape), **schemas}
        for approach, trace in by_approach.items():
            artefact = {"ir": task.workflow_path, "code": task.baseline_path}.get(approach)
            text = artefact.read_text(encoding="utf-8") if artefact is not None else None
            costs.append(context_cost(trace, schemas, case_settings, artefact=text))
        if "direct" not in by_approach:
            source = by_approach.get("ir") or by_approach.get("code") or next(iter(by_approach.values()))
            costs.append(context_cost(source, schemas, case_settings, approach="direct"))
    write_context_rows(ledger_path, run_id, costs)
    return costs
