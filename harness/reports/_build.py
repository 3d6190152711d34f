"""Read one run's report from the ledger: SQL over the ledger's tables and nothing else, so a
past run's report can be rebuilt when its traces and cassettes are long gone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from harness.accounting._schema import LedgerError, connect
from harness.reports._data import (
    Baseline,
    CaseChange,
    CaseRow,
    FailedCheck,
    ReportData,
    RunCost,
    RunHeader,
    StepPassRate,
    TaskTokens,
    ToolCallSaving,
    UnknownRunError,
)

__all__ = ["DEFAULT_LAST_RUNS", "RECORDED_BASELINE", "build_report"]

RECORDED_BASELINE = "baseline"  # the run `flowtape gate --update-baseline` recorded, which the gate compares with

DEFAULT_LAST_RUNS = 10
_APPROACH_ORDER = "CASE approach WHEN 'direct' THEN 0 WHEN 'code' THEN 1 WHEN 'ir' THEN 2 ELSE 3 END"


def _arm(several: bool, prefix: str = "") -> str:
    """The SQL of what the report calls an approach: the approach, or `approach · model` when
    the run ran its cases with several models (`--model` repeated)."""
    return f"{prefix}approach || ' · ' || coalesce({prefix}model, '')" if several else f"{prefix}approach"


def build_report(ledger_path: Path | str, run_id: str | None = None, *, last_runs: int = DEFAULT_LAST_RUNS,
                 baseline: str | None = RECORDED_BASELINE) -> ReportData:
    """The report of `run_id` (default: the latest run), from the ledger alone.

        data = build_report("reports/ledger.duckdb")
        print(to_terminal(data))

    `baseline` is the run the report's "changed since baseline" view compares with
    (`harness.diff`, as `flowtape diff BASELINE RUN`): by default the gate's recorded baseline
    (no view when none is recorded, or when this run is it); any ref `flowtape diff` takes (a run
    id, `previous`, `git:<commit>`); None: no comparison. Step outputs are compared when both
    runs' traces are on this machine; verdicts, statuses and tokens come from the ledger.

    Context figures (`context_tokens`, `savings_per_tool_call`) are used when `flowtape compare`
    has accounted the run; otherwise tokens are what the run measured (tool results + model
    tokens) and the savings section is empty. Cost history is the `last_runs` runs up to and
    including this one, so a past run's report stays the same when later runs are added.

    Raises:
        FileNotFoundError: no file at `ledger_path`.
        LedgerError: the file is not a ledger, or a writer has it open.
        UnknownRunError: the ledger has no run `run_id` (or no run at all), or no run `baseline`
            (other than the recorded one, which may be missing).
    """
    path = Path(ledger_path)
    data, several = _read(path, run_id, last_runs)
    if baseline is None:
        return data
    found, changes = _since(path, data.run.run_id, baseline, several)
    return replace(data, baseline=found, changes=changes) if found else data


def _since(path: Path, run_id: str, ref: str, several: bool) -> tuple[Baseline | None, tuple[CaseChange, ...]]:
    """The baseline and the cases of `run_id` that changed since it, largest change first."""
    from harness.diff import DiffError, case_lines, diff_runs, resolve_run

    try:
        base = resolve_run(path, ref)
    except DiffError as err:
        if ref == RECORDED_BASELINE:
            return None, ()  # none recorded: nothing to compare with, as for the gate
        raise UnknownRunError(f"baseline {str(err).splitlines()[0]}") from None
    if base == run_id:
        return None, ()
    try:
        diff = diff_runs(path, base, run_id)
    except DiffError as err:
        raise LedgerError(str(err)) from None
    changes = []
    for d in diff.cases:
        if d.status[1] is None:
            continue
        arm = f"{d.approach} · {d.model}" if several else d.approach
        changes.append(CaseChange(d.task, d.case, arm, d.status[0], d.status[1], len(d.flipped),
                                  len(d.outputs) + len(d.only_in_a) + len(d.only_in_b), d.tokens, tuple(case_lines(d)), len(changes)))
    how = "the recorded baseline (flowtape gate --update-baseline)" if ref == RECORDED_BASELINE else f"--baseline {ref}"
    only_there = sum(1 for d in diff.cases if d.status[1] is None)
    return Baseline(base, how, diff.same, only_there), tuple(changes)


def _read(path: Path, run_id: str | None, last_runs: int) -> tuple[ReportData, bool]:
    conn = connect(path, read_only=True)  # one connection for every query: an open costs more than a query
    try:
        query = _querying(conn, path)
        tables = {r[0] for r in query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}
        run = _run(query, path, run_id)
        has_context = "context_tokens" in tables and bool(query("SELECT 1 FROM context_tokens WHERE run_id = ? LIMIT 1", [run.run_id]))
        several = query("SELECT count(DISTINCT coalesce(model, '')) FROM cases WHERE run_id = ?", [run.run_id])[0][0] > 1
        return ReportData(
            run=run,
            cases=_cases(query, run.run_id, several),
            tokens=_context_tokens(query, run.run_id, several) if has_context else _measured_tokens(query, run.run_id, several),
            tokens_source="context" if has_context else "measured",
            savings=_savings(query, run.run_id, several) if "savings_per_tool_call" in tables else (),
            costs=_costs(query, run.run_id, last_runs, "context_tokens" in tables),
            pass_rates=_pass_rates(query, run.run_id),
        ), several
    finally:
        conn.close()


Query = Callable[..., list[tuple[Any, ...]]]


def _querying(conn: Any, path: Path) -> Query:
    """`query(sql, params)` -> rows on `conn`; an SQL error is a LedgerError naming the ledger."""
    def query(sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return (conn.execute(sql, params) if params is not None else conn.execute(sql)).fetchall()
        except duckdb.Error as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise LedgerError(f"{path}: SQL error: {first[:500]}") from None

    return query


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _run(query: Query, path: Path, run_id: str | None) -> RunHeader:
    columns = "run_id, started_at, finished_at, status, git_commit, suite, flowtape_version"
    if run_id is None:
        rows = query(f"SELECT {columns} FROM runs ORDER BY started_at DESC NULLS LAST, run_id DESC LIMIT 1")
        if not rows:
            raise UnknownRunError(f"{path} has no runs yet (flowtape test adds one)")
    else:
        rows = query(f"SELECT {columns} FROM runs WHERE run_id = ?", [run_id])
        if not rows:
            known = tuple(r[0] for r in query("SELECT run_id FROM runs ORDER BY started_at DESC NULLS LAST LIMIT 3"))
            hint = f"; latest: {', '.join(known)}" if known else "; it has no runs"
            raise UnknownRunError(f"{path} has no run {run_id!r}{hint}", known)
    rid, started, finished, status, commit, suite, version = rows[0]
    return RunHeader(rid, _when(started), _when(finished), status, commit, suite, version)


def _cases(query: Query, run_id: str, several: bool = False) -> tuple[CaseRow, ...]:
    checks: dict[tuple[str, str, str], int] = defaultdict(int)
    failed: dict[tuple[str, str, str], list[FailedCheck]] = defaultdict(list)
    arm = _arm(several)
    verdicts = query(f"""SELECT task, "case", {arm}, target, evaluator, coalesce(passed, false), reason, coalesce(error, false)
                                  FROM evaluations WHERE run_id = ? ORDER BY task, "case", {arm}, rowid""", [run_id])
    for task, case, approach, target, evaluator, passed, reason, crashed in verdicts:
        key = (task, case, approach)
        checks[key] += 1
        if not passed:
            reason = reason or ""
            failed[key].append(FailedCheck(target, evaluator, f"evaluator crashed: {reason}" if crashed else reason))
    cases = query(f'SELECT task, "case", {arm}, status, error, trace_path FROM cases WHERE run_id = ? ORDER BY task, "case", {_APPROACH_ORDER}, {arm}', [run_id])
    rows = []
    for task, case, approach, status, error, trace_path in cases:
        key = (task, case, approach)
        verdict = "failed" if failed[key] and status == "passed" else status
        rows.append(CaseRow(task, case, approach, verdict, checks[key], tuple(failed[key]), error, trace_path))
    return tuple(rows)


def _context_tokens(query: Query, run_id: str, several: bool = False) -> tuple[TaskTokens, ...]:
    rows = query(f"""
        SELECT task, approach, count(*), avg(coalesce(per_run, 0)), avg(authoring) FROM (
            SELECT task, "case", {_arm(several)} AS approach, sum(tokens) FILTER (WHERE phase = 'per_run') AS per_run,
                   sum(tokens) FILTER (WHERE phase = 'authoring') AS authoring
            FROM context_tokens WHERE run_id = ? AND component <> 'llm_calls' GROUP BY ALL)
        GROUP BY task, approach ORDER BY task, {_APPROACH_ORDER}, approach""", [run_id])
    return tuple(TaskTokens(task, approach, n, float(per_run), None if authoring is None else float(authoring))
                 for task, approach, n, per_run, authoring in rows)


def _measured_tokens(query: Query, run_id: str, several: bool = False) -> tuple[TaskTokens, ...]:
    rows = query(f"""
        SELECT c.task, {_arm(several, 'c.')} AS arm, count(*), avg(coalesce(t.tokens, 0) + coalesce(m.tokens, 0)) FROM cases c
        LEFT JOIN (SELECT task, "case", approach, model, sum(result_tokens) AS tokens FROM tool_calls WHERE run_id = $run
                   GROUP BY ALL) t USING (task, "case", approach, model)
        LEFT JOIN (SELECT task, "case", approach, model, sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) AS tokens
                   FROM llm_calls WHERE run_id = $run GROUP BY ALL) m USING (task, "case", approach, model)
        WHERE c.run_id = $run GROUP BY c.task, c.approach, arm ORDER BY c.task, {_APPROACH_ORDER.replace('approach', 'c.approach')}, arm""",
                    {"run": run_id})
    return tuple(TaskTokens(task, approach, n, float(tokens)) for task, approach, n, tokens in rows)


def _savings(query: Query, run_id: str, several: bool = False) -> tuple[ToolCallSaving, ...]:
    arm = _arm(several)
    rows = query(f"""SELECT task, "case", {arm}, step_id, server, tool, direct_tokens, approach_tokens, saved_tokens
                              FROM savings_per_tool_call WHERE run_id = ?
                              ORDER BY saved_tokens DESC, task, "case", {arm}, step_id""", [run_id])
    return tuple(ToolCallSaving(*row) for row in rows)


def _costs(query: Query, run_id: str, last_runs: int, has_context: bool) -> tuple[RunCost, ...]:
    per_run = """FROM context_tokens x WHERE x.run_id = l.run_id AND x.phase = 'per_run'
                   AND x.approach <> 'direct' AND x.component <> 'llm_calls'"""
    context = f"(SELECT sum(cost_usd) {per_run})" if has_context else "NULL"
    # How each figure was accounted (RunCost.*_accounting): the cost chart joins only runs accounted alike.
    context_how = (f"""(SELECT CASE WHEN count(*) > 0 THEN 'priced at ' || coalesce(nullif(array_to_string(
                        list_sort(list_distinct(list(priced_at))), ' + '), ''), 'no model') END {per_run})""" if has_context else "NULL")
    llm_how = """(SELECT CASE WHEN count(*) = count(cost_usd) THEN 'every call priced'
                              ELSE count(cost_usd) || ' of ' || count(*) || ' calls priced' END
                         || CASE WHEN bool_or(usage_source = 'tokenizer') THEN ', tokens counted locally' ELSE '' END
                  FROM llm_calls m WHERE m.run_id = l.run_id)"""
    rows = query(f"""
        WITH this AS (SELECT started_at FROM runs WHERE run_id = $run),
        l AS (SELECT runs.run_id, runs.started_at, runs.git_commit FROM runs, this
              WHERE runs.started_at < this.started_at OR runs.run_id = $run
                 OR (runs.started_at = this.started_at AND runs.run_id < $run)
              ORDER BY runs.started_at DESC NULLS LAST, runs.run_id DESC LIMIT $n)
        SELECT l.run_id, l.started_at, l.git_commit,
               (SELECT count(*) FROM cases c WHERE c.run_id = l.run_id),
               (SELECT CASE WHEN count(*) = 0 THEN 0 ELSE sum(cost_usd) END FROM llm_calls m WHERE m.run_id = l.run_id),
               {context}, {llm_how}, {context_how}
        FROM l ORDER BY l.started_at NULLS FIRST, l.run_id""", {"run": run_id, "n": max(1, last_runs)})
    return tuple(RunCost(rid, _when(started), commit, n, _float(llm), _float(ctx), llm_how if llm is not None else None,
                         ctx_how if ctx is not None else None)
                 for rid, started, commit, n, llm, ctx, llm_how, ctx_how in rows)


def _pass_rates(query: Query, run_id: str) -> tuple[StepPassRate, ...]:
    # Steps in the order they ran (their first position in any trace of the task), then outputs.
    rows = query("""
        SELECT e.task, e.target, count(*) FILTER (WHERE coalesce(e.passed, false)), count(*),
               min(s.seq) AS seq
        FROM evaluations e
        LEFT JOIN (SELECT task, step_id, min(seq) AS seq FROM steps WHERE run_id = $run GROUP BY task, step_id) s
               ON s.task = e.task AND 'steps.' || s.step_id = e.target
        WHERE e.run_id = $run GROUP BY e.task, e.target
        ORDER BY e.task, e.target NOT LIKE 'steps.%', seq NULLS LAST, e.target""", {"run": run_id})
    return tuple(StepPassRate(task, target, passed, total) for task, target, passed, total, _ in rows)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
