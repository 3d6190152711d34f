"""The DuckDB ledger: one file of every run, written by one process, fed by per-worker parts.

DuckDB lets one process write a file (a second fails at once), so a parallel suite works like
this, and a run killed at any point loses no completed case:

    ledger = Ledger("reports/ledger.duckdb")          # the one writer; LedgerError if taken
    ledger.recover()                                  # merge what a killed run left behind
    ledger.start_run(run_id, "goldens", settings)
    # in each worker process:
    part = LedgerPart(part_path(ledger.path, run_id))  # reports/ledger.duckdb.parts/<run_id>/worker-<pid>.duckdb
    part.add_case(case_rows(run_id, trace, results))   # durable once it returns (group commit + journal)
    # back in the main process, after the workers exit:
    ledger.merge_parts(run_id)                        # ATTACH each part (+ its journal), INSERT ... SELECT per table, one transaction
    ledger.finish_run(run_id, "completed")

Merging is idempotent: a case (run_id, task, case, approach, model) already in the ledger is not added
again, so a merge that committed but died before deleting its parts can simply run again.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from types import EllipsisType
from typing import Any

import duckdb

from harness.accounting._part import journal_path, read_journal, unpack_sql
from harness.accounting._schema import (
    CASE_TABLES,
    COLUMNS,
    KEY,
    LEDGER_FORMAT,
    PART_FORMAT,
    LedgerError,
    LedgerLockedError,
    check,
    column_list,
    connect,
    describe_io_error,
    quoted,
    sql_string,
)

__all__ = [
    "DEFAULT_LEDGER",
    "Ledger",
    "RecoveredRun",
    "RunState",
    "export_parquet",
    "git_commit",
    "part_path",
    "parts_dir",
    "query",
]

DEFAULT_LEDGER = Path("reports/ledger.duckdb")


class RunState(str, Enum):
    """A suite run in the ledger (not a trace's passed/failed/error): `running` until finished,
    `interrupted` when it stopped early or `recover` found it dead."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class RecoveredRun:
    """What `Ledger.recover` merged for one run a killed process left behind."""

    run_id: str
    parts: int
    cases: int
    status: str


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def parts_dir(ledger: Path | str, run_id: str) -> Path:
    """Where the parts of `run_id` live: `<ledger>.parts/<run_id>/` beside the ledger file."""
    ledger = Path(ledger)
    return ledger.with_name(ledger.name + ".parts") / run_id


def part_path(ledger: Path | str, run_id: str, worker: int | str | None = None) -> Path:
    """This worker's part file: `<ledger>.parts/<run_id>/worker-<pid>.duckdb`."""
    return parts_dir(ledger, run_id) / f"worker-{os.getpid() if worker is None else worker}.duckdb"


def git_commit(cwd: Path | str | None = None) -> str | None:
    """The commit checked out at `cwd` (default: the current directory), None outside a git
    repository or without git."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


class Ledger:
    """The ledger file, opened for writing by this process alone (it holds DuckDB's lock until
    `close`). Created with its tables when the file does not exist.

    Raises:
        LedgerError: the file is not a ledger, has a newer schema, or another process has it
            open ("another flowtape process is writing <path>").
    """

    def __init__(self, path: Path | str = DEFAULT_LEDGER) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, LEDGER_FORMAT)

    def parts_dir(self, run_id: str) -> Path:
        """`<ledger>.parts/<run_id>/`, where the workers of `run_id` write their parts."""
        return parts_dir(self.path, run_id)

    def start_run(
        self,
        run_id: str,
        suite: str,
        settings: Mapping[str, Any] | None = None,
        *,
        git_commit: str | None | EllipsisType = ...,
        flowtape_version: str | None | EllipsisType = ...,
    ) -> None:
        """Record a new run as `running`. `git_commit` and `flowtape_version` are looked up when
        not given (None stores none). Raises LedgerError if `run_id` is already there."""
        if git_commit is ...:
            git_commit = _git_commit()
        if flowtape_version is ...:
            flowtape_version = _flowtape_version()
        settings_json = json.dumps(dict(settings or {}), sort_keys=True, default=str)
        try:
            self._conn.execute(
                "INSERT INTO runs VALUES (?, ?, NULL, ?, ?, ?, ?, ?)",
                [run_id, _now(), RunState.RUNNING.value, git_commit, flowtape_version, suite, settings_json],
            )
        except duckdb.ConstraintException:
            raise LedgerError(f"run {run_id} is already in {self.path}") from None

    def finish_run(self, run_id: str, status: RunState | str) -> None:
        """Mark the run `completed` or `interrupted` and stamp `finished_at`."""
        status = RunState(status)
        found = self._conn.execute(
            "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ? RETURNING run_id", [status.value, _now(), run_id]
        ).fetchall()
        if not found:
            raise LedgerError(f"no run {run_id} in {self.path}")

    def merge_parts(self, run_id: str, part_paths: Iterable[Path | str] | None = None) -> int:
        """Add the cases of `run_id` from its parts (default: every part in `parts_dir(run_id)`)
        and their journals in one transaction, then delete the part files. Returns how many
        cases were added. Where two parts hold the same case, the first in name order wins.

        Raises:
            LedgerError: a part is still being written (its worker is alive), is not a part, has
                a damaged journal, or holds cases of another run. Nothing is merged or deleted then.
        """
        paths = sorted(Path(p) for p in (part_paths if part_paths is not None else self.parts_dir(run_id).glob("*.duckdb")))
        aliases = self._attach(paths)
        added = 0
        try:
            self._conn.begin()
            try:
                for alias, path in zip(aliases, paths):
                    added += self._merge_one(alias, path, run_id)
                self._conn.commit()
            except BaseException:
                self._conn.rollback()
                raise
        finally:
            for alias in aliases:
                if alias is not None:
                    self._conn.execute(f"DETACH {quoted(alias)}")
        for path in paths:
            for file in (path, path.with_name(path.name + ".wal"), journal_path(path)):
                file.unlink(missing_ok=True)
        folder = self.parts_dir(run_id)
        for empty in (folder, folder.parent):  # <run_id>/, then <ledger>.parts/, once empty
            if empty.is_dir() and not any(empty.iterdir()):
                empty.rmdir()
        return added

    def _attach(self, paths: list[Path]) -> list[str | None]:
        """ATTACH each part read-only; None for a part that holds no tables (its worker died
        before creating them). Detaches what it attached if one fails."""
        aliases: list[str | None] = []
        try:
            for index, path in enumerate(paths):
                alias = f"flowtape_part_{index}"
                try:
                    self._conn.execute(f"ATTACH {sql_string(str(path))} AS {quoted(alias)} (READ_ONLY)")
                except duckdb.Error as err:
                    if not path.exists():
                        raise FileNotFoundError(f"no ledger part at {path}") from None
                    raise describe_io_error(path, err) from None
                aliases.append(alias)
                if not check(self._conn, path, PART_FORMAT, catalog=alias):
                    self._conn.execute(f"DETACH {quoted(alias)}")
                    aliases[-1] = None
        except BaseException:
            for alias in aliases:
                if alias is not None:
                    self._conn.execute(f"DETACH {quoted(alias)}")
            raise
        return aliases

    def _merge_one(self, alias: str | None, path: Path, run_id: str) -> int:
        # The part's committed cases, then those its journal holds (added after its last commit).
        self._conn.execute(
            """CREATE OR REPLACE TEMP TABLE flowtape_part_cases
               (run_id VARCHAR, task VARCHAR, "case" VARCHAR, approach VARCHAR, model VARCHAR, rows JSON, seq BIGINT)"""
        )
        if alias is not None:
            self._conn.execute(f"INSERT INTO flowtape_part_cases SELECT *, rowid FROM {quoted(alias)}.case_rows")
        journal = read_journal(journal_path(path))
        if journal:
            self._conn.executemany("INSERT INTO flowtape_part_cases VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   [(*case, (1 << 62) + i) for i, case in enumerate(journal)])
        others = self._conn.execute("SELECT DISTINCT run_id FROM flowtape_part_cases WHERE run_id <> ?", [run_id]).fetchall()
        if others:
            raise LedgerError(f"{path} holds cases of run {', '.join(sorted(r[0] for r in others))}, not of {run_id}")
        # The part's cases that the ledger lacks (the last write of a case wins; a case both
        # committed and still in the journal is one case).
        same = " AND ".join(f"p.{quoted(c)} IS NOT DISTINCT FROM k.{quoted(c)}" for c in KEY)
        self._conn.execute(
            f"""CREATE OR REPLACE TEMP TABLE flowtape_new_cases AS
                SELECT p.* EXCLUDE (seq) FROM flowtape_part_cases p
                WHERE NOT EXISTS (SELECT 1 FROM cases k WHERE {same})
                QUALIFY row_number() OVER (PARTITION BY {", ".join("p." + quoted(c) for c in KEY)} ORDER BY p.seq DESC) = 1"""
        )
        for table in CASE_TABLES:
            self._conn.execute(f"INSERT INTO {table} ({column_list(table)}) {unpack_sql(table, 'flowtape_new_cases')}")
        added = self._conn.execute("SELECT count(*) FROM flowtape_new_cases").fetchone()[0]
        self._conn.execute("DROP TABLE flowtape_new_cases")
        self._conn.execute("DROP TABLE flowtape_part_cases")
        return int(added)

    def recover(self) -> list[RecoveredRun]:
        """Merge the parts a killed run left behind. A `running` run with parts is marked
        `interrupted`, stamped with its last case's completion time; a run already finished
        keeps its status. Runs whose parts are still open (a live worker) are left alone.

        Returns:
            one `RecoveredRun` per run whose parts were merged.
        """
        root = self.path.with_name(self.path.name + ".parts")
        if not root.is_dir():
            return []
        recovered = []
        known = dict(self._conn.execute("SELECT run_id, status FROM runs").fetchall())
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name in known):
            parts = sorted(folder.glob("*.duckdb"))
            if not parts:
                continue
            try:
                cases = self.merge_parts(folder.name, parts)
            except LedgerLockedError:
                continue  # a worker still has its part open: that run is alive
            status = known[folder.name]
            if status == RunState.RUNNING.value:
                status = RunState.INTERRUPTED.value
                self._conn.execute(
                    """UPDATE runs SET status = ?, finished_at = coalesce(
                           (SELECT max(completed_at) FROM cases WHERE run_id = ?), started_at)
                       WHERE run_id = ?""",
                    [status, folder.name, folder.name],
                )
            recovered.append(RecoveredRun(folder.name, len(parts), cases, status))
        return recovered

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_git_commit = git_commit  # start_run's parameter of the same name shadows it


def _flowtape_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowtape")
    except PackageNotFoundError:
        return None


def query(path: Path | str, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run `sql` on the ledger read-only and return (column names, rows). The file is open only
    for the query, so writers are locked out no longer than it takes.

        columns, rows = query("reports/ledger.duckdb", 'SELECT "case", sum(cost_usd) FROM llm_calls GROUP BY 1')

    The connection is read-only, so a statement that writes (`DELETE FROM runs`) is refused.

    Raises:
        FileNotFoundError: no file at `path`.
        LedgerError: not a ledger, a writer has it open, or the SQL is wrong or writes (one
            line: "<path>: SQL error: ..." with DuckDB's first line).
    """
    conn = connect(Path(path), read_only=True)
    try:
        cursor = conn.execute(sql, params) if params is not None else conn.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
    except duckdb.Error as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise LedgerError(f"{path}: SQL error: {first[:500]}") from None
    finally:
        conn.close()


def export_parquet(path: Path | str, out_dir: Path | str) -> list[Path]:
    """Write every ledger table to `<out_dir>/<table>.parquet` (DuckDB's COPY) and return the
    files, for tools that read Parquet rather than DuckDB."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    conn = connect(Path(path), read_only=True)
    written = []
    try:
        for table in COLUMNS:
            target = out / f"{table}.parquet"
            conn.execute(f"COPY {table} TO {sql_string(str(target))} (FORMAT parquet)")
            written.append(target)
    finally:
        conn.close()
    return written
