"""One ledger for every report test, filled as CI fills it: the shipped suite and its cassettes
copied to a temporary folder and replayed offline with `flowtape test`, then accounted with
`flowtape compare --run`. Two runs, so the cost history has a past:

- `first`: meeting-times only, with a regression planted in a golden (the Tokyo offset expected
  as +8.0h): it fails `outputs.difference Equals` under both approaches; not compared.
- `run`: the whole suite, goldens restored: every case passes; compared (context rows, savings).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from harness._cli.compare import compare as compare_command
from harness._cli.report import report as report_command
from harness._cli.test import test as test_command

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = "goldens/meeting-times/cases/lisbon-tokyo.yaml"
RIGHT, PLANTED = 'difference: [{Equals: "+9.0h"}]', 'difference: [{Equals: "+8.0h"}]'


@dataclass(frozen=True)
class Replayed:
    work: Path
    ledger: Path
    traces: Path
    first: str  # meeting-times with a planted regression; not compared
    run: str  # the whole suite, passing, compared


def make_cli() -> Callable[..., Any]:
    """`cli("report", "--ledger", path, ...)` -> click's Result. `report` is assembled here with
    the commands it builds on, as it is not yet registered in `harness/_cli/main.py`."""
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("test")(test_command)
    app.command("compare")(compare_command)
    app.command("report")(report_command)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def cli() -> Callable[..., Any]:
    return make_cli()


@pytest.fixture(scope="session")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    work = tmp_path_factory.mktemp("reports")
    shutil.copytree(ROOT / "goldens", work / "goldens")
    shutil.copytree(ROOT / "cassettes", work / "cassettes")
    ledger, traces = work / "ledger.duckdb", work / "traces"
    common = ("--cassettes", work / "cassettes", "--ledger", ledger, "--trace-dir", traces)
    cli = make_cli()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CI", "true")
        golden = work / GOLDEN
        assert RIGHT in golden.read_text()
        golden.write_text(golden.read_text().replace(RIGHT, PLANTED))
        result = cli("test", work / "goldens", *common, "--task", "meeting-times", "--approach", "ir", "--approach", "code", "--format", "json")
        assert result.exit_code == 1, result.output
        first = json.loads(result.stdout)["run_id"]
        golden.write_text(golden.read_text().replace(PLANTED, RIGHT))
        # ir and code: the figures these tests check (direct runs are tests/harness/test_direct.py's).
        result = cli("test", work / "goldens", *common, "--workers", "4", "--approach", "ir", "--approach", "code", "--format", "json")
        assert result.exit_code == 0, result.output
        run = json.loads(result.stdout)["run_id"]
        # The reports read only the ledger; compare's sweep of the modelled constants writes nothing there.
        result = cli("compare", work / "goldens", "--run", run, *common, "--sweep-system-tokens", "off", "--format", "json")
        assert result.exit_code == 0, result.output
    yield Replayed(work, ledger, traces, first, run)
