"""`--executor ray` on a real Ray cluster this module starts (`ray start --head`, two worker CPUs,
its own temp dir and ports; `ray stop` afterwards, whatever happened): the shipped suite gives
the ledger the local executor gives, with a worker killed (by its pid) under a unit;
a unit whose worker keeps dying is an error in the ledger and nothing is counted twice; a cost
cap stops a recording and names what it left. Skipped, with the reason, only when Ray is not
installed or will not start here (scripts/setup.sh installs the `ray` extra, so CI runs them)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.accounting import query

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TABLES = ("cases", "steps", "llm_calls", "tool_calls", "evaluations")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The address of a one-node Ray cluster with two worker CPUs, started for this module."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'flowtape[ray]'; scripts/setup.sh installs it)")
    temp = tempfile.mkdtemp(prefix="ft-ray-", dir="/tmp")  # short: Ray's socket paths live under it
    gcs, node_manager, object_manager, client, agent_grpc, agent_http, metrics, runtime_env, low = _free_ports(9)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    start = [str(BIN / "ray"), "start", "--head", "--num-cpus", "2", "--temp-dir", temp, "--port", str(gcs),
             "--node-ip-address", "127.0.0.1", "--node-manager-port", str(node_manager), "--object-manager-port", str(object_manager),
             "--ray-client-server-port", str(client), "--dashboard-agent-grpc-port", str(agent_grpc),
             "--dashboard-agent-listen-port", str(agent_http), "--metrics-export-port", str(metrics),
             "--runtime-env-agent-port", str(runtime_env), "--include-dashboard", "false", "--disable-usage-stats"]
    try:
        done = subprocess.run(start, capture_output=True, text=True, timeout=120, env=env)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            pytest.skip(f"ray start --head failed here: {lines[-1]}")
        yield f"127.0.0.1:{gcs}"
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, timeout=120, env=env)
        shutil.rmtree(temp, ignore_errors=True)


def flowtape(*args: object, cwd: Path | None = None, **popen: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["CI"] = "true"
    return subprocess.run([str(BIN / "flowtape"), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd, env=env, **popen)


def ledger_figures(ledger: Path) -> dict[str, object]:
    """What must not depend on where the units ran: rows per table, each case's verdict, and
    each check's verdict."""
    counts = {table: query(ledger, f"SELECT count(*) FROM {table}")[1][0][0] for table in TABLES}
    verdicts = query(ledger, 'SELECT task, "case", approach, model, status FROM cases ORDER BY ALL')[1]
    checks = query(ledger, 'SELECT task, "case", approach, target, evaluator, passed FROM evaluations ORDER BY ALL')[1]
    return {"counts": counts, "verdicts": verdicts, "checks": checks}


def copy_suite(dest: Path, tasks: tuple[str, ...] | None = None) -> Path:
    for name in ("goldens", "cassettes"):
        for folder in sorted((ROOT / name).iterdir()):
            if folder.is_dir() and (tasks is None or folder.name in tasks):
                shutil.copytree(folder, dest / name / folder.name)
    return dest


def _unit_pids() -> list[int]:
    """Ray workers of this machine running a flowtape unit now (Ray titles a worker by its task)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::flowtape_unit"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _kill_units(times: int, stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL a worker while it runs a unit, `times` times (each a different worker process)."""
    while len(killed) < times and not stop.is_set():
        for pid in _unit_pids():
            if pid not in killed:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                killed.append(pid)
                break
        time.sleep(0.005)


def test_the_shipped_suite_gives_the_local_ledger_on_ray_with_a_worker_killed_under_a_unit(cluster, shipped, tmp_path):
    """The whole shipped suite (110 units) on Ray, one worker SIGKILLed (by its pid) while it runs
    a unit: Ray runs that unit again on another worker, so the ledger is the local executor's,
    table by table and verdict by verdict: nothing lost, nothing counted twice."""
    ledger = tmp_path / "ray.duckdb"
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_units, args=(1, stop, killed))
    killer.start()
    try:
        done = flowtape("test", shipped.work / "goldens", "--cassettes", shipped.work / "cassettes", "--ledger", ledger,
                        "--trace-dir", tmp_path / "traces", "--executor", "ray", "--address", cluster, cwd=tmp_path)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was caught running a unit"
    assert done.returncode == shipped.test.exit_code, done.stderr
    assert "on Ray" in done.stderr
    local = ledger_figures(shipped.ledger)
    assert local["counts"]["cases"] == 110  # the whole shipped suite
    assert ledger_figures(ledger) == local
    [(status, settings)] = query(ledger, "SELECT status, settings FROM runs")[1]
    assert status == "completed" and json.loads(settings)["executor"] == "ray"
    # the driver wrote every trace the rows name, and left no part behind
    paths = [Path(p) for (p,) in query(ledger, "SELECT trace_path FROM cases WHERE trace_path IS NOT NULL")[1]]
    assert len(paths) == 110 and all(p.is_file() and p.parent.parent == tmp_path / "traces" for p in paths)
    assert not (tmp_path / "ray.duckdb.parts").exists()


def test_a_unit_whose_worker_dies_on_every_try_is_one_error_in_the_ledger(cluster, tmp_path, monkeypatch):
    from harness.suiterun import SuiteOptions, run_suite

    work = copy_suite(tmp_path / "work", ("meeting-times",))
    for case in (work / "goldens/meeting-times/cases").glob("*.yaml"):
        if case.stem not in ("lisbon-tokyo", "new-york-berlin"):
            case.unlink()
    monkeypatch.setenv("CI", "true")
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_units, args=(1, stop, killed))
    killer.start()
    try:  # retries=0: the first death is final
        result = run_suite(SuiteOptions(suite=work / "goldens", cassettes=work / "cassettes", ledger=tmp_path / "l.duckdb",
                                        traces=tmp_path / "traces", executor="ray", address=cluster, retries=0))
    finally:
        stop.set()
        killer.join()
    assert len(killed) == 1
    errors = [u for u in result.units if u.error and "died" in u.error]
    assert len(errors) == 1 and "not run again" in errors[0].error
    ledger = tmp_path / "l.duckdb"
    cases = query(ledger, 'SELECT task, "case", approach, status, error FROM cases')[1]
    assert len(cases) == len(result.units) == len({c[:3] for c in cases})  # every unit once
    assert [c for c in cases if c[4] and "died" in c[4]] == [(errors[0].task, errors[0].case, errors[0].approach, "error", errors[0].error)]


def test_a_worker_that_cannot_see_the_suite_stops_the_run_with_one_line(cluster, tmp_path):
    work = copy_suite(tmp_path / "work", ("meeting-times",))
    ledger = tmp_path / "l.duckdb"
    # Workers read the cassettes from the path the driver names (a shared path on a cluster);
    # here that path is on no node: the first worker to look stops the run, naming it.
    done = flowtape("test", work / "goldens", "--cassettes", tmp_path / "not-shared", "--ledger", ledger, "--trace-dir", tmp_path / "t",
                    "--executor", "ray", "--address", cluster)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()[-1:]
    assert line.startswith("flowtape: a Ray worker on ") and f"cannot see {tmp_path / 'not-shared'}" in line and "same path on every node" in line
    assert "Traceback" not in done.stderr


def test_without_ray_installed_the_flag_is_one_line_and_exit_2(tmp_path):
    # A folder shadowing `ray` with a module that will not import: what a missing install looks like to Python.
    (tmp_path / "shadow" / "ray").mkdir(parents=True)
    (tmp_path / "shadow" / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    work = copy_suite(tmp_path / "work", ("meeting-times",))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow"), "CI": "true"}
    done = subprocess.run([str(BIN / "flowtape"), "test", str(work / "goldens"), "--cassettes", str(work / "cassettes"),
                           "--ledger", str(tmp_path / "l.duckdb"), "--executor", "ray"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "flowtape: --executor ray needs Ray: pip install 'flowtape[ray]'"
    assert not (tmp_path / "l.duckdb").exists()  # no run started


PRICED_TASK = """\
version: 1
description: greet someone
servers: {}
approaches: [ir]
llm:
  model: openai/smollm2
  prices: {smollm2: {input_per_mtok: 1000000, output_per_mtok: 1000000}}
"""
WORKFLOW = {
    "inputs": {"name": {"type": "string"}},
    "nodes": [{"id": "greet", "type": "llm", "params": {"prompt": "Say hello to ${name} in three words.", "temperature": 0, "max_tokens": 8}}],
    "edges": [],
    "outputs": {"reply": {"source": "${greet.response}"}},
}
NAMES = ("ada", "grace", "linus", "margaret", "ken", "barbara")


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_cost_cap_stops_a_recording_and_names_what_it_left(executor, cluster, local_model, tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    task = tmp_path / "suite" / "greet"
    (task / "cases").mkdir(parents=True)
    (task / "task.yaml").write_text(PRICED_TASK)  # a dollar a token: the first call passes a cap of one cent
    (task / "workflow.json").write_text(json.dumps(WORKFLOW))
    for name in NAMES:
        (task / "cases" / f"{name}.yaml").write_text(f"version: 1\ninputs: {{name: {name}}}\noutputs:\n  reply: [{{Regex: '\\S'}}]\n")
    tapes = tmp_path / "cassettes"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "RAY_ADDRESS")}
    done = subprocess.run([str(BIN / "flowtape"), "record", str(tmp_path / "suite"), "--cassettes", str(tapes), "--max-cost", "0.01",
                           "--llm-api-base", local_model.api_base, "--llm-api-key", local_model.api_key, "--executor", executor,
                           *(["--address", cluster] if executor == "ray" else [])], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    recorded = sorted(p.name.split(".")[0] for p in (tapes / "greet").glob("*.yaml"))
    [summary] = [line for line in done.stdout.splitlines() if "left unrecorded" in line]
    left = sorted(part.split("/")[1].split(" ")[0] for part in summary.split("left unrecorded: ")[1].split(", "))
    # local: one unit at a time, so exactly one; ray: those already running when the cap was reached finish (2 CPUs)
    assert len(recorded) == 1 if executor == "local" else 1 <= len(recorded) <= 2
    assert sorted(recorded + left) == sorted(NAMES)  # every unit is either recorded or named as left
    assert summary.startswith("--max-cost $0.01 reached ($")
