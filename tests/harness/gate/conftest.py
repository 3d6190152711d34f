"""Fixtures of the gate tests: a small ledger (see `_ledgers`) and the CLI (see `_app`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness.gate._app import cli as make_cli
from tests.harness.gate._ledgers import CONTEXT, specs, write_run


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A ledger with one run, `base`, every case passing, with context figures."""
    path = tmp_path / "ledger.duckdb"
    write_run(path, "base", specs(), context=CONTEXT)
    return path


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("CI", "true")
    return make_cli()
