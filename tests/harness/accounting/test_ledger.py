"""The DuckDB ledger: rows of a case, parallel parts merged without loss, a killed worker's cases
recovered, read-only queries and Parquet export, and clean errors for files it cannot use."""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from harness.accounting import (
    COLUMNS,
    Ledger,
    LedgerError,
    LedgerPart,
    case_rows,
    count_tokens,
    export_parquet,
    git_commit,
    part_path,
    query,
)
from harness.accounting._part import journal_path
from harness.evaluators._base import EvaluationResult
from runner.trace import LLMUsage, RunStatus, StepRecord, ToolUsage, Trace

ROOT = Path(__file__).resolve().parents[3]
PRICES = {"openai/smollm2": {"input_per_mtok": 0.1, "output_per_mtok": 0.2}}
STARTED = datetime(2025, 6, 1, 10, 0, tzinfo=timezone.utc)


def two_step_trace(case: str = "lisbon", *, cost: float | None = None) -> Trace:
    """An llm step, then an mcp step, as the runner records them (no result tokens, and a cost
    only when `cost` is given)."""
    return Trace(
        run_id=f"exec-{case}", task="meeting-times", case=case, approach="ir", workflow_hash="abc",
        status=RunStatus.PASSED, started_at=STARTED, duration_ms=1500.0,
        steps=[
            StepRecord(step_id="ask", kind="llm", node_type="llm", output={"response": "Europe/Lisbon"}, action="default",
                       duration_ms=900.0, llm=LLMUsage(model="openai/smollm2", prompt_tokens=1200, completion_tokens=30,
                                                       cached_tokens=0, cost_usd=cost)),
            StepRecord(step_id="now", kind="mcp", node_type="mcp-time-get_current_time", output={"result": "10:00 in Lisbon"},
                       attempts=2, duration_ms=40.0, tool=ToolUsage(server="time", tool="get_current_time", request_bytes=61,
                                                                    result_bytes=230)),
        ],
    )


EVALUATIONS = [
    EvaluationResult("steps.now", "Contains", True, 1.0, ""),
    EvaluationResult("outputs.answer", "MaxResultTokens", False, None, "too long", error=False),
]


def fetch(path: Path, sql: str) -> list[tuple]:
    return query(path, sql)[1]


# -- one case ---------------------------------------------------------------------------------


def test_case_rows_fill_what_the_trace_lacks() -> None:
    rows = case_rows("run-1", two_step_trace(), EVALUATIONS, prices=PRICES, trace_path="reports/traces/run-1/exec.json")
    key = ("run-1", "meeting-times", "lisbon", "ir", "")  # the trace names no model
    assert rows["cases"] == [(*key, "passed", 1500.0, None, "reports/traces/run-1/exec.json", datetime(2025, 6, 1, 10, 0, 1, 500000))]
    assert rows["steps"] == [
        (*key, 0, "ask", "llm", "llm", "default", None, 1, 900.0),
        (*key, 1, "now", "mcp", "mcp-time-get_current_time", None, None, 2, 40.0),
    ]
    assert rows["llm_calls"] == [(*key, 0, "ask", "openai/smollm2", 1200, 30, 0, pytest.approx((1200 * 0.1 + 30 * 0.2) / 1e6), "provider")]
    assert rows["tool_calls"] == [(*key, 1, "now", "time", "get_current_time", 61, 230, count_tokens("10:00 in Lisbon"), "o200k_base:text", False)]
    assert rows["evaluations"] == [(*key, "steps.now", "Contains", True, 1.0, "", False), (*key, "outputs.answer", "MaxResultTokens", False, None, "too long", False)]
    assert all(len(row) == len(COLUMNS[table]) for table, table_rows in rows.items() for row in table_rows)


def test_case_rows_keep_the_figures_the_trace_has() -> None:
    trace = two_step_trace(cost=0.5)
    trace.steps[1].tool.result_tokens, trace.steps[1].tool.tokenizer = 77, "cl100k_base:text"
    rows = case_rows("run-1", trace, [r.as_row() for r in EVALUATIONS], tokenizer="cl100k_base")
    assert rows["llm_calls"][0][11] == 0.5
    assert rows["tool_calls"][0][11:13] == (77, "cl100k_base:text")
    assert len(rows["evaluations"]) == 2


def test_a_case_lands_in_every_table(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    with Ledger(path) as ledger:
        ledger.start_run("run-1", "goldens", {"workers": 1}, git_commit="f" * 40, flowtape_version="0.1.0")
        with LedgerPart(part_path(path, "run-1")) as part:
            part.add_case(case_rows("run-1", two_step_trace(), EVALUATIONS, prices=PRICES))
        assert ledger.merge_parts("run-1") == 1
        ledger.finish_run("run-1", "completed")
    assert not (tmp_path / "ledger.duckdb.parts").exists()
    run = fetch(path, "SELECT status, git_commit, flowtape_version, suite, settings->>'workers', finished_at >= started_at FROM runs")
    assert run == [("completed", "f" * 40, "0.1.0", "goldens", "1", True)]
    assert fetch(path, 'SELECT task, "case", approach, status, duration_ms FROM cases') == [("meeting-times", "lisbon", "ir", "passed", 1500.0)]
    assert fetch(path, "SELECT seq, step_id, kind, attempts FROM steps ORDER BY seq") == [(0, "ask", "llm", 1), (1, "now", "mcp", 2)]
    assert fetch(path, "SELECT call_model, prompt_tokens, completion_tokens, round(cost_usd * 1e6, 3), usage_source FROM llm_calls") == [
        ("openai/smollm2", 1200, 30, 126.0, "provider")]
    assert fetch(path, "SELECT server, tool, request_bytes, result_bytes, result_tokens, tokenizer, is_error FROM tool_calls") == [
        ("time", "get_current_time", 61, 230, count_tokens("10:00 in Lisbon"), "o200k_base:text", False)]
    assert fetch(path, "SELECT target, passed, score, reason FROM evaluations ORDER BY target") == [
        ("outputs.answer", False, None, "too long"), ("steps.now", True, 1.0, "")]


def test_a_bad_row_writes_nothing_of_its_case(tmp_path: Path) -> None:
    with LedgerPart(tmp_path / "part.duckdb") as part:
        rows = case_rows("run-1", two_step_trace(cost=0.1), EVALUATIONS)
        rows["evaluations"].append(("too", "short"))
        with pytest.raises(ValueError, match="evaluations row needs 11 values"):
            part.add_case(rows)
        part.add_case(case_rows("run-1", two_step_trace("tokyo", cost=0.1), EVALUATIONS))
    con = duckdb.connect(str(tmp_path / "part.duckdb"), read_only=True)
    assert con.execute('SELECT "case" FROM case_rows').fetchall() == [("tokyo",)]
    con.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows["steps"].__setitem__(0, rows["steps"][0][:5] + ("first",) + rows["steps"][0][6:]), r"steps.seq takes INTEGER, not 'first'"),
        (lambda rows: rows["evaluations"].__setitem__(0, rows["evaluations"][0][:7] + ("yes",) + rows["evaluations"][0][8:]), "evaluations.passed takes BOOLEAN"),
        (lambda rows: rows["tool_calls"].__setitem__(0, rows["tool_calls"][0][:9] + (True,) + rows["tool_calls"][0][10:]), "tool_calls.request_bytes takes BIGINT, not True"),
        (lambda rows: rows["steps"].__setitem__(0, ("run-2",) + rows["steps"][0][1:]), "a steps row does not"),
        (lambda rows: rows["cases"].append(rows["cases"][0]), "exactly one cases row, not 2"),
        (lambda rows: rows.__setitem__("runs", []), "no rows for table runs"),
    ],
    ids=["int-column", "bool-column", "bool-is-not-an-int", "another-case", "two-cases", "unknown-table"],
)
def test_rows_are_checked_when_written_not_when_merged(tmp_path: Path, change, message: str) -> None:
    rows = case_rows("run-1", two_step_trace(cost=0.1), EVALUATIONS)
    change(rows)
    with LedgerPart(tmp_path / "part.duckdb") as part, pytest.raises(ValueError, match=message):
        part.add_case(rows)


def test_values_survive_the_part_exactly(tmp_path: Path) -> None:
    # Floats, non-finite scores, quotes, newlines, non-ASCII and aware timestamps come out of
    # the merge as they went into the part.
    path = tmp_path / "ledger.duckdb"
    trace = two_step_trace("Zürich 'quoted' \"twice\"\nnew line", cost=0.1 + 0.2)
    trace.started_at = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    results = [EvaluationResult("steps.now", "Score", True, float("nan")), EvaluationResult("steps.ask", "Score", False, float("-inf"))]
    rows = case_rows("run-1", trace, results, prices=PRICES)
    with Ledger(path) as ledger:
        ledger.start_run("run-1", "goldens", {}, git_commit=None, flowtape_version=None)
        with LedgerPart(part_path(path, "run-1")) as part:
            part.add_case(rows)
        ledger.merge_parts("run-1")
    for table, expected in rows.items():  # repr: NaN equals NaN, and floats must match to the bit
        assert sorted(map(repr, fetch(path, f"SELECT * FROM {table}"))) == sorted(map(repr, expected)), table
    assert fetch(path, "SELECT completed_at, \"case\" FROM cases") == [(datetime(2025, 6, 1, 10, 0, 1, 500000), trace.case)]
    assert fetch(path, "SELECT cost_usd FROM llm_calls") == [(0.1 + 0.2,)]
    scores = [row[0] for row in fetch(path, "SELECT score FROM evaluations ORDER BY target DESC")]
    assert math.isnan(scores[0]) and scores[1] == float("-inf")


def test_merging_again_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    with Ledger(path) as ledger:
        ledger.start_run("run-1", "goldens", {}, git_commit=None, flowtape_version=None)
        part = part_path(path, "run-1", "a")
        with LedgerPart(part) as writer:
            writer.add_case(case_rows("run-1", two_step_trace(cost=0.1), EVALUATIONS))
        shutil.copy(part, tmp_path / "copy.duckdb")
        assert ledger.merge_parts("run-1") == 1
        assert ledger.merge_parts("run-1", [tmp_path / "copy.duckdb"]) == 0  # a merge that died before deleting
        assert ledger.merge_parts("run-1") == 0
    assert fetch(path, "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM steps)") == [(1, 2)]


def test_a_part_of_another_run_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    with Ledger(path) as ledger:
        ledger.start_run("run-1", "goldens", {}, git_commit=None, flowtape_version=None)
        stray = part_path(path, "run-1", "stray")
        with LedgerPart(stray) as part:
            part.add_case(case_rows("run-2", two_step_trace(cost=0.1), EVALUATIONS))
        with pytest.raises(LedgerError, match="holds cases of run run-2, not of run-1"):
            ledger.merge_parts("run-1")
        assert stray.exists()


# -- parallel workers -------------------------------------------------------------------------


def write_cases(ledger: str, run_id: str, worker: int, count: int, hold: object = None, written: object = None,
                commit_every: float = 0.0) -> None:
    """A worker process: `count` cases into its own part; with `hold`, stop after `count` and
    wait (until killed) on it, having set `written`."""
    with LedgerPart(part_path(ledger, run_id), commit_every=commit_every) as part:
        for n in range(count):
            trace = two_step_trace(f"w{worker}-c{n}", cost=0.001)
            part.add_case(case_rows(run_id, trace, EVALUATIONS))
        if hold is not None:
            written.set()
            hold.wait()


def test_four_workers_write_parts_that_merge_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    spawn = multiprocessing.get_context("spawn")
    with Ledger(path) as ledger:
        ledger.start_run("run-par", "goldens", {"workers": 4}, git_commit=None, flowtape_version=None)
        workers = [spawn.Process(target=write_cases, args=(str(path), "run-par", w, 25)) for w in range(4)]
        for p in workers:
            p.start()
        for p in workers:
            p.join(60)
        assert [p.exitcode for p in workers] == [0, 0, 0, 0]
        assert len(list(ledger.parts_dir("run-par").glob("*.duckdb"))) == 4
        assert ledger.merge_parts("run-par") == 100
        ledger.finish_run("run-par", "completed")
    counts = fetch(path, """SELECT (SELECT count(*) FROM cases), (SELECT count(DISTINCT "case") FROM cases),
                                   (SELECT count(*) FROM steps), (SELECT count(*) FROM llm_calls),
                                   (SELECT count(*) FROM tool_calls), (SELECT count(*) FROM evaluations),
                                   (SELECT round(sum(cost_usd), 6) FROM llm_calls), (SELECT sum(prompt_tokens) FROM llm_calls)""")
    assert counts == [(100, 100, 200, 100, 100, 200, 0.1, 120_000)]
    assert not (tmp_path / "ledger.duckdb.parts").exists()


def test_a_killed_worker_leaves_its_completed_cases_for_recover(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    spawn = multiprocessing.get_context("spawn")
    hold, written = spawn.Event(), spawn.Event()
    with Ledger(path) as ledger:
        ledger.start_run("run-dead", "goldens", {}, git_commit=None, flowtape_version=None)
        ledger.start_run("run-done", "goldens", {}, git_commit=None, flowtape_version=None)
        ledger.finish_run("run-done", "completed")
    worker = spawn.Process(target=write_cases, args=(str(path), "run-dead", 0, 10, hold, written))
    worker.start()
    try:
        assert written.wait(60), "the worker did not write its cases"
        with Ledger(path) as ledger:
            assert ledger.recover() == []  # its worker is alive: the run is left alone
        os.kill(worker.pid, signal.SIGKILL)  # half-way: 10 cases written, the rest never will be
        worker.join(10)
    finally:
        if worker.is_alive():
            worker.kill()
    assert worker.exitcode == -signal.SIGKILL
    with Ledger(path) as ledger:
        recovered = ledger.recover()
        assert [(r.run_id, r.parts, r.cases, r.status) for r in recovered] == [("run-dead", 1, 10, "interrupted")]
        assert ledger.recover() == []
    assert fetch(path, "SELECT run_id, status, finished_at FROM runs ORDER BY run_id")[0] == (
        "run-dead", "interrupted", datetime(2025, 6, 1, 10, 0, 1, 500000))
    assert fetch(path, "SELECT count(*) FROM cases WHERE run_id = 'run-dead'") == [(10,)]
    assert fetch(path, "SELECT count(*) FROM steps WHERE run_id = 'run-dead'") == [(20,)]
    assert not (tmp_path / "ledger.duckdb.parts").exists()


def test_a_killed_worker_keeps_the_cases_its_group_commit_had_not_committed(tmp_path: Path) -> None:
    # Group commits every hour: nothing of the 12 cases is committed when the worker is killed,
    # yet each add_case had returned, so each case is in the ledger after recover.
    path = tmp_path / "ledger.duckdb"
    spawn = multiprocessing.get_context("spawn")
    hold, written = spawn.Event(), spawn.Event()
    with Ledger(path) as ledger:
        ledger.start_run("run-dead", "goldens", {}, git_commit=None, flowtape_version=None)
    worker = spawn.Process(target=write_cases, args=(str(path), "run-dead", 0, 12, hold, written, 3600.0))
    worker.start()
    try:
        assert written.wait(60), "the worker did not write its cases"
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(10)
    finally:
        if worker.is_alive():
            worker.kill()
    with Ledger(path) as ledger:
        assert [(r.run_id, r.cases, r.status) for r in ledger.recover()] == [("run-dead", 12, "interrupted")]
    assert fetch(path, "SELECT count(*), count(DISTINCT \"case\") FROM cases") == [(12, 12)]
    assert fetch(path, "SELECT count(*) FROM steps") == [(24,)]
    assert not (tmp_path / "ledger.duckdb.parts").exists()


def test_a_journal_cut_mid_line_or_also_committed_counts_each_case_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    with Ledger(path) as ledger:
        ledger.start_run("run-1", "goldens", {}, git_commit=None, flowtape_version=None)
        part = part_path(path, "run-1", "a")
        writer = LedgerPart(part, commit_every=3600.0)
        for case in ("one", "two", "three"):
            writer.add_case(case_rows("run-1", two_step_trace(case, cost=0.1), EVALUATIONS))
        journal = journal_path(part)
        lines = journal.read_bytes()
        writer.flush()  # "one" to "three" committed; as if killed before the journal was emptied:
        journal.write_bytes(lines + lines[: len(lines) // 5])  # ... and a fourth line cut short
        del writer  # never closed: the process "died"
        assert ledger.merge_parts("run-1") == 3
    assert fetch(path, 'SELECT "case" FROM cases ORDER BY 1') == [("one",), ("three",), ("two",)]
    assert fetch(path, "SELECT count(*) FROM steps") == [(6,)]


def test_a_damaged_journal_is_a_clean_error_and_nothing_is_merged(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    with Ledger(path) as ledger:
        ledger.start_run("run-1", "goldens", {}, git_commit=None, flowtape_version=None)
        part = part_path(path, "run-1", "a")
        writer = LedgerPart(part, commit_every=3600.0)
        writer.add_case(case_rows("run-1", two_step_trace("one", cost=0.1), EVALUATIONS))
        writer.flush()
        writer.add_case(case_rows("run-1", two_step_trace("two", cost=0.1), EVALUATIONS))
        journal = journal_path(part)
        journal.write_bytes(b"garbage\n" + journal.read_bytes())
        writer._conn.close()
        with pytest.raises(LedgerError, match=rf"^{re.escape(str(journal))}: line 1 is not a journal entry \(the file is damaged\)$"):
            ledger.merge_parts("run-1")
        assert part.exists() and journal.exists()
    assert fetch(path, "SELECT count(*) FROM cases") == [(0,)]


def test_a_part_reopened_by_a_process_of_the_same_pid_keeps_the_dead_ones_journal(tmp_path: Path) -> None:
    part = tmp_path / "worker-7.duckdb"
    writer = LedgerPart(part, commit_every=3600.0)
    writer.add_case(case_rows("run-1", two_step_trace("first", cost=0.1), EVALUATIONS))
    writer._conn.close()  # killed: its transaction is gone, its journal line stays
    with LedgerPart(part, commit_every=3600.0) as again:
        again.add_case(case_rows("run-1", two_step_trace("second", cost=0.1), EVALUATIONS))
    assert not journal_path(part).exists()
    with Ledger(tmp_path / "ledger.duckdb") as ledger:
        ledger.start_run("run-1", "goldens", {}, git_commit=None, flowtape_version=None)
        assert ledger.merge_parts("run-1", [part]) == 2


# -- reading ----------------------------------------------------------------------------------


def test_query_and_parquet_export_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    with Ledger(path) as ledger:
        ledger.start_run("run-1", "goldens", {}, git_commit=None, flowtape_version=None)
        with LedgerPart(part_path(path, "run-1")) as part:
            for case in ("lisbon", "tokyo"):
                part.add_case(case_rows("run-1", two_step_trace(case), EVALUATIONS, prices=PRICES))
        ledger.merge_parts("run-1")
        ledger.finish_run("run-1", "completed")
    columns, rows = query(path, 'SELECT "case", sum(result_tokens) AS tokens FROM tool_calls WHERE run_id = ? GROUP BY 1 ORDER BY 1', ["run-1"])
    assert columns == ["case", "tokens"]
    assert rows == [("lisbon", count_tokens("10:00 in Lisbon")), ("tokyo", count_tokens("10:00 in Lisbon"))]

    files = export_parquet(path, tmp_path / "export")
    assert sorted(f.name for f in files) == sorted(f"{t}.parquet" for t in COLUMNS)
    con = duckdb.connect()
    for file in files:
        table = file.stem
        assert con.execute(f"SELECT * FROM read_parquet('{file}') ORDER BY ALL").fetchall() == fetch(path, f"SELECT * FROM {table} ORDER BY ALL")
        assert [d[0] for d in con.execute(f"SELECT * FROM read_parquet('{file}')").description] == list(COLUMNS[table])


# -- files it cannot use ----------------------------------------------------------------------

SECOND_WRITER = """
import sys
from harness.accounting import Ledger, LedgerError, query
for attempt in (lambda: Ledger(sys.argv[1]), lambda: query(sys.argv[1], "SELECT 1")):
    try:
        attempt()
        print("opened")
    except LedgerError as err:
        print(err)
"""


def test_a_second_writer_gets_a_clean_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    with Ledger(path):
        done = subprocess.run([sys.executable, "-c", SECOND_WRITER, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"another flowtape process is writing {path}"] * 2


def test_a_duckdb_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE things (x INTEGER)")
    con.close()
    with pytest.raises(LedgerError, match="is not a flowtape ledger"):
        Ledger(other)
    with pytest.raises(LedgerError, match="is not a flowtape ledger"):
        query(other, "SELECT 1")
    with pytest.raises(LedgerError, match="is not a flowtape ledger part"):
        LedgerPart(other)


def test_a_file_that_is_not_duckdb(tmp_path: Path) -> None:
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database\n")
    with pytest.raises(LedgerError, match="not a DuckDB database"):
        Ledger(text)


def test_a_ledger_from_a_newer_flowtape(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    Ledger(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(LedgerError, match="schema 99, newer than this flowtape reads"):
        Ledger(path)


def test_run_bookkeeping_errors(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.duckdb") as ledger:
        ledger.start_run("run-1", "goldens", {}, git_commit=None, flowtape_version=None)
        with pytest.raises(LedgerError, match="already in"):
            ledger.start_run("run-1", "goldens", {})
        with pytest.raises(LedgerError, match="no run run-2"):
            ledger.finish_run("run-2", "completed")
        with pytest.raises(ValueError):
            ledger.finish_run("run-1", "done")
    with pytest.raises(FileNotFoundError):
        query(tmp_path / "missing.duckdb", "SELECT 1")


def test_git_commit(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    head = git_commit(ROOT)
    assert head is None or len(head) == 40


def test_a_step_that_called_two_models_is_one_row_with_each_call_priced_as_its_model():
    from runner.trace import ModelCall

    first = LLMUsage(model="primary", prompt_tokens=1000, completion_tokens=100)
    second = LLMUsage(model="openai/smollm2", prompt_tokens=2000, completion_tokens=10)
    step = StepRecord(step_id="ask", kind="llm", node_type="llm", action="default",
                      llm=LLMUsage(model="openai/smollm2", prompt_tokens=3000, completion_tokens=110),
                      calls=[ModelCall(model="openai/big", outcome="contract_failed", llm=first),
                             ModelCall(model="openai/smollm2", attempt=1, reason="fallback after openai/big broke the contract 1 time",
                                       outcome="answered", llm=second)])
    trace = Trace(run_id="r", task="t", case="c", workflow_hash="h", status=RunStatus.PASSED, steps=[step])
    prices = {**PRICES, "primary": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}
    [row] = case_rows("run-1", trace, prices=prices)["llm_calls"]
    assert row[-5:-1] == (3000, 110, None, pytest.approx((1000 * 1.0 + 100 * 2.0 + 2000 * 0.1 + 10 * 0.2) / 1e6))
    # one call unpriced: the sum is unknown, not a guess
    [row] = case_rows("run-1", trace, prices=PRICES)["llm_calls"]
    assert row[-2] is None
