"""Which run the gate compares with, and where the chosen baseline is kept.

The baseline is kept in the ledger itself, in a table `gate_baseline` (one row per
`flowtape gate --update-baseline`, the latest row wins), so it travels with the ledger file and
its history is queryable:

    flowtape ledger query "SELECT * FROM gate_baseline ORDER BY set_at DESC"

A row holds the run id, its git commit, and the MCP servers' schema tokens as the cassettes had
them when the baseline was set (so a schema that grows later is shown against its old size).

`--baseline REF` picks another one: `git:<commit>` (the latest run at that commit; any name git
resolves, or a prefix of the recorded hash), a path to another ledger file (its latest run), or a
run id of this ledger.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from harness.gate._figures import LedgerReader, Source, latest_run, reading
from harness.gate._policy import GateError

__all__ = ["BASELINE_DDL", "BaselineRef", "baseline_schema_tokens", "recorded_baseline", "resolve_baseline", "set_baseline"]

BASELINE_DDL = """CREATE TABLE IF NOT EXISTS gate_baseline (
    set_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL, git_commit VARCHAR, schema_tokens JSON)"""


@dataclass(frozen=True)
class BaselineRef:
    """A baseline run: the ledger that holds it, its id, and how it was chosen (for reports)."""

    ledger: Path
    run_id: str
    how: str


def recorded_baseline(source: Source) -> str | None:
    """The run `--update-baseline` last recorded in the ledger, or None."""
    with reading(source) as db:
        if "gate_baseline" not in db.tables:
            return None
        rows = db.rows("SELECT run_id FROM gate_baseline ORDER BY set_at DESC LIMIT 1")
    return rows[0][0] if rows else None


def baseline_schema_tokens(source: Source, run_id: str) -> dict[str, int] | None:
    """The schema tokens per server recorded with `run_id` as a baseline, or None."""
    with reading(source) as db:
        if "gate_baseline" not in db.tables:
            return None
        rows = db.rows("SELECT schema_tokens FROM gate_baseline WHERE run_id = ? AND schema_tokens IS NOT NULL ORDER BY set_at DESC LIMIT 1", [run_id])
    return {str(k): int(v) for k, v in json.loads(rows[0][0]).items()} if rows else None


def set_baseline(ledger: Path, run_id: str, git_commit: str | None, schema_tokens: dict[str, int] | None) -> None:
    """Record `run_id` as the ledger's baseline (a new `gate_baseline` row)."""
    LedgerReader(ledger).close()  # the file is a ledger (raises GateError otherwise)
    try:
        conn = duckdb.connect(str(ledger))
    except duckdb.Error as err:
        busy = "lock" in str(err).lower()
        raise GateError(f"another flowtape process is writing {ledger}" if busy else f"cannot write {ledger}: {err}") from None
    try:
        conn.execute(BASELINE_DDL)
        conn.execute("INSERT INTO gate_baseline VALUES (?, ?, ?, ?)",
                     [datetime.now(timezone.utc).replace(tzinfo=None), run_id, git_commit,
                      json.dumps(schema_tokens, sort_keys=True) if schema_tokens is not None else None])
    finally:
        conn.close()


def _git_commit_of(ref: str) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _by_git(db: LedgerReader, ref: str, current: str) -> BaselineRef:
    commit = _git_commit_of(ref)
    if commit is not None:
        rows = db.rows("""SELECT r.run_id, r.git_commit FROM runs r WHERE r.git_commit = ? AND r.run_id <> ?
                                 AND EXISTS (SELECT 1 FROM cases c WHERE c.run_id = r.run_id) ORDER BY r.started_at DESC LIMIT 1""", [commit, current])
    elif re.fullmatch(r"[0-9a-fA-F]{4,40}", ref):
        rows = db.rows("""SELECT r.run_id, r.git_commit FROM runs r WHERE starts_with(r.git_commit, ?) AND r.run_id <> ?
                                 AND EXISTS (SELECT 1 FROM cases c WHERE c.run_id = r.run_id) ORDER BY r.started_at DESC""", [ref.lower(), current])
        if len({r[1] for r in rows}) > 1:
            raise GateError(f"--baseline git:{ref}: ambiguous, runs at commits {', '.join(sorted({r[1][:12] for r in rows}))}")
    else:
        raise GateError(f"--baseline git:{ref}: git does not know that commit here")
    if not rows:
        raise GateError(f"--baseline git:{ref}: no run at commit {commit or ref} in {db.path}")
    return BaselineRef(db.path, rows[0][0], f"git:{ref} ({rows[0][1][:12]}), run {rows[0][0]}")


def resolve_baseline(source: Source, ref: str | None, current: str) -> BaselineRef | None:
    """The baseline run for `current`: `ref` resolved as above, or (no `ref`) the recorded one;
    None when no `ref` is given and none is recorded.

    Raises:
        GateError: `ref` names nothing, or the recorded baseline run is no longer in the ledger.
    """
    with reading(source) as db:
        return _resolve(db, ref, current)


def _resolve(db: LedgerReader, ref: str | None, current: str) -> BaselineRef | None:
    ledger = db.path
    if ref is None:
        run_id = recorded_baseline(db)
        if run_id is None:
            return None
        if not db.rows("SELECT 1 FROM runs WHERE run_id = ?", [run_id]):
            raise GateError(f"{ledger}: the recorded baseline run {run_id} is not in the ledger; set another with --update-baseline")
        return BaselineRef(ledger, run_id, f"recorded baseline, run {run_id}")
    if ref.startswith("git:"):
        return _by_git(db, ref.removeprefix("git:"), current)
    path = Path(ref)
    if path.is_file():
        same = path.resolve() == ledger.resolve()
        run_id = latest_run(db if same else path, exclude=current if same else None)
        if run_id is None:
            raise GateError(f"--baseline {ref}: that ledger has no run with cases")
        return BaselineRef(path, run_id, f"ledger {ref}, run {run_id}")
    if db.rows("SELECT 1 FROM runs WHERE run_id = ?", [ref]):
        return BaselineRef(ledger, ref, f"run {ref}")
    raise GateError(f"--baseline {ref}: not a run of {ledger}, a ledger file, or git:<commit>")
