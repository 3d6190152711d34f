"""`flowtape test` killed from outside: SIGKILL of the whole process group at random points, a
worker killed on its own (the OOM killer), and a save killed half-way. Each leaves a ledger that
says exactly which cases completed, and nothing behind in /dev/shm or beside the saved file."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.accounting import Ledger, query
from harness.goldens import load_suite

ROOT = Path(__file__).resolve().parents[2]

# One shell node; the case whose input is `die` kills the process that runs the node: the worker.
WORKFLOW = {
    "ir_version": "0.1.0",
    "inputs": {"t": {"type": "string"}},
    "nodes": [{"id": "echo", "type": "shell", "params": {"command": "if [ ${t} = die ]; then kill -KILL $PPID; fi; printf %s ${t}"}}],
    "edges": [],
    "outputs": {"out": "${echo.stdout}"},
}
CASE = "version: 1\ninputs: {{t: {t}}}\nsteps:\n  echo: [StepRan]\noutputs:\n  out: [{{Equals: {t}}}]\n"
PROGRESS = re.compile(r"^\[\d+/\d+\] (\S+)/(\S+) \[(\w+)\] (passed|failed|error) ", re.M)


def make_suite(root: Path, cases: int, die: frozenset[int] = frozenset()) -> Path:
    """A generated task of `cases` tiny cases, each with its own replayable cassette (empty:
    shell nodes run live on replay too, and the workflow has no model or tool call)."""
    task = root / "suite" / "gen"
    (task / "cases").mkdir(parents=True)
    (task / "task.yaml").write_text("version: 1\ndescription: generated\napproaches: [ir]\n")
    (task / "workflow.json").write_text(json.dumps(WORKFLOW))
    tapes = root / "cassettes" / "gen"
    tapes.mkdir(parents=True)
    for i in range(cases):
        (task / "cases" / f"case-{i:05d}.yaml").write_text(CASE.format(t="die" if i in die else "ok"))
        (tapes / f"case-{i:05d}.ir.yaml").write_text("version: 1\ninteractions: []\n")
    [loaded] = load_suite(root / "suite")
    assert len(loaded.cases) == cases
    return root / "suite"


def flowtape_test(root: Path, *args: str, **popen: object) -> subprocess.Popen:
    """`flowtape test` on the generated suite in a subprocess that leads its own process group."""
    command = [sys.executable, "-m", "harness._cli.main", "test", str(root / "suite"), "--cassettes", str(root / "cassettes"),
               "--ledger", str(root / "ledger.duckdb"), "--trace-dir", str(root / "traces"), *args]
    env = {**os.environ, "CI": "true"}
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, **popen)  # type: ignore[call-overload]


def group_members(pgid: int) -> list[int]:
    """The processes in process group `pgid` (from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                members.append(int(entry.name))
    return members


def mapped_semaphores(pids: list[int]) -> set[str]:
    """The POSIX named semaphores (/dev/shm/sem.*) these processes have mapped."""
    found = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        found.update(re.findall(r"(/dev/shm/sem\.\S+)", maps))
    return found


def wait_for(path: Path, pattern: re.Pattern[str], count: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(pattern.findall(path.read_text())) < count and proc.poll() is None:
        assert time.monotonic() < deadline, f"no {count} progress lines in {timeout} s:\n{path.read_text()}"
        time.sleep(0.01)


def test_sigkill_of_the_group_at_random_points_loses_no_printed_case(tmp_path: Path) -> None:
    make_suite(tmp_path, 150)
    rng = random.Random(20261201)
    printed: list[set[tuple[str, str, str]]] = []
    leaked: set[str] = set()
    for attempt in range(3):
        log = tmp_path / f"progress-{attempt}.txt"
        with log.open("w") as err, (tmp_path / f"stdout-{attempt}.txt").open("w") as out:
            proc = flowtape_test(tmp_path, "--workers", "2", stdout=out, stderr=err)
            try:
                wait_for(log, PROGRESS, rng.randint(1, 40), proc)
                time.sleep(rng.uniform(0, 0.3))
                semaphores = mapped_semaphores(group_members(proc.pid))
                os.killpg(proc.pid, signal.SIGKILL)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        time.sleep(0.2)  # the group's other processes (forkserver, workers) take their SIGKILL
        leaked |= {s for s in semaphores if Path(s).exists()}
        text = log.read_text() + (tmp_path / f"stdout-{attempt}.txt").read_text()
        printed.append({(task, case, approach) for task, case, approach, _ in PROGRESS.findall(text)})
    # The 2nd and 3rd runs recovered the run before them; recover the last one the same way.
    with Ledger(tmp_path / "ledger.duckdb") as ledger:
        ledger.recover()
    _, runs = query(tmp_path / "ledger.duckdb", "SELECT run_id, status FROM runs ORDER BY started_at")
    assert len(runs) == 3
    for (run_id, status), shown in zip(runs, printed):
        _, rows = query(tmp_path / "ledger.duckdb", 'SELECT task, "case", approach, count(*) FROM cases WHERE run_id = ? GROUP BY ALL', [run_id])
        stored = {(t, c, a) for t, c, a, _ in rows}
        assert shown, "the kill came before any case was printed"
        assert not shown - stored, f"run {run_id} ({status}): printed as completed but not in the ledger: {sorted(shown - stored)[:5]}"
        assert all(n == 1 for *_, n in rows)
    for run_id, _ in runs[:-1]:  # recovered by the next `flowtape test`: no half-written trace stays
        assert not list((tmp_path / "traces" / run_id).glob(".*.tmp"))
    assert not leaked, f"semaphores left in /dev/shm by the killed runs: {sorted(leaked)}"


def test_a_worker_killed_from_outside_is_an_error_and_the_suite_finishes(tmp_path: Path) -> None:
    make_suite(tmp_path, 8, die=frozenset({3, 6}))
    proc = flowtape_test(tmp_path, "--workers", "2", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"flowtape test hung after its worker was killed:\n{err}")
    assert proc.returncode == 1, err
    assert "8 cases: 6 passed, 2 failed" in out
    for case in ("case-00003", "case-00006"):
        assert re.search(rf"gen/{case} \[ir\]: worker process \d+ died \(signal 9\) while running gen/{case} \[ir\]", out), out
    _, rows = query(tmp_path / "ledger.duckdb", 'SELECT "case", status, error FROM cases ORDER BY "case"')
    assert [(c, s) for c, s, _ in rows] == [(f"case-{i:05d}", "error" if i in (3, 6) else "passed") for i in range(8)]
    assert re.fullmatch(r"worker process \d+ died \(signal 9\) while running gen/case-00003 \[ir\]", rows[3][2])
    _, runs = query(tmp_path / "ledger.duckdb", "SELECT status FROM runs")
    assert runs == [("completed",)]
    assert not (tmp_path / "ledger.duckdb.parts").exists()


KILLED_SAVE = """
import os, signal, sys
from pathlib import Path
from runner.trace import write_atomic

def killed(src, dst):
    os.kill(os.getpid(), signal.SIGKILL)  # the temp file is written, the rename never happens

os.replace = killed
write_atomic(Path(sys.argv[1]), "x" * 5_000_000)
"""


def test_a_save_killed_before_its_rename_leaves_nothing_that_accumulates(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(target)], cwd=ROOT, capture_output=True, timeout=60)
        assert done.returncode == -signal.SIGKILL, done.stderr
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]  # each killed save swept the one before it
    assert len(leftovers) == 1 and leftovers[0].startswith(".report.json.flowtape-") and leftovers[0].endswith(".tmp")
    from runner.trace import write_atomic

    alive = tmp_path / f".report.json.flowtape-{os.getpid()}.busy1234.tmp"  # a save under way in a live process
    alive.write_text("half")
    mine = tmp_path / ".report.json.999999999.abcdefgh.tmp"  # not flowtape's: never touched
    mine.write_text("a user's file")
    write_atomic(target, "done")  # a later save in the folder sweeps the dead processes' temp files
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, mine.name, "report.json"])
    assert target.read_text() == "done"


def test_a_worker_that_cannot_start_stops_the_suite_instead_of_being_replaced_forever(tmp_path: Path) -> None:
    from harness.suiterun import _Pool

    class Part:  # the pool writes nothing before a worker sends a case back, and none does
        def add_case(self, rows: dict) -> None:
            raise AssertionError("no case ran")

    # Every worker exits with code 3 as it reads its first unit, saying nothing (as one whose
    # start fails outside flowtape's own code would: an interpreter that cannot import flowtape).
    with pytest.raises(RuntimeError, match=r"^a flowtape test worker exited with code 3 before it finished a case$"):
        pool = _Pool(2)
        try:
            pool.begin([(_ExitsWhenRead(),)] * 20)
            list(pool.run(Part()))
        finally:
            pool.close()


class _ExitsWhenRead:
    def __reduce__(self) -> tuple:
        return os._exit, (3,)


def test_a_ledger_in_use_stops_the_workers_already_started_before_any_case_runs(tmp_path: Path) -> None:
    """The pool's workers start while the suite is read, before the ledger opens: a ledger
    another process holds is still an error before any case runs, and no worker is left running."""
    import multiprocessing

    from harness.accounting import LedgerError
    from harness.suiterun import SuiteOptions, run_suite

    ledger = tmp_path / "ledger.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(120)",
                               str(ledger)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        options = SuiteOptions(suite=ROOT / "goldens", task="meeting-times", workers=2, ledger=ledger, traces=tmp_path / "traces")
        with pytest.raises(LedgerError, match="another flowtape process is writing"):
            run_suite(options)
    finally:
        holder.kill()
        holder.wait()
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "traces").exists() and not (tmp_path / "ledger.duckdb.parts").exists()


def test_a_bad_suite_stops_the_workers_already_started(tmp_path: Path) -> None:
    import multiprocessing

    from harness.goldens import GoldenError
    from harness.suiterun import SuiteOptions, run_suite

    with pytest.raises(GoldenError, match="no-such-task"):
        run_suite(SuiteOptions(suite=ROOT / "goldens", task="no-such-task", workers=2, ledger=tmp_path / "ledger.duckdb"))
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "ledger.duckdb").exists()
