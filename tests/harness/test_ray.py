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
import yaml

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


CLUSTER_TEMP: dict[str, str] = {}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The address of a one-node Ray cluster with two worker CPUs, started for this module (its
    temp dir is `CLUSTER_TEMP[address]`)."""
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
        CLUSTER_TEMP[f"127.0.0.1:{gcs}"] = temp
        yield f"127.0.0.1:{gcs}"
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, timeout=120, env=env)
        shutil.rmtree(temp, ignore_errors=True)


def flowtape(*args: object, cwd: Path | None = None, **popen: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["CI"] = "true"
    return subprocess.run([str(BIN / "flowtape"), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd, env=env, **popen)


# A representative third of the shipped suite (31 units): llm nodes, every approach (ir, code,
# direct), a 22 KB value passed between tools; the whole suite is ~110 units.
SUBSET = ("action-items", "changelog-export", "review-triage")


def ledger_figures(ledger: Path, tasks: tuple[str, ...] = SUBSET) -> dict[str, object]:
    """What must not depend on where the units ran: rows per table, each case's verdict, and
    each check's verdict (of `tasks`)."""
    where = f"WHERE task IN {tasks!r}"
    counts = {table: query(ledger, f"SELECT count(*) FROM {table} {where}")[1][0][0] for table in TABLES}
    verdicts = query(ledger, f'SELECT task, "case", approach, model, status FROM cases {where} ORDER BY ALL')[1]
    checks = query(ledger, f'SELECT task, "case", approach, target, evaluator, passed FROM evaluations {where} ORDER BY ALL')[1]
    return {"counts": counts, "verdicts": verdicts, "checks": checks}


def copy_suite(dest: Path, tasks: tuple[str, ...] | None = None) -> Path:
    for name in ("goldens", "cassettes"):
        for folder in sorted((ROOT / name).iterdir()):
            if folder.is_dir() and (tasks is None or folder.name in tasks):
                shutil.copytree(folder, dest / name / folder.name)
    return dest


def _unit_pids(temp: str) -> list[int]:
    """This cluster's Ray workers running a flowtape unit now (Ray titles a worker by its task;
    a worker's parent is its node's raylet, started with the cluster's temp dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if not (entry / "cmdline").read_bytes().startswith(b"ray::flowtape_unit"):
                    continue
                parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                if temp.encode() in Path(f"/proc/{parent}/cmdline").read_bytes():
                    found.append(int(entry.name))
            except (OSError, IndexError):
                pass
    return found


def _kill_units(temp: str, times: int, stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL a worker of the cluster while it runs a unit, `times` times (each a different process)."""
    while len(killed) < times and not stop.is_set():
        for pid in _unit_pids(temp):
            if pid not in killed:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                killed.append(pid)
                break
        time.sleep(0.005)


def test_the_shipped_suite_gives_the_local_ledger_on_ray_with_a_worker_killed_under_a_unit(cluster, shipped, tmp_path):
    """The whole shipped suite on Ray, one worker SIGKILLed (by its pid) while it runs a unit:
    Ray runs that unit again on another worker, so the ledger is the local executor's, table by
    table and verdict by verdict: nothing lost, nothing counted twice."""
    ledger = tmp_path / "ray.duckdb"
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_units, args=(CLUSTER_TEMP[cluster], 1, stop, killed))
    killer.start()
    try:
        done = flowtape("test", shipped.work / "goldens", "--cassettes", shipped.work / "cassettes",
                        "--ledger", ledger, "--trace-dir", tmp_path / "traces", "--executor", "ray", "--address", cluster, cwd=tmp_path)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was caught running a unit"
    every = tuple(task for (task,) in query(shipped.ledger, "SELECT DISTINCT task FROM cases ORDER BY task")[1])
    local = ledger_figures(shipped.ledger, every)
    assert done.returncode == (1 if any(v[-1] != "passed" for v in local["verdicts"]) else 0), done.stderr  # as under local
    assert "on Ray" in done.stderr
    units = local["counts"]["cases"]
    assert len(every) == 9 and units == 115
    assert ledger_figures(ledger, every) == local
    [(status, settings)] = query(ledger, "SELECT status, settings FROM runs")[1]
    assert status == "completed" and json.loads(settings)["executor"] == "ray"
    # the driver wrote every trace the rows name, and left no part behind
    paths = [Path(p) for (p,) in query(ledger, "SELECT trace_path FROM cases WHERE trace_path IS NOT NULL")[1]]
    assert len(paths) == units and all(p.is_file() and p.parent.parent == tmp_path / "traces" for p in paths)
    assert not (tmp_path / "ray.duckdb.parts").exists()


def test_a_unit_whose_worker_dies_on_every_try_is_one_error_in_the_ledger(cluster, tmp_path, monkeypatch):
    from harness.suiterun import SuiteOptions, run_suite

    work = copy_suite(tmp_path / "work", ("meeting-times",))
    for case in (work / "goldens/meeting-times/cases").glob("*.yaml"):
        if case.stem not in ("lisbon-tokyo", "new-york-berlin"):
            case.unlink()
    monkeypatch.setenv("CI", "true")
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_units, args=(CLUSTER_TEMP[cluster], 1, stop, killed))
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


class ModelGate:
    """A real HTTP server in front of the local model: it forwards every request, holding each
    chat completion `hold` seconds, counts how many are in flight at once, and answers the
    first `refuse` of them with HTTP 429 (a provider's rate limit)."""

    def __init__(self, upstream: str, refuse: int = 0, hold: float = 0.0) -> None:
        import http.server

        import httpx

        gate = self
        self.refuse, self.hold, self.in_flight, self.most, self.refused = refuse, hold, 0, 0, 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with gate.lock:
                    if gate.refused < gate.refuse:
                        gate.refused += 1
                        self._send(429, b'{"error": {"message": "rate limit reached, try again", "type": "rate_limit_error"}}', "application/json")
                        return
                    gate.in_flight += 1
                    gate.most = max(gate.most, gate.in_flight)
                try:
                    time.sleep(gate.hold)
                    answer = httpx.post(upstream + self.path.removeprefix("/v1"), content=body, timeout=120,
                                        headers={k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")})
                finally:
                    with gate.lock:
                        gate.in_flight -= 1
                self._send(answer.status_code, answer.content, answer.headers.get("content-type", "application/json"))

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.api_base = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ModelGate:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def greet_suite(root: Path, names: tuple[str, ...]) -> Path:
    task = root / "suite" / "greet"
    (task / "cases").mkdir(parents=True)
    (task / "task.yaml").write_text(PRICED_TASK)  # a dollar a token: the first call passes any cap of cents
    (task / "workflow.json").write_text(json.dumps(WORKFLOW))
    for name in names:
        (task / "cases" / f"{name}.yaml").write_text(f"version: 1\ninputs: {{name: {name}}}\noutputs:\n  reply: [{{Regex: '\\S'}}]\n")
    return root / "suite"


def record(suite: Path, tapes: Path, api_base: str, api_key: str, *args: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "RAY_ADDRESS")}  # recording is refused under CI
    return subprocess.run([str(BIN / "flowtape"), "record", str(suite), "--cassettes", str(tapes), "--llm-api-base", api_base,
                           "--llm-api-key", api_key, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def test_recording_on_ray_keeps_to_one_model_call_retries_a_429_and_stops_at_the_cost_cap(cluster, local_model, tmp_path, monkeypatch):
    """Six units on two CPUs, `--max-per-model 1`, a model gate that answers the first call with
    429, and a cost cap the first recorded unit passes: one call to the model at a time, the 429
    retried and said so (in the line and the cassette's meta), then no unit started after the
    cap, every one of them named."""
    monkeypatch.delenv("CI", raising=False)
    suite, tapes = greet_suite(tmp_path, NAMES), tmp_path / "cassettes"
    with ModelGate(local_model.api_base.removesuffix("/v1"), refuse=1, hold=1.0) as gate:
        done = record(suite, tapes, gate.api_base, local_model.api_key, "--max-per-model", "1", "--max-cost", "0.01",
                      "--executor", "ray", "--address", cluster)
    assert done.returncode == 1, done.stdout + done.stderr  # units left unrecorded
    assert gate.most == 1 and gate.refused == 1  # 2 CPUs, but one call to the model at a time
    [line] = [line for line in done.stdout.splitlines() if line.startswith("[1/6]")]
    assert "recorded" in line and "retried 1 time(s) after 429/5xx: attempt 1:" in line and "answered HTTP 429" in line
    [tape] = (tapes / "greet").glob("*.yaml")  # the cap: one unit ran at a time, and it passed the cap
    [noted] = yaml.safe_load(tape.read_text())["meta"]["retried"]
    assert "HTTP 429" in noted
    [summary] = [line for line in done.stdout.splitlines() if "left unrecorded" in line]
    assert summary.startswith("--max-cost $0.01 reached ($")
    left = sorted(part.split("/")[1].split(" ")[0] for part in summary.split("left unrecorded: ")[1].split(", "))
    assert sorted([tape.name.split(".")[0], *left]) == sorted(NAMES)  # every unit recorded or named as left


def test_a_driver_killed_mid_run_leaves_a_ledger_that_says_which_units_completed(cluster, tmp_path):
    from harness.accounting import Ledger

    work = copy_suite(tmp_path / "work", SUBSET)
    ledger = tmp_path / "l.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["CI"] = "true"
    driver = subprocess.Popen([str(BIN / "flowtape"), "test", str(work / "goldens"), "--cassettes", str(work / "cassettes"), "--ledger", str(ledger),
                               "--trace-dir", str(tmp_path / "traces"), "--executor", "ray", "--address", cluster],
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    reported = []
    try:
        assert driver.stderr is not None
        for line in driver.stderr:
            if line.startswith("[") and "/31]" in line:
                task_case, approach = line.split("] ", 1)[1].split(" [")[:2]
                reported.append((*task_case.split("/"), approach.split("]")[0]))
                if len(reported) == 8:
                    driver.send_signal(signal.SIGKILL)  # mid-run: the driver alone, its cluster goes on
                    break
    finally:
        driver.kill()
        driver.wait()
    assert len(reported) == 8
    with Ledger(ledger) as opened:  # what the next run against the ledger does first
        [recovered] = opened.recover()
    assert recovered.status == "interrupted"
    [(status,)] = query(ledger, "SELECT status FROM runs")[1]
    cases = query(ledger, 'SELECT task, "case", approach FROM cases')[1]
    assert status == "interrupted"
    assert set(reported) <= set(cases) and len(cases) == len(set(cases)) < 31  # every unit reported as done is there, once


def test_an_address_where_no_cluster_listens_is_one_line_and_exit_2(tmp_path):
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'flowtape[ray]'; scripts/setup.sh installs it)")
    work = copy_suite(tmp_path / "work", ("review-triage",))
    [port] = _free_ports(1)
    done = flowtape("test", work / "goldens", "--cassettes", work / "cassettes", "--ledger", tmp_path / "l.duckdb",
                    "--executor", "ray", "--address", f"127.0.0.1:{port}")
    assert done.returncode == 2
    assert done.stderr.strip() == f"flowtape: --address 127.0.0.1:{port}: cannot connect to a Ray cluster: Connection refused"
    assert not (tmp_path / "l.duckdb").exists()  # no run started
