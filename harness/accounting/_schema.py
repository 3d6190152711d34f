"""The ledger's tables, its version, and opening a DuckDB file as a ledger (or a part of one).

A part (see `_part`) has one table, `case_rows`: one row per case, its key and its rows of every
case table as one JSON document, so a worker writes a case with one statement.

Every table but `runs` and `meta` holds rows of one case, keyed by (run_id, task, case, approach,
model); `model` is the model the case ran with (its llm nodes' default, the code approach's
`llm()`, direct's orchestrator), so one run can hold the same cases under several models; `''`
on rows a schema-1 ledger held (upgraded in place when opened). `llm_calls.call_model` is the
model a call itself named (an llm node may name its own). `case` is an SQL keyword, so
queries write it `"case"`. Timestamps are UTC (DuckDB TIMESTAMP).
`seq` is the step's position in its trace, so a node that ran twice (a loop) stays two rows that
still join `steps` to `llm_calls` / `tool_calls` one to one.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

__all__ = ["CASE_TABLES", "COLUMNS", "KEY", "LedgerError", "LedgerLockedError", "SCHEMA_VERSION", "connect"]

SCHEMA_VERSION = 2  # 2: `model` joins the case key
LEDGER_FORMAT = "flowtape-ledger"
PART_FORMAT = "flowtape-ledger-part"

_KEY = (("run_id", "VARCHAR NOT NULL"), ("task", "VARCHAR"), ("case", "VARCHAR"), ("approach", "VARCHAR"), ("model", "VARCHAR"))
KEY = tuple(name for name, _ in _KEY)  # what identifies a case's rows in every case table
_STEP = (("seq", "INTEGER"), ("step_id", "VARCHAR"))
_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "meta": (("key", "VARCHAR PRIMARY KEY"), ("value", "VARCHAR")),
    "runs": (("run_id", "VARCHAR PRIMARY KEY"), ("started_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"),
             ("status", "VARCHAR NOT NULL"), ("git_commit", "VARCHAR"), ("flowtape_version", "VARCHAR"),
             ("suite", "VARCHAR"), ("settings", "JSON")),
    "cases": (*_KEY, ("status", "VARCHAR"), ("duration_ms", "DOUBLE"), ("error", "VARCHAR"), ("trace_path", "VARCHAR"),
              ("completed_at", "TIMESTAMP")),
    "steps": (*_KEY, *_STEP, ("kind", "VARCHAR"), ("node_type", "VARCHAR"), ("action", "VARCHAR"), ("error", "VARCHAR"),
              ("attempts", "INTEGER"), ("duration_ms", "DOUBLE")),
    "llm_calls": (*_KEY, *_STEP, ("call_model", "VARCHAR"), ("prompt_tokens", "BIGINT"), ("completion_tokens", "BIGINT"),
                  ("cached_tokens", "BIGINT"), ("cost_usd", "DOUBLE"), ("usage_source", "VARCHAR")),
    "tool_calls": (*_KEY, *_STEP, ("server", "VARCHAR"), ("tool", "VARCHAR"), ("request_bytes", "BIGINT"),
                   ("result_bytes", "BIGINT"), ("result_tokens", "BIGINT"), ("tokenizer", "VARCHAR"), ("is_error", "BOOLEAN")),
    "evaluations": (*_KEY, ("target", "VARCHAR"), ("evaluator", "VARCHAR"), ("passed", "BOOLEAN"), ("score", "DOUBLE"),
                    ("reason", "VARCHAR"), ("error", "BOOLEAN")),
}
_PART_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "meta": _TABLES["meta"],
    "case_rows": (*_KEY, ("rows", "JSON")),  # {"cases": [[...]], "steps": [[...], ...], ...}
}
# Column names in declared order, as `case_rows` fills its tuples: {"steps": ("run_id", ...)}.
COLUMNS: dict[str, tuple[str, ...]] = {table: tuple(name for name, _ in cols) for table, cols in _TABLES.items()}
CASE_TABLES = ("cases", "steps", "llm_calls", "tool_calls", "evaluations")  # what a case contributes


class LedgerError(ValueError):
    """The file cannot be used as a ledger: not one, a newer schema, or another process has it."""


class LedgerLockedError(LedgerError):
    """Another process has the file open (DuckDB allows one writer, and no reader beside it)."""


@functools.cache
def column_types(table: str) -> tuple[tuple[str, str], ...]:
    """(name, base SQL type) of each column of a ledger table: ("seq", "INTEGER")."""
    return tuple((name, sql.split(" ")[0]) for name, sql in _TABLES[table])


def utc(moment: datetime | None) -> datetime | None:
    """A naive UTC datetime, as the ledger's TIMESTAMP columns hold (naive input is taken as UTC)."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def quoted(column: str) -> str:
    return f'"{column}"'


def column_list(table: str, prefix: str = "") -> str:
    return ", ".join(prefix + quoted(c) for c in COLUMNS[table])


def sql_string(text: str) -> str:
    """A string literal (ATTACH and COPY take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def describe_io_error(path: Path, err: duckdb.Error) -> LedgerError:
    """The LedgerError for a file DuckDB could not open."""
    message = str(err)
    if "lock" in message.lower():
        return LedgerLockedError(f"another flowtape process is writing {path}")
    if "different configuration than existing connections" in message:
        return LedgerLockedError(f"this process has {path} open for writing; use or close that Ledger first")
    if "not a valid DuckDB database" in message:
        return LedgerError(f"{path} is not a flowtape ledger (not a DuckDB database)")
    return LedgerError(f"cannot open ledger {path}: {message}")


def check(conn: Any, path: Path, expected: str, catalog: str | None = None) -> bool:
    """Whether the database is a ledger of the `expected` format this flowtape can read; False
    when it has no tables at all (new). Raises LedgerError otherwise."""
    where = f"table_catalog = {sql_string(catalog)}" if catalog else "table_catalog = current_database()"
    tables = {row[0] for row in conn.execute(f"SELECT table_name FROM information_schema.tables WHERE {where} AND table_schema = 'main'").fetchall()}
    if not tables:
        return False
    prefix = f"{quoted(catalog)}." if catalog else ""
    meta = dict(conn.execute(f"SELECT key, value FROM {prefix}meta").fetchall()) if "meta" in tables else {}
    if meta.get("format") != expected:
        kind = "flowtape ledger" if expected == LEDGER_FORMAT else "flowtape ledger part"
        raise LedgerError(f"{path} is not a {kind} (it holds tables {', '.join(sorted(tables))})")
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise LedgerError(f"{path} has ledger schema {version}, newer than this flowtape reads ({SCHEMA_VERSION}); upgrade flowtape")
    if expected == PART_FORMAT and version != SCHEMA_VERSION:
        raise LedgerError(f"{path} is a ledger part of schema {version}; this flowtape merges schema {SCHEMA_VERSION} only")
    missing = [t for t in (_TABLES if expected == LEDGER_FORMAT else _PART_TABLES) if t not in tables]
    if missing:
        raise LedgerError(f"{path} is a damaged ledger: tables {', '.join(missing)} are missing")
    return True


def create(conn: Any, fmt: str) -> None:
    tables = _TABLES if fmt == LEDGER_FORMAT else _PART_TABLES
    conn.begin()
    for table, columns in tables.items():
        conn.execute(f"CREATE TABLE {table} ({', '.join(f'{quoted(n)} {t}' for n, t in columns)})")
    conn.execute("INSERT INTO meta VALUES ('format', ?), ('schema_version', ?)", [fmt, str(SCHEMA_VERSION)])
    conn.commit()


def connect(path: Path, fmt: str = LEDGER_FORMAT, *, read_only: bool = False) -> Any:
    """Open `path` as a ledger (or part): created with its tables when new, checked otherwise.

    Raises:
        FileNotFoundError: read-only and there is no file.
        LedgerError: not a ledger, a newer schema, or locked by another process.
    """
    if read_only and not path.exists():
        raise FileNotFoundError(f"no ledger at {path}")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    import duckdb  # here, not at the top: a worker computing a case's rows (COLUMNS) never opens a ledger

    try:
        conn = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as err:
        raise describe_io_error(path, err) from None
    try:
        if not check(conn, path, fmt):
            if read_only:
                raise LedgerError(f"{path} is not a flowtape ledger (it has no tables)")
            create(conn, fmt)
        elif fmt == LEDGER_FORMAT and _version(conn) < SCHEMA_VERSION:
            if read_only:  # upgrade in place first (a reader of an old ledger would find no `model`)
                conn.close()
                connect(path, fmt).close()
                return connect(path, fmt, read_only=True)
            upgrade(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: Any) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])


def upgrade(conn: Any) -> None:
    """Bring a ledger of an older schema to this one, in one transaction. 1 -> 2: every case
    table gets `model` after `approach` (`''` on the rows it held: the model was not recorded);
    `llm_calls.model`, the model a call named, is `call_model`."""
    conn.begin()
    try:
        if _version(conn) < 2:
            for table in CASE_TABLES:
                conn.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
                conn.execute(f"CREATE TABLE {table} ({', '.join(f'{quoted(n)} {t}' for n, t in _TABLES[table])})")
                renamed = {"model": "''", "call_model": quoted("model")}
                values = ", ".join(renamed.get(c, quoted(c)) for c in COLUMNS[table])
                conn.execute(f"INSERT INTO {table} SELECT {values} FROM {table}_v1")
                conn.execute(f"DROP TABLE {table}_v1")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
