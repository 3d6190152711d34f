"""`flowtape test`: replay every (case, approach) of a suite, judge every step, write the ledger.

Cases are independent, so the unit of work is one (case, approach, model): with `--model`
repeated, every case runs under each model (its own cassettes; see `cassette_path`). Units run in a process pool
(or on Ray); workers replay and judge, and send back each unit's trace and ledger rows, which this
process alone writes: the trace atomically, the rows to a ledger part (group commits, and a journal
line per case before the case is reported, so every case reported as completed survives a kill),
merged into the one DuckDB file at the end. A suite killed half-way leaves its part; the next run
against the same ledger merges it and marks that run `interrupted`, so the ledger still says
which cases completed. A worker that dies under a case turns that case into an `error`.

    result = run_suite(SuiteOptions(suite=Path("goldens"), workers=2))
    result.exit_code  # 0 all passed, 1 any failed, 2 any could not run (bad input)
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterator

from harness import _forkserver
from harness.goldens import Case, GoldenError, Task, load_suite, select_units

COMMIT_EVERY = 0.5  # seconds between a ledger part's commits


class Executor(str, Enum):
    """Where units run: `local`, this machine's process pool; `ray`, one Ray task per unit on a
    Ray cluster (`harness._ray`; the `flowtape[ray]` extra), the driver alone writing the ledger."""

    LOCAL = "local"
    RAY = "ray"


@dataclass
class SuiteOptions:
    suite: Path
    task: str | Sequence[str] | None = None  # one name or several; a name that matches nothing is an error
    case: str | Sequence[str] | None = None
    approach: str | Sequence[str] | None = None
    models: Sequence[str] | None = None  # run every unit under each; None: each task's own model (llm.model)
    workers: int = 1
    ledger: Path = Path("reports/ledger.duckdb")
    cassettes: Path = Path("cassettes")
    traces: Path = Path("reports/traces")
    tokenizer: str = "o200k_base"
    strict: bool = False
    fixtures: Path | None = None
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    executor: Executor | str = Executor.LOCAL
    address: str | None = None  # the Ray cluster (`auto`, `ray://host:port`); None: RAY_ADDRESS, else a new local one
    retries: int = 1  # times a unit whose Ray worker died is run again (elsewhere) before it is an error


@dataclass
class UnitResult:
    """What one (case, approach) came to; small and picklable, sent back from the worker."""

    task: str
    case: str
    approach: str
    status: str  # passed | failed | error
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (target, evaluator, reason)
    error: str | None = None
    unused: list[str] = field(default_factory=list)  # recordings the run did not use, one line each
    duration_ms: float = 0.0
    ledger_ms: float = 0.0
    bad_input: bool = False  # an error because the unit could not run at all (corrupt cassette, invalid workflow)
    model: str = ""  # the model the unit ran with


@dataclass
class SuiteResult:
    run_id: str
    units: list[UnitResult]
    skipped: list[str]
    ledger: Path
    seconds: float
    ledger_seconds: float

    @property
    def exit_code(self) -> int:
        """2 when a unit could not run at all (a corrupt cassette, an invalid workflow, a bad
        record mode: bad input), else 1 when any failed or erred (a worker that died), else 0."""
        if any(u.bad_input for u in self.units):
            return 2
        return 0 if all(u.status == "passed" for u in self.units) else 1


def plan(options: SuiteOptions) -> tuple[list[tuple[Task, Case, str, str]], list[str]]:
    """The (task, case, approach, model) units to run, and the (task, approach) pairs that
    cannot run yet, with the reason."""
    units = select_units(load_suite(options.suite, task=options.task, case=options.case), options.approach)
    if not units:
        raise GoldenError(f"{options.suite}: no (case, approach) to run (no selected task lists an approach)")
    return [(t, c, a, m) for t, c, a in units for m in models_of(t, options.models)], []


def models_of(task: Task, models: Sequence[str] | None) -> list[str]:
    """The models a task's units run with: those asked for (in order, once each), else its own."""
    return list(dict.fromkeys(models)) if models else [task.spec.llm.model]


def run_suite(options: SuiteOptions, progress: Callable[[UnitResult, int, int], None] | None = None,
              started: Callable[[int, str], None] | None = None) -> SuiteResult:
    """Run the suite. `started(units, run_id)` is called as soon as the run is in the ledger,
    before any case finishes (a first sign of life); `progress` after each case. Raises
    GoldenError (bad suite) and LedgerError (ledger unusable) before any case runs (local workers
    already started are stopped); with the Ray executor, RayError (no Ray, no cluster, a worker
    that cannot see the suite)."""
    executor = Executor(options.executor)
    pool = None
    if executor is Executor.LOCAL and options.workers > 1:
        # Its processes start (from the forkserver, which imports what they need) while this
        # process reads the suite.
        pool = _Pool(options.workers)
    try:
        if executor is Executor.RAY:  # a worker's current folder is not ours: task folders absolute
            from dataclasses import replace

            options = replace(options, suite=options.suite.resolve())
        units, skipped = plan(options)
        if executor is Executor.RAY:
            from harness import _ray

            connected = _ray.connect(options.address)  # before the run is in the ledger: no Ray, no cluster, no run
            try:
                return _run_suite(options, units, skipped, executor, progress, started)
            finally:
                if connected:
                    _ray.disconnect()
        return _run_suite(options, units, skipped, executor, progress, started, pool)
    finally:
        if pool is not None:
            pool.close()


def _run_suite(options: SuiteOptions, units: list[tuple[Task, Case, str, str]], skipped: list[str], executor: Executor,
               progress: Callable[[UnitResult, int, int], None] | None, started: Callable[[int, str], None] | None,
               pool: _Pool | None = None) -> SuiteResult:
    from harness.accounting import Ledger
    from runner import new_run_id
    from runner.trace import remove_stale_temp_files

    began = time.perf_counter()
    run_id = new_run_id()
    # Each unit carries its task with only its own case: pickling the whole task (all its cases)
    # for every unit would make a large suite quadratic.
    args = [(Task(task.name, task.folder, task.spec, (case,)), case, approach, model, run_id, options) for task, case, approach, model in units]
    ledger = Ledger(options.ledger)
    for recovered in ledger.recover():  # a killed run: its parts are merged, its half-written traces go
        remove_stale_temp_files(options.traces / recovered.run_id)
    parts_dir = ledger.parts_dir(run_id)
    settings = {"workers": options.workers, "executor": executor.value, "tokenizer": options.tokenizer, "task": options.task, "case": options.case,
                "approach": options.approach, "models": list(options.models) if options.models else None, "cassettes": str(options.cassettes)}
    ledger.start_run(run_id, str(options.suite), settings)
    if started:
        started(len(units), run_id)
    results: list[UnitResult] = []
    try:
        # This process alone writes the ledger: its one part gets every unit's rows, whoever ran it.
        if executor is Executor.RAY:
            part = _open_part(parts_dir, f"ray-driver-{os.getpid()}.duckdb")
        else:
            part = _open_part(parts_dir, f"pool-{os.getpid()}.duckdb" if pool is not None else None)
        try:
            if executor is Executor.RAY:
                from harness._ray import run_on_ray

                finished = run_on_ray(args, part, options)
            elif pool is None:
                finished = (_run_unit(part, *a) for a in args)
            else:
                # The run is in the ledger and its part open: the workers (started while the
                # suite was read) take their units.
                pool.begin(args, warm=any(approach.split("@")[0] == "code" for _, _, approach, _ in units))
                finished = pool.run(part)
            for unit in finished:
                results.append(unit)
                if progress:
                    progress(unit, len(results), len(args))
        finally:
            part.close()
        merge_started = time.perf_counter()
        ledger.merge_parts(run_id, sorted(parts_dir.glob("*.duckdb")) if parts_dir.exists() else [])
        ledger.finish_run(run_id, "completed")
    except BaseException:
        ledger.finish_run(run_id, "interrupted")  # the parts stay: the next run's recover() merges them
        raise
    finally:
        ledger.close()
    ledger_seconds = time.perf_counter() - merge_started + sum(r.ledger_ms for r in results) / 1000
    order = {(t.name, c.name, a, m): i for i, (t, c, a, m) in enumerate(units)}
    results.sort(key=lambda r: order[(r.task, r.case, r.approach, r.model)])
    return SuiteResult(run_id, results, skipped, options.ledger, time.perf_counter() - began, ledger_seconds)


def _open_part(parts_dir: Path, name: str | None = None) -> Any:
    from harness.accounting import LedgerPart

    parts_dir.mkdir(parents=True, exist_ok=True)
    # Group commits (a commit costs more than a replayed case); the part's journal makes each
    # case durable before it is reported.
    return LedgerPart(parts_dir / (name or f"worker-{os.getpid()}.duckdb"), commit_every=COMMIT_EVERY)


AHEAD = 2  # units a worker holds: the one it runs and the next, so it never waits for the pool


@dataclass
class _Worker:
    """A worker process, its end of the pipe, and the units handed to it (indices into args),
    in order: the first is the one it is running."""

    process: Any
    conn: Any
    units: deque[int] = field(default_factory=deque)
    finished: int = 0  # units it sent back


class _Pool:
    """Units run in `workers` processes. The processes start at once, from a thread (starting one
    waits for the forkserver's imports), so they are up while this process reads the suite and
    opens the ledger; `begin` then hands them their first units and `run` yields the results as
    they finish.

    Each worker is handed units over its own pipe, at most `AHEAD` at a time, which it runs in
    order and answers with each one's `UnitOutcome`; so the pool always knows which unit a worker
    is running. A worker writes nothing (nor imports DuckDB): `run` writes each outcome (trace,
    rows to `part`) before it yields the result.

    A worker that dies (the OOM killer, a signal from outside) is noticed through its process
    sentinel: the unit it was running becomes an `error` case; the units it had not started go
    back to the others, and a fresh worker takes its place.

    The processes come from a forkserver that has already imported flowtape, not from fork: this
    process holds the ledger's DuckDB connection and its threads. When the units include
    code-approach ones (`begin`'s `warm`), each worker starts a jail for them once its first unit
    is done. Pipes, not queues: a queue's locks are named POSIX semaphores, which a killed run
    leaves behind in /dev/shm."""

    def __init__(self, workers: int) -> None:
        import threading

        self._warm = False  # the units include code-approach ones: each worker starts a jail (`_worker`)
        self._context = _forkserver.start()
        self._live: dict[Any, _Worker] = {}  # by sentinel
        self._todo: deque[int] = deque()
        self._args: list[tuple[Any, ...]] = []
        self._failed: BaseException | None = None
        self._starter = threading.Thread(target=self._start_all, args=(workers,), name="flowtape-pool-start", daemon=True)
        self._starter.start()

    def _start_all(self, workers: int) -> None:
        try:
            for _ in range(workers):
                self._start()
        except BaseException as err:  # noqa: BLE001 - raised in the caller's thread by `begin`
            self._failed = err

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_worker, args=(theirs, self._warm), daemon=True)
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        self._live[process.sentinel] = worker
        return worker

    def begin(self, args: list[tuple[Any, ...]], warm: bool = False) -> None:
        """Hand the workers their first units (with `warm`, the units include code-approach ones:
        each worker starts a jail once its first unit is done, as do workers started later to
        replace one that died); `run` writes what they send back."""
        self._starter.join()
        if self._failed is not None:
            raise self._failed
        self._args, self._todo, self._warm = args, deque(range(len(args))), warm
        for worker in list(self._live.values()):
            if warm:
                self._send(worker, "warm")
            self._hand_out(worker)

    def _send(self, worker: _Worker, message: Any) -> bool:
        try:
            worker.conn.send(message)
            return True
        except OSError:
            return False  # it died; its sentinel says so next

    def _hand_out(self, worker: _Worker) -> None:
        while self._todo and len(worker.units) < AHEAD:
            worker.units.append(self._todo.popleft())
            if not self._send(worker, self._args[worker.units[-1]]):
                return
        if not worker.units:
            self._send(worker, None)  # nothing left: stop

    def run(self, part: Any) -> Iterator[UnitResult]:
        """The results of the units `begin` was given, each once its trace and rows are written."""
        from multiprocessing.connection import wait

        live = self._live
        while live:
            ready = wait([*live, *(w.conn for w in live.values())])
            for worker in [w for w in live.values() if w.conn in ready]:
                for outcome in _receive(worker):
                    self._hand_out(worker)  # its next unit first: it runs while this one is written
                    yield write_outcome(part, outcome)
            for sentinel in [s for s in ready if s in live]:
                worker = live.pop(sentinel)
                for outcome in _receive(worker):  # what it sent before it went
                    yield write_outcome(part, outcome)
                worker.process.join()
                worker.conn.close()
                if not worker.units:
                    continue  # it was told to stop
                code = worker.process.exitcode
                if code is not None and code > 0 and not worker.finished:
                    # Not killed: it never got going (an import or a start-up error), and a new one would not either.
                    raise RuntimeError(f"a flowtape test worker exited with code {code} before it finished a case")
                yield _lost_unit(part, worker, *self._args[worker.units.popleft()])
                self._todo.extendleft(reversed(worker.units))  # not started: run them elsewhere
                if self._todo:
                    self._hand_out(self._start())

    def close(self) -> None:
        """Stop every worker still running (also those never given a unit)."""
        self._starter.join()
        for worker in self._live.values():
            worker.process.kill()
            worker.process.join()
            worker.conn.close()
        self._live.clear()


def _receive(worker: _Worker) -> Iterator[UnitOutcome]:
    """The outcomes `worker` has sent and the pool not yet read. Raises RuntimeError for the
    report of a worker that failed (a bug in flowtape, not a failing case)."""
    while worker.units:
        try:
            if not worker.conn.poll():
                return
            kind, payload = worker.conn.recv()
        except (EOFError, OSError):
            return  # it died; its sentinel says so
        if kind == "error":
            raise RuntimeError(f"a flowtape test worker failed: {payload}")
        worker.units.popleft()
        worker.finished += 1
        yield payload


def _lost_unit(part: Any, worker: _Worker, task: Task, case: Case, approach: str, model: str, run_id: str, options: SuiteOptions) -> UnitResult:
    """The error case of a unit whose worker process died under it."""
    code = worker.process.exitcode
    how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    message = f"worker process {worker.process.pid} died ({how}) while running {task.name}/{case.name} [{approach}]"
    _record_error(part, task, case, approach, model, run_id, options, message)
    return UnitResult(task.name, case.name, approach, "error", error=message, model=model)


def _worker(conn: Any, warm: bool = False) -> None:
    try:
        while (a := conn.recv()) is not None:
            if a == "warm":  # the units include code-approach ones
                warm = True
                continue
            conn.send(("result", replay_unit(*a)))
            if warm:
                # The jail for the code-approach units starts once the first unit is done (the
                # next is already here): started with the worker, its start shared the cores with
                # the first units, each 1.4-5x the median case, against 1.4-2.7x so, for the
                # same wall time (12 interleaved runs each). A code-approach first unit starts a
                # jail of its own.
                from harness.codeexec import warm_sandbox

                warm_sandbox()
                warm = False
    except EOFError:
        pass  # the pool is gone
    except BaseException as err:  # a bug, not a failing case: surface it in the parent
        import traceback

        conn.send(("error", "".join(traceback.format_exception_only(type(err), err)).strip()))
        raise
    finally:
        # What exit handlers would do (a worker skips them): its jails and their cgroups, the
        # token counts it added to the cache.
        if "harness.codeexec" in sys.modules:
            sys.modules["harness.codeexec"].close_sandboxes()
        if "harness.accounting._tokens" in sys.modules:
            sys.modules["harness.accounting._tokens"].save_counts()


def _record_error(part: Any, task: Task, case: Case, approach: str, model: str, run_id: str, options: SuiteOptions, message: str) -> None:
    """Add a unit that could not run to the ledger, as an `error` case with `message`."""
    part.add_case(error_rows(task, case, approach, model, run_id, options, message))


def error_rows(task: Task, case: Case, approach: str, model: str, run_id: str, options: SuiteOptions, message: str) -> dict[str, Any]:
    """The ledger rows of a unit that could not run: an `error` case with `message`."""
    from harness.accounting import case_rows
    from runner import RunStatus, Trace, new_run_id

    stub = Trace(run_id=new_run_id(), task=task.name, case=case.name, approach=approach, model=model, workflow_hash="",
                 status=RunStatus.ERROR, error=message)
    return case_rows(run_id, stub, [], tokenizer=options.tokenizer)


def _run_unit(part: Any, task: Task, case: Case, approach: str, model: str, run_id: str, options: SuiteOptions) -> UnitResult:
    """One (case, approach, model): replay, judge, write the trace and the ledger rows."""
    outcome = replay_unit(task, case, approach, model, run_id, options)
    return write_outcome(part, outcome)


@dataclass
class UnitOutcome:
    """What replaying one unit came to, before anything is written: the result, the unit's
    ledger rows (table -> rows, as `case_rows` gives them) and its trace as JSON with the path it
    goes to (None for a unit that could not run). Picklable: a Ray worker sends it to the driver,
    which alone writes the trace and the ledger."""

    result: UnitResult
    rows: dict[str, Any]
    trace_json: str | None = None
    trace_path: Path | None = None


def replay_unit(task: Task, case: Case, approach: str, model: str, run_id: str, options: SuiteOptions) -> UnitOutcome:
    """Replay and judge one (case, approach, model); write nothing (see `write_outcome`)."""
    from harness.accounting import case_rows
    from harness.cassettes import CassetteError, CassetteMiss, RecordModeError
    from harness.suite import run_case
    from runner import InvalidWorkflow

    started = time.perf_counter()
    try:
        run = run_case(task, case, cassettes=options.cassettes, mode="none", ci=True, evaluate=True,
                       tokenizer=options.tokenizer, fixtures=options.fixtures, approach=approach, model=model)
    except (CassetteError, CassetteMiss, RecordModeError, InvalidWorkflow, GoldenError) as err:
        # The unit could not run at all; the ledger still records it, as an error (a miss can
        # quote request values: known secrets are redacted from the message).
        from harness.cassettes._secrets import known_secrets, scrub

        message = scrub(str(err).splitlines()[0], known_secrets())
        result = UnitResult(task.name, case.name, approach, "error", error=message, duration_ms=(time.perf_counter() - started) * 1000,
                            bad_input=not isinstance(err, CassetteMiss), model=model)
        return UnitOutcome(result, error_rows(task, case, approach, model, run_id, options, message))
    trace = run.trace
    # The path Trace.write gives it; the writer (a worker, or the Ray driver) writes it there.
    trace_path = options.traces / run_id / f"{trace.run_id}.json"
    failures = [(r.target, r.evaluator, r.reason) for r in run.evaluations if not r.passed]
    status = "passed" if run.passed else "failed"
    error = trace.error
    if run.unused and options.strict and status == "passed":
        status, error = "failed", f"{len(run.unused)} recording(s) not used (--strict)"
    prices = {**task.spec.llm.price_map(), **options.prices}
    rows = case_rows(run_id, trace, run.evaluations, tokenizer=options.tokenizer, prices=prices or None, trace_path=str(trace_path))
    result = UnitResult(task.name, case.name, approach, status, failures, error, [i.summary() for i in run.unused], (time.perf_counter() - started) * 1000,
                        model=model)
    return UnitOutcome(result, rows, trace.clipped().model_dump_json(indent=2), trace_path)


def write_outcome(part: Any, outcome: UnitOutcome) -> UnitResult:
    """Write a unit's trace (atomically) and add its rows to `part`; the unit's result, with the
    time the ledger took."""
    from runner.trace import write_atomic

    if outcome.trace_json is not None and outcome.trace_path is not None:
        outcome.trace_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(outcome.trace_path, outcome.trace_json)
    ledger_started = time.perf_counter()
    part.add_case(outcome.rows)
    outcome.result.ledger_ms = (time.perf_counter() - ledger_started) * 1000
    return outcome.result


def rescore(options: SuiteOptions, run_id: str | None = None) -> SuiteResult:
    """Judge the stored traces of a past run with the current golden cases, running nothing.

    Model-judged evaluators replay their calls from the case's cassette. The verdicts are added
    to the ledger as a new run whose settings name the run it rescored."""
    import tempfile

    from harness.accounting import Ledger, case_rows, query
    from harness.cassettes import Cassette
    from harness.cassettes._llm import CassetteLLMClient
    from harness.goldens import GoldenError, Places, cassette_path
    from harness.suite import REPLAY_KEY, judge
    from runner import Trace, new_run_id
    from runner.live.llm import LiteLLMClient

    if run_id is None:
        if not options.ledger.exists():
            raise GoldenError(f"{options.ledger}: no ledger yet (run flowtape test first)")
        _, rows = query(options.ledger, "SELECT run_id FROM runs WHERE settings NOT LIKE '%rescore_of%' ORDER BY started_at DESC LIMIT 1")
        if not rows:
            raise GoldenError(f"{options.ledger}: no run to rescore")
        run_id = rows[0][0]
    folder = options.traces / run_id
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise GoldenError(f"{folder}: no stored traces for run {run_id}")
    tasks = {t.name: t for t in load_suite(options.suite, task=options.task, case=options.case)}
    started = time.perf_counter()
    ledger = Ledger(options.ledger)
    new_id = new_run_id()
    ledger.start_run(new_id, str(options.suite), {"rescore_of": run_id, "tokenizer": options.tokenizer})
    part_dir = ledger.parts_dir(new_id)
    part_dir.mkdir(parents=True, exist_ok=True)
    from harness.accounting import LedgerPart

    part = LedgerPart(part_dir / "rescore.duckdb")
    results: list[UnitResult] = []
    with tempfile.TemporaryDirectory() as work:
        places = Places.here(Path(work), options.fixtures, project=options.suite)
        for path in paths:
            try:
                trace = Trace.model_validate_json(path.read_text(encoding="utf-8"))
            except ValueError as err:
                raise GoldenError(f"{path}: not a flowtape trace: {str(err).splitlines()[0]}") from None
            task = tasks.get(trace.task or "")
            case = next((c for c in task.cases if c.name == trace.case), None) if task else None
            if task is None or case is None:
                continue  # filtered out, or no longer in the suite
            tape = cassette_path(options.cassettes, task, case, trace.approach, trace.model)
            llm = None
            if tape.exists():
                llm = CassetteLLMClient(LiteLLMClient(api_key=REPLAY_KEY, max_retries=0), Cassette.open(tape, "none", normalizer=places.normalizer(task.spec.normalize), ci=True))
            evaluations = judge(task, case, trace, llm=llm, judge_model=trace.model, tokenizer=options.tokenizer)
            prices = {**task.spec.llm.price_map(), **options.prices}
            part.add_case(case_rows(new_id, trace, evaluations, tokenizer=options.tokenizer, prices=prices or None, trace_path=str(path)))
            failures = [(r.target, r.evaluator, r.reason) for r in evaluations if not r.passed]
            ok = trace.status.value == "passed" and not failures
            results.append(UnitResult(task.name, case.name, trace.approach, "passed" if ok else "failed", failures, trace.error, model=trace.model or ""))
    part.close()
    ledger.merge_parts(new_id, [part_dir / "rescore.duckdb"])
    ledger.finish_run(new_id, "completed")
    ledger.close()
    return SuiteResult(new_id, results, [], options.ledger, time.perf_counter() - started, 0.0)
