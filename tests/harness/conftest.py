from __future__ import annotations

import pytest


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
