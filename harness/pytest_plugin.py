"""pytest plugin (entry point `flowtape`): golden cases are test items, so `pytest goldens/` works
in any CI that runs pytest.

Each `goldens/<task>/cases/<case>.yaml` becomes one item per run approach of its task (ir, code;
direct is modelled, not run), named
`<task>/<case>[<approach>]`. An item replays its cassette (offline, mode none), judges every
step and output, and fails with one line per failing check:

    steps.log  Contains: 'feat:' not found in the result
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowtape")
    group.addoption("--flowtape-cassettes", default=None, help="where golden cassettes are (default: <rootdir>/cassettes)")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent.name == "cases" and (file_path.parent.parent / "task.yaml").exists():
        return GoldenFile.from_parent(parent, path=file_path)
    return None


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
        for approach in task.spec.approaches:
            if approach == "direct":
                continue  # modelled from the recorded calls (flowtape compare), never run
            yield GoldenItem.from_parent(self, name=f"{task.name}/{case.name}[{approach}]", task=task, case=case, approach=approach)


class GoldenItem(pytest.Item):
    def __init__(self, *, task: Any, case: Any, approach: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task, self.case, self.approach = task, case, approach

    def runtest(self) -> None:
        from harness.suite import run_case

        option = self.config.getoption("flowtape_cassettes")
        cassettes = Path(option) if option else Path(self.config.rootpath) / "cassettes"
        run = run_case(self.task, self.case, cassettes=cassettes, mode="none", ci=True, evaluate=True, approach=self.approach)
        if not run.passed:
            lines = [f"run failed: {run.trace.error}"] if run.trace.error else []
            lines += [f"{r.target}  {r.evaluator}: {r.reason}" for r in run.evaluations if not r.passed]
            raise GoldenError("\n".join(lines))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, GoldenError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"golden {self.name}"
