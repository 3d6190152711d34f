from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    """flowtape's CLI in-process, as a user outside CI runs it (under `CI` recording is refused):
    `cli("test", suite, "--workers", 2)` returns typer's Result. Test modules that need another
    setup define their own `cli`."""
    from typer.testing import CliRunner

    from harness._cli.main import app

    monkeypatch.delenv("CI", raising=False)
    runner = CliRunner()
    return lambda *args, **kwargs: runner.invoke(app, [str(a) for a in args], **kwargs)  # input="..." pipes stdin


@dataclass(frozen=True)
class Output:
    """What a CLI invocation left: its exit code and its two streams."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass(frozen=True)
class ShippedRun:
    """The shipped suite replayed once for the whole session, as CI replays it (see `shipped`).
    Its folder is shared: read it, never change it; `copy` gives a folder of one's own."""

    work: Path  # goldens/, cassettes/, ledger.duckdb, traces/; a git repository with one commit
    run_id: str
    test: Output  # `flowtape test` of every task, case and approach, 4 workers
    compare: dict[str, Any]  # `flowtape compare --run RUN_ID --sweep-system-tokens off --format json` of that run

    @property
    def ledger(self) -> Path:
        return self.work / "ledger.duckdb"

    def copy(self, dest: Path) -> Path:
        """The whole folder (goldens, cassettes, ledger, traces, .git) copied to `dest`, free to
        change. The ledger's run still names the shared folder's traces and cassettes."""
        shutil.copytree(self.work, dest)
        return dest


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=folder,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="session")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedRun]:
    """The shipped suite and its cassettes copied to a temporary git repository (one commit) and
    replayed offline under CI with `flowtape test` (every task, case and approach: 115 units, 4
    workers), then accounted with `flowtape compare --run` (no sweep). Replaying the whole suite is the
    slowest thing the tests do, so the tests that judge the whole suite share this one run."""
    from typer.testing import CliRunner

    from harness._cli.main import app
    from harness.accounting import query

    work = tmp_path_factory.mktemp("shipped")
    shutil.copytree(ROOT / "goldens", work / "goldens")
    shutil.copytree(ROOT / "cassettes", work / "cassettes")
    git(work, "init", "-q")
    git(work, "commit", "-q", "--allow-empty", "-m", "one")
    runner = CliRunner()
    paths = ("--cassettes", work / "cassettes", "--ledger", work / "ledger.duckdb", "--trace-dir", work / "traces")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CI", "true")
        patch.chdir(work)  # a run records the commit checked out where it runs
        done = runner.invoke(app, [str(a) for a in ("test", work / "goldens", *paths, "--workers", "4")])
        test = Output(done.exit_code, done.stdout, done.stderr)
        assert test.exit_code in (0, 1), test.output  # 1: some cases failed, which the tests judge
        [(run_id,)] = query(work / "ledger.duckdb", "SELECT run_id FROM runs")[1]
        # The sweep of the modelled constants is judged on one task (test_cli_suite.py); over all eight it adds seconds.
        done = runner.invoke(app, [str(a) for a in ("compare", work / "goldens", "--run", run_id, *paths, "--sweep-system-tokens", "off",
                                                    "--format", "json")])
        assert done.exit_code == 0, done.output
    before = _contents(work)
    yield ShippedRun(work, run_id, test, json.loads(done.stdout))
    assert _contents(work) == before, "a test changed the shared replay's folder: change a copy (ShippedRun.copy)"


def _contents(folder: Path) -> dict[str, bytes]:
    """Every file of the shared run's suite, cassettes and ledger, by path."""
    files = [p for name in ("goldens", "cassettes", "traces") for p in (folder / name).rglob("*") if p.is_file()]
    return {str(p.relative_to(folder)): p.read_bytes() for p in [*files, folder / "ledger.duckdb"]}
