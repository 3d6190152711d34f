"""The figures the gate judges, read from the ledger for one run.

Definitions (each labelled so a threshold means one thing):

- a step's **tokens**: its model calls' prompt + completion tokens as the provider reported them
  (`llm_calls`; cached tokens are part of the prompt, not added) plus its MCP results' tokens
  (`tool_calls.result_tokens`). A step that ran more than once (a loop) is summed.
- a case's **tokens**: the sum over its steps, i.e. every measured model and tool-result token
  of the (task, case, approach).
- **cost**: USD of the model calls (`llm_calls.cost_usd`); None when any call's price is unknown.
- **duration**: milliseconds, `cases.duration_ms` and `steps.duration_ms`.
- a case **passes** when its run passed and none of its golden evaluations failed (as
  `flowtape compare` counts it).
- **context tokens per run**: the orchestrator context of the `per_run` phase, from
  `context_tokens` (see `harness.accounting.context`): the orchestrator's tokens only, never the
  workflow's own llm calls (`llm_calls`, counted by another model's tokenizer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from harness.accounting._schema import LedgerError, connect
from harness.gate._policy import GateError

__all__ = ["CaseFigures", "LedgerReader", "RunFigures", "StepFigures", "Source", "latest_run", "load_run", "reading"]

CaseKey = tuple[str, str, str, str]  # (task, case, approach, model)


@dataclass
class StepFigures:
    step_id: str
    tokens: int = 0
    cost_usd: float | None = 0.0
    duration_ms: float = 0.0
    has_llm: bool = False


@dataclass
class CaseFigures:
    task: str
    case: str
    approach: str
    status: str
    error: str | None
    duration_ms: float
    failed_checks: list[tuple[str, str, str]] = field(default_factory=list)  # (target, evaluator, reason)
    steps: dict[str, StepFigures] = field(default_factory=dict)
    model: str = ""  # the model the case ran with ('' in a ledger from before models were kept)

    @property
    def key(self) -> CaseKey:
        return (self.task, self.case, self.approach, self.model)

    @property
    def passed(self) -> bool:
        return self.status == "passed" and not self.failed_checks

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.steps.values())

    @property
    def cost_usd(self) -> float | None:
        costs = [s.cost_usd for s in self.steps.values()]
        return None if any(c is None for c in costs) else float(sum(costs))  # type: ignore[arg-type]


@dataclass
class RunFigures:
    ledger: Path
    run_id: str
    status: str
    git_commit: str | None
    suite: str | None
    settings: dict[str, Any]
    cases: dict[CaseKey, CaseFigures]
    context: dict[CaseKey, int]  # per_run orchestrator context tokens; includes modelled `direct`

    def approaches(self) -> list[str]:
        order = {"direct": 0, "code": 1, "ir": 2}
        return sorted({k[2] for k in self.cases}, key=lambda a: (order.get(a, 3), a))

    def models(self) -> list[str]:
        return sorted({k[3] for k in self.cases})

    def arms(self) -> list[tuple[str, str]]:
        """(approach, model) of every case, approaches in their order, then models by name."""
        return [(a, m) for a in self.approaches() for m in self.models() if any(k[2] == a and k[3] == m for k in self.cases)]

    def as_model(self, model: str) -> RunFigures:
        """These figures with every case's model set to `model`."""
        cases = {(t, c, a, model): replace(f, model=model) for (t, c, a, _), f in self.cases.items()}
        return replace(self, cases=cases, context={(t, c, a, model): v for (t, c, a, _), v in self.context.items()})

    def label(self, approach: str, model: str) -> str:
        """`approach`, or `approach · model` when the run holds several models."""
        return f"{approach} · {model}" if len(self.models()) > 1 else approach

    def pass_rate(self, approach: str, keys: set[tuple[str, str]] | None = None, model: str | None = None) -> float | None:
        cases = [c for c in self.cases.values() if c.approach == approach and (model is None or c.model == model)
                 and (keys is None or (c.task, c.case) in keys)]
        return sum(c.passed for c in cases) / len(cases) if cases else None

    def mean(self, approach: str, attribute: str, model: str | None = None) -> float | None:
        values = [getattr(c, attribute) for c in self.cases.values() if c.approach == approach and (model is None or c.model == model)]
        return None if not values or any(v is None for v in values) else sum(values) / len(values)


class LedgerReader:
    """One read-only connection to a ledger for all of a command's queries: opening a DuckDB
    file costs more than a query, and the gate makes about ten. Use as a context manager, or
    pass a path wherever one is taken (it is then opened for that call).

    Raises:
        GateError: no such file, not a ledger, a newer schema, or locked by a writer.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self._conn = connect(self.path, read_only=True)
        except FileNotFoundError:
            raise GateError(f"{self.path}: no such ledger (flowtape test writes it)") from None
        except LedgerError as err:
            raise GateError(str(err)) from None
        self.tables = {r[0] for r in self.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return (self._conn.execute(sql, params) if params is not None else self._conn.execute(sql)).fetchall()
        except duckdb.Error as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise GateError(f"{self.path}: SQL error: {first[:500]}") from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> LedgerReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Rows = Callable[..., list[tuple[Any, ...]]]
Source = Path | str | LedgerReader  # a ledger: open already, or a file to open for one call


@contextmanager
def reading(source: Source) -> Iterator[LedgerReader]:
    """`source` as an open reader: itself if it is one (left open), else opened and closed."""
    if isinstance(source, LedgerReader):
        yield source
        return
    with LedgerReader(source) as reader:
        yield reader


def latest_run(source: Source, exclude: str | None = None) -> str | None:
    """The latest run (by start time) that has cases, other than `exclude`."""
    with reading(source) as db:
        rows = db.rows("""SELECT r.run_id FROM runs r WHERE EXISTS (SELECT 1 FROM cases c WHERE c.run_id = r.run_id)
                          AND r.run_id IS DISTINCT FROM ? ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1""", [exclude])
    return rows[0][0] if rows else None


def load_run(source: Source, run_id: str) -> RunFigures:
    """Every figure of `run_id` the gate judges. Raises GateError: no ledger, or no such run."""
    with reading(source) as db:
        return _load(db.path, run_id, db.rows, db.tables)


def _load(path: Path, run_id: str, rows: Rows, names: set[str]) -> RunFigures:
    found = rows("SELECT status, git_commit, suite, settings FROM runs WHERE run_id = ?", [run_id])
    if not found:
        raise GateError(f"{path}: no run {run_id}")
    status, commit, suite, settings = found[0]
    cases: dict[CaseKey, CaseFigures] = {}
    for task, case, approach, model, case_status, error, duration in rows(
            """SELECT task, "case", approach, coalesce(model, ''), status, error, duration_ms FROM cases WHERE run_id = ? ORDER BY ALL""", [run_id]):
        cases[(task, case, approach, model)] = CaseFigures(task, case, approach, case_status, error, float(duration or 0.0), model=model)

    def step(key: CaseKey, step_id: str) -> StepFigures | None:
        figures = cases.get(key)
        if figures is None:
            return None
        return figures.steps.setdefault(step_id, StepFigures(step_id))

    key = """task, "case", approach, coalesce(model, '')"""
    for task, case, approach, model, step_id, duration in rows(
            f'SELECT {key}, step_id, duration_ms FROM steps WHERE run_id = ? ORDER BY seq', [run_id]):
        if (s := step((task, case, approach, model), step_id)) is not None:
            s.duration_ms += float(duration or 0.0)
    for task, case, approach, model, step_id, tokens, cost in rows(
            f"""SELECT {key}, step_id, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0), cost_usd
               FROM llm_calls WHERE run_id = ? ORDER BY seq""", [run_id]):
        if (s := step((task, case, approach, model), step_id)) is not None:
            s.tokens += int(tokens)
            s.cost_usd = None if cost is None or s.cost_usd is None else s.cost_usd + float(cost)
            s.has_llm = True
    for task, case, approach, model, step_id, tokens in rows(
            f'SELECT {key}, step_id, coalesce(result_tokens, 0) FROM tool_calls WHERE run_id = ? ORDER BY seq', [run_id]):
        if (s := step((task, case, approach, model), step_id)) is not None:
            s.tokens += int(tokens)
    for task, case, approach, model, target, evaluator, reason in rows(
            f"""SELECT {key}, target, evaluator, reason FROM evaluations
               WHERE run_id = ? AND NOT coalesce(passed, false) ORDER BY ALL""", [run_id]):
        if (task, case, approach, model) in cases:
            cases[(task, case, approach, model)].failed_checks.append((target or "", evaluator or "", reason or ""))
    context: dict[CaseKey, int] = {}
    if "context_tokens" in names:
        for task, case, approach, model, tokens in rows(
                f"""SELECT {key}, sum(tokens) FROM context_tokens
                   WHERE run_id = ? AND phase = 'per_run' AND component <> 'llm_calls' GROUP BY ALL""", [run_id]):
            context[(task, case, approach, model)] = int(tokens)
    try:
        parsed = json.loads(settings) if isinstance(settings, str) else dict(settings or {})
    except ValueError:
        parsed = {}
    return RunFigures(path, run_id, status, commit, suite, parsed, cases, context)
