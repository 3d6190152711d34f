"""How `flowtape` starts: a command builds only itself; `--help` is printed from a cache of what
typer rendered, byte for byte the same, without importing typer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness._cli import _app, main

ROOT = Path(__file__).resolve().parents[2]
HELP = "import sys; sys.argv = ['flowtape', *sys.argv[1:]]; from harness._cli.main import main; main()"


def flowtape(cache: Path | str, *args: str, columns: int = 100) -> tuple[str, set[str]]:
    """(stdout, the modules imported) of `flowtape ARGS` in a new process."""
    env = {**os.environ, "FLOWTAPE_CACHE_DIR": str(cache), "COLUMNS": str(columns)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", HELP, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done.stdout, imported


@pytest.mark.parametrize("args", [("--help",), ("gate", "--help"), ("ledger", "query", "--help")], ids=" ".join)
def test_a_help_seen_before_is_the_same_bytes_without_typer(tmp_path: Path, args: tuple[str, ...]) -> None:
    first, imported = flowtape(tmp_path, *args)
    assert "typer" in imported and "Usage: flowtape" in first
    again, imported = flowtape(tmp_path, *args)
    assert again == first
    assert not {"typer", "rich", "pydantic", "click"} & imported
    fresh, _ = flowtape("", *args)  # no cache at all: rendered by typer
    assert fresh == first


def test_another_width_is_rendered_anew(tmp_path: Path) -> None:
    narrow, _ = flowtape(tmp_path, "--help", columns=60)
    wide, imported = flowtape(tmp_path, "--help", columns=120)
    assert "typer" in imported and narrow != wide
    assert max(map(len, narrow.splitlines())) <= 60 < max(map(len, wide.splitlines()))


def test_a_changed_cli_source_is_rendered_anew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness._cli import _help

    monkeypatch.setattr(sys, "argv", ["flowtape", "--help"])
    key = _help._key(["--help"])
    original = _help.__file__
    copy = tmp_path / "_cli"
    copy.mkdir()
    for source in Path(original).parent.glob("*.py"):
        (copy / source.name).write_text(source.read_text())
    monkeypatch.setattr(_help, "__file__", str(copy / "_help.py"))
    assert _help._key(["--help"]) == key  # the same sources, the same key
    (copy / "gate.py").write_text((copy / "gate.py").read_text().replace("Judge a run", "Judge one run"))
    assert _help._key(["--help"]) != key


def test_a_failing_help_is_not_kept(tmp_path: Path) -> None:
    env = {**os.environ, "FLOWTAPE_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", HELP, "nope", "--help"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 2 and "No such command 'nope'" in done.stderr
    assert not (tmp_path / "help").exists()


def test_the_names_main_knows_are_the_apps_commands() -> None:
    assert main.NAMES == set(_app.COMMANDS) | set(_app.GROUPS)


def test_a_command_builds_only_itself() -> None:
    import typer.main

    group = typer.main.get_command(_app.build_app("gate"))
    assert sorted(group.commands) == ["gate"]
    assert sorted(typer.main.get_command(main.app).commands) == sorted(main.NAMES)


@pytest.mark.parametrize(("argv", "early"), [
    (["test", "goldens", "-w", "2"], True),
    (["test", "goldens", "--workers=3"], True),
    (["test", "-w4", "goldens"], True),
    (["test", "goldens", "-w", "1"], False),
    (["test", "goldens"], False),  # the project's setting decides, once it is read
    (["test", "goldens", "-w", "2", "--executor", "ray"], False),
    (["test", "goldens", "-w", "2", "--help"], False),
    (["compare", "goldens", "-w", "2"], True),
    (["report", "-w", "2"], False),
    (["test", "goldens", "-w", "two"], False),
])
def test_the_forkserver_starts_at_once_only_for_a_local_replay_with_workers(argv, early) -> None:
    from harness._forkserver import asked_for

    assert asked_for(argv) is early


ENTRY = ("import atexit, sys; atexit.register(lambda: print('exit handler ran', flush=True)); "
         "sys.argv = ['flowtape', *sys.argv[1:]]; from harness._cli.main import entry; entry()")


@pytest.mark.parametrize(("args", "code", "stdout", "stderr"), [
    (("--version",), 0, "flowtape ", ""),
    (("nope",), 2, "", "No such command 'nope'"),
    (("gate", "--allow-no-policy", "--ledger", "no-such-ledger.duckdb"), 2, "", "no-such-ledger.duckdb"),
], ids=["ok", "usage", "bad input"])
def test_the_console_script_keeps_exit_codes_output_and_exit_handlers(tmp_path: Path, args: tuple[str, ...], code: int, stdout: str, stderr: str) -> None:
    """`entry` ends the process without the interpreter's teardown: the exit code, everything
    printed and the exit handlers are as an ordinary exit leaves them."""
    done = subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith(stdout) and done.stdout.endswith("exit handler ran\n")
    assert stderr in done.stderr and "Traceback" not in done.stderr


def test_the_console_script_is_entry() -> None:
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["flowtape"] == "harness._cli.main:entry"
