"""The commands the gate tests drive, assembled into one typer app: `flowtape gate` is not yet
registered in `harness/_cli/main.py`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.testing import CliRunner

from harness._cli.gate import gate as gate_command
from harness._cli.ledger import app as ledger_app
from harness._cli.test import test as test_command


def cli() -> Callable[..., Any]:
    """`invoke("gate", "--ledger", path, ...)` -> click's Result (exit_code, stdout, stderr)."""
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("test")(test_command)
    app.command("gate")(gate_command)
    app.add_typer(ledger_app, name="ledger")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])
