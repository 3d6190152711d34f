"""Python MCP servers in environments of their own: mcp-server-sqlite needs the mcp SDK 1.x and
flowtape runs 2.x, so the shipped `shop-sales` task names its server's requirements under
`python:` and flowtape makes that environment when it records (never on replay)."""

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness._cli.main import app
from harness.envs import env_dir, server_specs
from harness.goldens import GoldenError, load_task

ROOT = Path(__file__).resolve().parents[2]
REQS = ["mcp-server-sqlite==2025.4.25", "mcp==1.30.0"]


def test_a_server_with_requirements_runs_from_its_environment(tmp_path):
    specs = server_specs({"sqlite": {"python": REQS, "command": "mcp-server-sqlite", "args": ["--db-path", "x.db"]},
                          "time": {"command": "mcp-server-time"}}, tmp_path)
    assert specs["sqlite"] == {"command": str(env_dir(REQS, tmp_path) / "bin" / "mcp-server-sqlite"), "args": ["--db-path", "x.db"]}
    assert specs["time"] == {"command": "mcp-server-time"}
    assert not any(tmp_path.iterdir())  # nothing is made unless asked (replay never makes it)
    assert env_dir(list(reversed(REQS)), tmp_path) == env_dir(REQS, tmp_path) != env_dir(["mcp-server-sqlite"], tmp_path)


@pytest.mark.parametrize("python", [[], "mcp-server-sqlite", [""], [3]])
def test_a_malformed_python_entry_is_a_load_error(tmp_path, python):
    shutil.copytree(ROOT / "goldens/shop-sales", tmp_path / "goldens/shop-sales")
    task = tmp_path / "goldens/shop-sales/task.yaml"
    spec = yaml.safe_load(task.read_text())
    spec["servers"]["sqlite"]["python"] = python
    task.write_text(yaml.safe_dump(spec))
    with pytest.raises(GoldenError, match=r"task\.yaml: servers\.sqlite\.python: a list of pip requirements"):
        load_task(tmp_path / "goldens/shop-sales")


def test_recording_makes_the_environment_and_the_server_runs_on_mcp_1(tmp_path, monkeypatch):
    """Live: pip installs the pinned server into its own environment (kept in the checkout's
    .flowtape/envs between test runs), the server records, and the recording replays with the
    environment gone."""
    envs = ROOT / ".flowtape" / "envs"
    monkeypatch.setenv("FLOWTAPE_ENVS", str(envs))
    monkeypatch.delenv("CI", raising=False)
    shutil.copytree(ROOT / "goldens/shop-sales", tmp_path / "goldens/shop-sales")
    cli = CliRunner()
    recorded = cli.invoke(app, ["record", str(tmp_path / "goldens"), "--cassettes", str(tmp_path / "cassettes"), "--case", "best-sellers", "--approach", "ir"])
    assert recorded.exit_code == 0, recorded.output
    assert "[1/1] shop-sales/best-sellers [ir]: passed, recorded 5 interactions" in recorded.stdout
    env = env_dir(REQS, envs)
    mcp_version = next((env / "lib").glob("python*/site-packages/mcp-*.dist-info")).name
    assert mcp_version.startswith("mcp-1.")  # the server's SDK is 1.x ...
    from importlib.metadata import version

    assert version("mcp").startswith("2.")  # ... and flowtape's own is 2.x
    monkeypatch.setenv("FLOWTAPE_ENVS", str(tmp_path / "no-envs-here"))
    replayed = cli.invoke(app, ["test", str(tmp_path / "goldens"), "--cassettes", str(tmp_path / "cassettes"), "--case", "best-sellers",
                                "--approach", "ir", "--ledger", str(tmp_path / "l.duckdb"), "--trace-dir", str(tmp_path / "t")])
    assert replayed.exit_code == 0, replayed.output
    assert not (tmp_path / "no-envs-here").exists()
