"""A worker's ledger part: each case is one row, durable once `add_case` returns.

DuckDB's cost is per statement (about half a millisecond each) and per commit (a sync of its
write-ahead log: about 10 ms on a real disk), so writing a case's rows to five tables and
committing took longer than replaying the case. A part therefore stores each case as one row in
`case_rows`: the case's key plus its rows for every ledger table as one JSON document of arrays in
column order, one appender row a case; it commits in groups, and a journal beside it holds the
cases its last group has not committed yet (see `LedgerPart`). The ledger turns parts back into
typed rows when it merges (`unpack_sql`). Values are type-checked here, so a bad row fails its own
`add_case`, never the merge of a whole run.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.accounting._schema import CASE_TABLES, COLUMNS, KEY, PART_FORMAT, LedgerError, column_types, connect, quoted, utc

__all__ = ["LedgerPart", "journal_path", "read_journal", "unpack_sql"]

# Python values each column type takes (bool is an int to Python, never to the ledger).
_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "VARCHAR": str, "JSON": str, "INTEGER": int, "BIGINT": int, "DOUBLE": (int, float), "BOOLEAN": bool, "TIMESTAMP": datetime,
}
_KEY_WIDTH = len(KEY)  # run_id, task, case, approach, model lead every case table
_COLUMN_SETS = {table: frozenset(names) for table, names in COLUMNS.items()}


def _encode_row(table: str, row: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    columns = column_types(table)
    if isinstance(row, Mapping):
        unknown = row.keys() - _COLUMN_SETS[table]
        if unknown:
            raise ValueError(f"{table} has no column {', '.join(sorted(unknown))}")
        row = [row.get(name) for name, _ in columns]
    elif len(row) != len(columns):
        raise ValueError(f"a {table} row needs {len(columns)} values ({', '.join(COLUMNS[table])}), got {len(row)}")
    encoded = []
    for value, (name, kind) in zip(row, columns):
        if value is not None:
            expected = _PYTHON_TYPES[kind]
            if not isinstance(value, expected) or (isinstance(value, bool) and kind != "BOOLEAN"):
                raise ValueError(f"{table}.{name} takes {kind}, not {value!r}")
            if kind == "TIMESTAMP":
                value = utc(value).isoformat(sep=" ")
            elif kind == "DOUBLE" and not math.isfinite(value):
                value = repr(float(value))  # 'nan', 'inf': not JSON numbers, but DuckDB casts them
        encoded.append(value)
    return encoded


def encode_case(rows: Mapping[str, Iterable[Sequence[Any] | Mapping[str, Any]]]) -> tuple[list[Any], str]:
    """(key, JSON) of one case's rows. Raises ValueError unless the rows are one case's
    (exactly one `cases` row, every row under its key) and every value fits its column."""
    unknown = set(rows) - set(CASE_TABLES)
    if unknown:
        raise ValueError(f"a case has no rows for table {', '.join(sorted(unknown))} (only {', '.join(CASE_TABLES)})")
    encoded = {table: [_encode_row(table, row) for row in rows.get(table, ())] for table in CASE_TABLES}
    if len(encoded["cases"]) != 1:
        raise ValueError(f"a case has exactly one cases row, not {len(encoded['cases'])}")
    key = encoded["cases"][0][:_KEY_WIDTH]
    if key[0] is None:
        raise ValueError("cases.run_id is required")
    for table, table_rows in encoded.items():
        if any(row[:_KEY_WIDTH] != key for row in table_rows):
            raise ValueError(f"every row of a case has its key {key}; a {table} row does not")
    return key, json.dumps(encoded, ensure_ascii=False, separators=(",", ":"))


def unpack_sql(table: str, source: str) -> str:
    """A SELECT of `table`'s typed rows out of the `rows` JSON of `source` (a table of part rows)."""
    values = ", ".join(f"CAST(r->>{i} AS {kind}) AS {quoted(name)}" for i, (name, kind) in enumerate(column_types(table)))
    return f"SELECT {values} FROM (SELECT unnest(CAST(rows->'{table}' AS JSON[])) AS r FROM {source})"


def journal_path(part: Path | str) -> Path:
    """The journal beside a part: `<part>.journal`."""
    part = Path(part)
    return part.with_name(part.name + ".journal")


def read_journal(path: Path | str) -> list[tuple[Any, ...]]:
    """The cases in a journal as (run_id, task, case, approach, model, rows JSON) tuples, oldest first.
    A last line without its newline is a write the process did not finish (it was killed): it
    is skipped, and so is its case, which was never reported as completed."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    cases = []
    for number, line in enumerate(data.split(b"\n")[:-1], 1):  # the piece after the last newline is unfinished
        try:
            key, _, document = line.decode("utf-8").partition("\t")
            run_id, task, case, approach, model = json.loads(key)
            json.loads(document)
        except ValueError:
            raise LedgerError(f"{path}: line {number} is not a journal entry (the file is damaged)") from None
        cases.append((run_id, task, case, approach, model, document))
    return cases


class LedgerPart:
    """One worker's ledger file, plus a journal that makes every added case durable at once.

    A DuckDB commit costs about 10 ms on a disk that syncs for real, more than a replayed case,
    so cases are committed in groups: at most every `commit_every` seconds (0 commits each case),
    and on `flush()` / `close()`. Until its group commits, a case lives in the journal
    (`<part>.journal`): one line appended with a single write before `add_case` returns, and
    emptied after each commit. A process killed at any instant (SIGKILL, the OOM killer) thus
    leaves every case whose `add_case` returned in the part or the journal, and
    `Ledger.merge_parts` / `Ledger.recover` read both. (The journal is not synced to disk: it
    survives the process, not a power cut; the group commit bounds that loss to `commit_every`.)

    Raises:
        LedgerError: the file is not a part, or another process has it open.
    """

    def __init__(self, path: Path | str, *, commit_every: float = 0.0) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, PART_FORMAT)
        self._conn.execute("SET threads TO 1")  # a part takes one row at a time; workers own the cores
        self._appender: Any = None
        self._commit_every = commit_every
        self._open_since: float | None = None  # when the uncommitted transaction began
        self._journal: int | None = None
        leftover = read_journal(journal_path(self.path))  # a killed process of the same pid wrote to this part
        if leftover:
            self._conn.begin()
            appender = self._conn.appender("case_rows")
            for case in leftover:
                appender.append_row(*case)
            appender.flush()
            self._conn.commit()
        if commit_every > 0 or leftover:
            self._journal = os.open(journal_path(self.path), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC | os.O_CLOEXEC, 0o644)

    def add_case(self, rows: Mapping[str, Iterable[Sequence[Any] | Mapping[str, Any]]]) -> None:
        """Add one case's rows (as `case_rows` returns them: table -> tuples or dicts in column
        order) with DuckDB's appender; durable against a kill of this process once it returns.
        A bad row raises before anything of the case is added."""
        key, document = encode_case(rows)
        if self._appender is None:
            self._appender = self._conn.appender("case_rows")
        if self._open_since is None:
            self._conn.begin()
            self._open_since = time.monotonic()
        try:
            self._appender.append_row(*key, document)
        except BaseException:
            self._appender = None  # a failed append leaves its buffer; start clean
            self._conn.rollback()
            self._open_since = None
            raise
        if time.monotonic() - self._open_since >= self._commit_every:
            self.flush()
        elif self._journal is not None:
            try:
                _write_all(self._journal, (json.dumps(key, ensure_ascii=False) + "\t" + document + "\n").encode("utf-8"))
            except OSError:
                self.flush()  # no room for the journal line (a full disk): commit the case instead

    def flush(self) -> None:
        """Commit every case added so far (and empty the journal, which held them)."""
        if self._open_since is None:
            return
        try:
            self._appender.flush()
            self._conn.commit()
        except BaseException:
            self._appender = None
            self._conn.rollback()
            raise
        finally:
            self._open_since = None
        if self._journal is not None:
            os.ftruncate(self._journal, 0)  # killed before this: merging finds the cases twice, keeps one

    def close(self) -> None:
        self.flush()
        self._appender = None
        self._conn.close()
        if self._journal is not None:
            os.close(self._journal)
            self._journal = None
            journal_path(self.path).unlink(missing_ok=True)

    def __enter__(self) -> LedgerPart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
