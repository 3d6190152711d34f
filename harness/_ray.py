"""The Ray executor (`--executor ray`): each (case, approach, model) unit is one Ray task; the
driver alone writes the trace files and the ledger.

How a unit reaches a worker: the task's folder, case and options travel in the task's
arguments (pickled; the options once, through the object store), but the files a unit reads
(task.yaml, workflow.json, baseline.py, the cassettes and the fixtures) are read by the worker
from the same absolute paths the driver uses. On one node that is the checkout itself; on
several, the suite, cassettes and fixtures must be at the same path on every node (a shared
path: NFS, a synced folder, the same image). A worker that cannot see them fails its unit with
`NotOnWorker`, which stops the run with one line naming the path and the node; a worker whose
Python cannot import flowtape fails the same way (install the same flowtape on every node).

What comes back: a worker returns a `UnitOutcome` (the unit's result, its ledger rows and its
trace as JSON). The driver writes the trace and adds the rows to its own ledger part (group
commits plus a journal, as a local worker does), merged into the DuckDB ledger at the end, so a
driver killed mid-run leaves a part that the next run against the ledger merges and marks
`interrupted`. A unit is added once: Ray hands the driver one return per task, and merging keeps
one row per case key.

Faults: a worker that dies under a unit (a kill, the OOM killer, a lost node) makes Ray run the
task again, once (`SuiteOptions.retries`), on any worker; if that dies too, the unit is an
`error` case in the ledger naming what happened.

    for result in run_on_ray(args, part, options): ...
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["NotOnWorker", "RayError", "connect", "disconnect", "run_on_ray"]

IN_FLIGHT_PER_CPU = 2  # units submitted per cluster CPU: enough that no worker waits, few enough that a cost cap stops soon


class RayError(RuntimeError):
    """The Ray executor cannot be used: ray is not installed, the cluster cannot be reached, or
    a worker cannot see the suite. The CLI prints the message alone and exits 2."""


class NotOnWorker(FileNotFoundError):
    """A worker cannot see a path the unit needs (the suite, the cassettes, the fixtures)."""


def import_ray() -> Any:
    """`ray`, or RayError naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise RayError("--executor ray needs Ray: pip install 'flowtape[ray]'") from None
    return ray


def connect(address: str | None) -> bool:
    """Connect this process to the cluster at `address` (`auto`, `ray://host:port`, host:port;
    None: RAY_ADDRESS, else a new local cluster). Returns whether it connected (False: this
    process was connected already, and stays so after the run)."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    _reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False, include_dashboard=False)
    except (ConnectionError, RuntimeError, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise RayError(f"--address {address or 'RAY_ADDRESS/local'}: cannot connect to a Ray cluster: {first}") from None
    return True


def _reachable(address: str | None, timeout: float = 10.0) -> None:
    """RayError unless a `host:port` / `ray://host:port` address answers a TCP connect within
    `timeout` (Ray itself waits minutes on an address where nothing listens)."""
    if not address or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise RayError(f"--address {address}: write auto, host:port or ray://host:port")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        raise RayError(f"--address {address}: cannot connect to a Ray cluster: {err.strerror or err}") from None


def disconnect() -> None:
    import_ray().shutdown()


def check_visible(*paths: Path | None) -> None:
    """Raise NotOnWorker unless this process sees every path (the worker-side check)."""
    for path in paths:
        if path is not None and not path.exists():
            raise NotOnWorker(f"a Ray worker on {socket.gethostname()} cannot see {path}: the suite, cassettes and fixtures must be at "
                              "the same path on every node (a shared path), and flowtape installed there")


def replay_remote(task: Any, case: Any, approach: str, model: str, run_id: str, options: Any) -> Any:
    """A unit, in a Ray worker: check the paths, replay, return its outcome (writes nothing)."""
    from harness.suiterun import replay_unit

    check_visible(task.folder, options.cassettes, options.fixtures)
    return replay_unit(task, case, approach, model, run_id, options)


def absolute_fixtures(fixtures: Path | None, task: Any) -> Path:
    """The fixtures folder a unit of `task` uses, resolved here (a worker's environment and
    current folder are not the driver's: FLOWTAPE_FIXTURES and the project settings are read
    on the driver)."""
    import tempfile

    from harness.goldens import Places

    return Places.here(Path(tempfile.gettempdir()), fixtures, project=task.folder).fixtures


def absolute(options: Any, first_task: Any) -> Any:
    """`options` with every path absolute and the fixtures resolved here."""
    from dataclasses import replace

    return replace(options, suite=options.suite.resolve(), cassettes=options.cassettes.resolve(), traces=options.traces.resolve(),
                   ledger=options.ledger.resolve(), fixtures=absolute_fixtures(options.fixtures, first_task))


def run_on_ray(args: list[tuple[Any, ...]], part: Any, options: Any) -> Iterator[Any]:
    """Run the units `args` ((task, case, approach, model, run_id, options) each) as Ray tasks,
    yielding each `UnitResult` once its trace and rows are written (rows to `part`). Keeps at
    most `IN_FLIGHT_PER_CPU` units per cluster CPU submitted, so results flow back as they finish.

    Raises:
        RayError: a worker cannot see the suite or import flowtape (the run stops).
    """
    from harness.suiterun import UnitResult, error_rows, write_outcome

    ray = import_ray()
    from ray.exceptions import RayTaskError, WorkerCrashedError

    if not args:
        return
    options = absolute(options, args[0][0])
    shared = ray.put(options)
    task = ray.remote(num_cpus=1, max_retries=options.retries, retry_exceptions=False)(replay_remote).options(name="flowtape_unit")
    window = max(1, int(ray.cluster_resources().get("CPU", 1)) * IN_FLIGHT_PER_CPU)
    todo = iter(range(len(args)))
    pending: dict[Any, int] = {}

    def submit() -> None:
        for index in todo:
            t, c, a, m, run_id, _ = args[index]
            pending[task.remote(t, c, a, m, run_id, shared)] = index
            if len(pending) >= window:
                return

    try:
        submit()
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                index = pending.pop(ref)
                t, c, a, m, run_id, _ = args[index]
                try:
                    outcome = ray.get(ref)
                except WorkerCrashedError as err:
                    tries = options.retries + 1
                    message = (f"the Ray worker running {t.name}/{c.name} [{a}] died {tries} time{'s' * (tries > 1)} "
                               f"({type(err).__name__}); not run again")
                    result = UnitResult(t.name, c.name, a, "error", error=message, model=m)
                    part.add_case(error_rows(t, c, a, m, run_id, options, message))
                    yield result
                    continue
                except RayTaskError as err:
                    cause = getattr(err, "cause", None)
                    if isinstance(cause, NotOnWorker):
                        raise RayError(str(cause)) from None
                    if isinstance(cause, (ImportError, ModuleNotFoundError)):
                        raise RayError(f"a Ray worker cannot import flowtape ({cause}): install the same flowtape on every node") from None
                    raise
                yield write_outcome(part, outcome)
            submit()
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)

