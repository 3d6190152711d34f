"""pytest plugin (entry point `flowtape`): golden cases are test items, so `pytest goldens/` works
in any CI that runs pytest, and the run lands in the ledger as `flowtape test` would put it.

Each `goldens/<task>/cases/<case>.yaml` becomes one item per approach of its task (ir, code,
direct, and the `ir@<model>` / `code@<model>` variants `flowtape author` saved), named
`<task>/<case>[<approach>]`. An item replays its cassette (offline, mode none), judges every
step and output, and fails with one line per failing check:

    steps.log  Contains: 'feat:' not found in the result

Every item carries the marker `flowtape(task=..., case=..., approach=...)`, so pytest's own
selection works on it:

    pytest goldens/ -m flowtape                               # golden items only
    pytest goldens/ -m "flowtape(approach='ir')"              # one approach
    pytest goldens/ -m "flowtape(task='meeting-times')" -x    # one task, stop at the first failure
    pytest goldens/ -k lisbon                                 # by name, as for any test

The items that ran are one ledger run (default `<rootdir>/reports/ledger.duckdb`; `--flowtape-ledger`,
or `--flowtape-no-ledger` to write none), with its traces under `reports/traces/<run_id>/`, so
`flowtape gate` and `flowtape report` after `pytest goldens/` judge this run, not an older one.
A session stopped early (`-x`, Ctrl-C) leaves the run marked `interrupted` with the cases that ran.

With pytest-xdist (`pytest -n 4 goldens/`) the session is still one ledger run: the controller
names the run before the workers start and passes its id to each (`workerinput`), starts it in
the ledger once collection has found a golden item, and alone holds the ledger; each worker
writes its cases to a part of its own (`<ledger>.parts/<run_id>/xdist-<worker>.duckdb`), which
the controller merges when the session ends (a killed session's parts are merged by the next run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_RUN = pytest.StashKey["_LedgerRun"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowtape")
    group.addoption("--flowtape-cassettes", default=None, help="where golden cassettes are (default: the project's `cassettes` setting, else <rootdir>/cassettes)")
    group.addoption("--flowtape-ledger", default=None, help="the DuckDB ledger the run is added to (default: the project's `ledger` setting, else <rootdir>/reports/ledger.duckdb)")
    group.addoption("--flowtape-no-ledger", action="store_true", default=False, help="write no ledger run and no traces")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flowtape(task, case, approach): a flowtape golden case replayed under one approach")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent.name == "cases" and (file_path.parent.parent / "task.yaml").exists():
        return GoldenFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, in the controller: hand each worker the run its cases belong to."""
    if node.config.getoption("flowtape_no_ledger"):
        return
    node.workerinput["flowtape_run_id"] = _controller_run(node.config).run_id


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """xdist, in the controller: the run goes into the ledger once a worker has collected a
    golden item (a session of other tests writes no run)."""
    run = node.config.stash.get(_RUN, None)
    if run is not None and any(_is_golden(nodeid) for nodeid in ids):
        run.start(node.config)


def _is_golden(nodeid: str) -> bool:
    path = Path(nodeid.split("::", 1)[0])
    return path.suffix == ".yaml" and path.parent.name == "cases"


def _controller_run(config: pytest.Config) -> _LedgerRun:
    run = config.stash.get(_RUN, None)
    if run is None:
        run = config.stash[_RUN] = _LedgerRun(config, role="controller")
    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(_RUN, None)
    if run is not None:
        stopped = bool(session.shouldstop or session.shouldfail)  # -x, --maxfail, Ctrl-C
        complete = exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not stopped
        run.finish(complete)


class GoldenError(Exception):
    """A golden case did not pass; carries the reasons."""


class GoldenFile(pytest.File):
    def collect(self) -> Any:
        from harness.goldens import GoldenError as LoadError
        from harness.goldens import load_task

        try:
            task = load_task(self.path.parent.parent)
        except LoadError as err:
            raise self.CollectError(str(err)) from None
        case = next(c for c in task.cases if c.path == self.path)
        for approach in (*task.spec.approaches, *task.authored):
            item = GoldenItem.from_parent(self, name=f"{task.name}/{case.name}[{approach}]", task=task, case=case, approach=approach)
            item.add_marker(pytest.mark.flowtape(task=task.name, case=case.name, approach=approach))
            yield item


class GoldenItem(pytest.Item):
    def __init__(self, *, task: Any, case: Any, approach: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task, self.case, self.approach = task, case, approach

    def runtest(self) -> None:
        from harness.goldens import Task

        run = _ledger_run(self.config)
        task = Task(self.task.name, self.task.folder, self.task.spec, (self.case,))
        unit = run.run(task, self.case, self.approach)
        if unit.status != "passed":
            lines = [f"run failed: {unit.error}"] if unit.error else []
            lines += [f"{target}  {evaluator}: {reason}" for target, evaluator, reason in unit.failures]
            raise GoldenError("\n".join(lines) or unit.status)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, GoldenError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"golden {self.name}"


def _ledger_run(config: pytest.Config) -> _LedgerRun:
    """The session's ledger run, opened when the first golden item runs (a session that selects
    no golden item opens no ledger)."""
    run = config.stash.get(_RUN, None)
    if run is None:
        worker = getattr(config, "workerinput", None)
        role = "worker" if worker is not None and "flowtape_run_id" in worker else "alone"
        run = config.stash[_RUN] = _LedgerRun(config, role=role)
    return run


class _LedgerRun:
    """One ledger run for the session: started on first use, one part file, merged at the end,
    the same layout `flowtape test` uses (so a killed session is recovered by the next run).

    `role`: `alone` (no xdist: this process runs the items and owns the ledger), `controller`
    (xdist's: owns the ledger, runs no item) or `worker` (xdist's: runs items into its own part
    of the controller's run, never opens the ledger)."""

    def __init__(self, config: pytest.Config, role: str = "alone") -> None:
        from harness.suiterun import SuiteOptions

        from harness.settings import SettingsError, load_settings

        root = Path(config.rootpath)
        try:  # the project's settings, found from the rootdir up; outside a project, <rootdir>/...
            proj = load_settings(root)
        except SettingsError as err:
            raise pytest.UsageError(str(err)) from None
        where = (lambda p: p) if proj.source else (lambda p: root / p)
        option = config.getoption("flowtape_cassettes")
        ledger = config.getoption("flowtape_ledger")
        self.options = SuiteOptions(suite=root, cassettes=Path(option) if option else where(proj.cassettes),
                                    ledger=Path(ledger) if ledger else where(proj.ledger), traces=where(proj.traces))
        self.enabled = not config.getoption("flowtape_no_ledger")
        self.role = role
        self.ledger: Any = None
        self.part: Any = None
        self.run_id = ""
        if not self.enabled:
            return
        from harness.accounting import LedgerPart, parts_dir
        from runner import new_run_id

        if role == "worker":
            worker = config.workerinput  # type: ignore[attr-defined]
            self.run_id = worker["flowtape_run_id"]
            folder = parts_dir(self.options.ledger, self.run_id)
            folder.mkdir(parents=True, exist_ok=True)
            self.part = LedgerPart(folder / f"xdist-{worker['workerid']}.duckdb")
        elif role == "controller":
            self.run_id = new_run_id()  # started in the ledger once a golden item is collected (`start`)
        else:
            self.run_id = new_run_id()
            self.start(config)
            folder = self.ledger.parts_dir(self.run_id)
            folder.mkdir(parents=True, exist_ok=True)
            self.part = LedgerPart(folder / "pytest.duckdb")

    def start(self, config: pytest.Config) -> None:
        """Open the ledger (merging what a killed session left) and add this run as `running`."""
        if self.ledger is not None:
            return
        from harness.accounting import Ledger, LedgerError

        try:
            self.options.ledger.parent.mkdir(parents=True, exist_ok=True)
            self.ledger = Ledger(self.options.ledger)
            self.ledger.recover()
        except (LedgerError, OSError) as err:
            raise pytest.UsageError(f"flowtape: {err}") from None
        settings = {"runner": "pytest", "args": list(config.invocation_params.args), "cassettes": str(self.options.cassettes)}
        if self.role == "controller":
            settings["xdist_workers"] = getattr(config.option, "numprocesses", None)
        self.ledger.start_run(self.run_id, str(self.options.suite), settings)

    def run(self, task: Any, case: Any, approach: str) -> Any:
        from harness.suiterun import UnitResult, _run_unit

        if self.enabled:
            return _run_unit(self.part, task, case, approach, task.spec.llm.model, self.run_id, self.options)
        from harness.suite import run_case

        run = run_case(task, case, cassettes=self.options.cassettes, mode="none", ci=True, evaluate=True, approach=approach)
        failures = [(r.target, r.evaluator, r.reason) for r in run.evaluations if not r.passed]
        return UnitResult(task.name, case.name, approach, "passed" if run.passed else "failed", failures, run.trace.error)

    def finish(self, complete: bool) -> None:
        if not self.enabled:
            return
        if self.part is not None:
            self.part.close()
        if self.ledger is None:
            return  # an xdist worker (the controller merges its part), or a controller whose workers collected no golden item
        try:
            self.ledger.merge_parts(self.run_id)
            self.ledger.finish_run(self.run_id, "completed" if complete else "interrupted")
        finally:
            self.ledger.close()
