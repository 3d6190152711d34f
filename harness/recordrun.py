"""`flowtape record` over a suite: each (case, approach, model) recorded live, here one after
another, or as Ray tasks on a cluster (`--executor ray`), under the limits that matter when
recording: the providers' and servers' rate limits, not cores, and money.

- Concurrency: at most `per_model` units calling the same model, and at most `per_server` units
  using the same MCP server (by its name in task.yaml), run at once. The driver holds a unit
  back until it fits (Ray's own pattern: limit what is submitted, `ray.wait` for one to finish).
- Retries: a unit whose run stopped on an HTTP 429 or 5xx answer (a model's or a server's) is
  run again after a backoff (1 s, 2 s, 4 s, ... with jitter), up to `retries` times; its line
  says how often and why, and a cassette saved after a retry keeps that list in its
  `meta.retried`.
- Cost: `max_cost` (USD) stops scheduling new units once the units recorded so far cost that
  much (units already running finish, so the total can pass the cap by what they cost); the
  result names every unit left unrecorded.

    result = record_suite(units, RecordOptions(cassettes=Path("cassettes"), mode="once", llm=llm, max_cost=0.50), report=print)
    result.left  # [(task, case, approach, model), ...] never started
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.suite import LLMSettings
from harness.suiterun import Executor

__all__ = ["RecordOptions", "RecordResult", "Recorded", "record_suite", "record_unit", "transient_failure"]

_TRANSIENT = re.compile(r"\bHTTP (429|5\d\d)\b")


@dataclass
class RecordOptions:
    cassettes: Path
    mode: str
    llm: LLMSettings = field(default_factory=LLMSettings)
    fixtures: Path | None = None
    executor: Executor | str = Executor.LOCAL
    address: str | None = None
    max_cost: float | None = None  # USD; None: no cap
    per_model: int | None = None  # units calling one model at once; None: no limit
    per_server: int | None = None  # units using one MCP server at once; None: no limit
    retries: int = 3  # after a 429/5xx answer
    backoff: float = 1.0  # seconds before the first retry, doubled for each next one
    several_models: bool = False  # label lines with the model
    reviews: dict[str, str] = field(default_factory=dict)  # decisions at review checkpoints, by step (`--review`)
    reviewer: str | None = None


@dataclass
class Recorded:
    """One unit's recording, as the terminal and the cost cap need it (small, picklable)."""

    task: str
    case: str
    approach: str
    model: str | None
    line: str  # how it went and what became of its cassette
    passed: bool
    cost_usd: float = 0.0
    retried: list[str] = field(default_factory=list)  # one line per attempt that met a 429/5xx
    log: list[str] = field(default_factory=list)  # what run_case said while it ran (Ray workers)

    @property
    def label(self) -> str:
        return f"{self.task}/{self.case} [{self.approach}{' · ' + self.model if self.model else ''}]"


@dataclass
class RecordResult:
    units: list[Recorded]
    left: list[tuple[str, str, str, str | None]]  # (task, case, approach, model) not recorded: the cost cap stopped them
    spent_usd: float

    @property
    def capped(self) -> bool:
        return bool(self.left)


def transient_failure(trace: Any) -> str | None:
    """The error of a run that stopped on a 429 or 5xx answer (worth retrying), else None."""
    for message in [trace.error, *(s.error for s in trace.steps)]:
        if message and _TRANSIENT.search(message):
            return message
    return None


def unit_cost(task: Any, trace: Any) -> float:
    """USD of the model calls of `trace` (provider-reported, else the task's prices, else
    litellm's map; an unpriced call counts 0)."""
    from harness.accounting import cost_usd

    prices = task.spec.llm.price_map()
    total = 0.0
    for step in trace.steps:
        usage = step.llm
        if usage is None:
            continue
        cost = usage.cost_usd if usage.cost_usd is not None else cost_usd(usage.model or "", usage.prompt_tokens, usage.completion_tokens, prices)
        total += cost or 0.0
    return total


def record_unit(task: Any, case: Any, approach: str, model: str | None, options: RecordOptions,
                log: Callable[[str], None] | None = None) -> Recorded:
    """Record one unit, retrying after a 429/5xx answer (with backoff). Raises what run_case
    raises for bad input (GoldenError, CassetteError, RecordModeError, LeakedSecretError,
    InvalidWorkflow)."""
    from harness.suite import run_case

    said: list[str] = []
    retried: list[str] = []
    spent = 0.0
    for attempt in range(options.retries + 1):
        notes = {"retried": retried} if retried else None
        run = run_case(task, case, cassettes=options.cassettes, mode=options.mode, llm=options.llm, fixtures=options.fixtures, evaluate=True,
                       approach=approach, model=model, log=log or said.append, notes=notes,
                       reviews=options.reviews or None, reviewer=options.reviewer)
        spent += unit_cost(task, run.trace)
        why = transient_failure(run.trace) if run.held_back or run.trace.status.value == "error" else None
        if why is None or attempt == options.retries:
            break
        wait = options.backoff * 2 ** attempt * (1 + random.random() / 4)
        retried.append(f"attempt {attempt + 1}: {why} (retried after {wait:.1f} s)")
        time.sleep(wait)
    line = outcome_line(run)
    if retried:
        line += f"; retried {len(retried)} time(s) after 429/5xx: " + " | ".join(retried)
    label_model = model if options.several_models and model and task.uses_llm(approach) else None
    return Recorded(task.name, case.name, approach, label_model, line, run.passed and not run.held_back, spent, retried, said)


def outcome_line(run: Any) -> str:
    """One line: how the run went, and what became of its cassette."""
    failing = [f"{r.target} {r.evaluator}" for r in run.evaluations if not r.passed]
    path = run.cassette.path
    if run.held_back:
        state = "not saved" if not run.cassette.existed else "left as it was"
        return f"did not complete ({run.trace.error}); {path} {state}: a run that did not complete is never recorded"
    status = "failed" if run.trace.status.value != "passed" else ("checks failed" if failing else "passed")
    if run.saved:
        what = f"recorded {len(run.cassette.interactions)} interactions -> {path}"
        changes = "; ".join(change.describe() for change in run.changes)
        what += f" ({changes})" if run.cassette.existed and changes else " (unchanged)" if run.cassette.existed else ""
    else:
        what = f"nothing new to record in {path}"
    return (f"{status}, {what}" + (f" ({run.trace.error})" if run.trace.error else "")
            + (f"; failing checks: {', '.join(failing)}" if failing else ""))


def limits_of(task: Any, approach: str, model: str | None, options: RecordOptions) -> list[tuple[str, int]]:
    """The (resource, limit) pairs a unit holds while it runs."""
    held = []
    if options.per_model is not None and task.uses_llm(approach):
        held.append((f"model:{model or options.llm.model or task.spec.llm.model}", options.per_model))
    if options.per_server is not None:
        held += [(f"server:{name}", options.per_server) for name in task.spec.servers]
    return held


def record_suite(units: Sequence[tuple[Any, Any, str, str | None]], options: RecordOptions,
                 report: Callable[[Recorded], None] | None = None, log: Callable[[str], None] | None = None) -> RecordResult:
    """Record `units` ((task, case, approach, model) each) and return what came of each, what
    cost they added up to, and which the cost cap left unrecorded. `report` is called as each
    unit finishes. Bad input raises, as `record_unit` does (on Ray: the worker's error)."""
    done: list[Recorded] = []
    spent = 0.0
    todo = list(units)

    def capped() -> bool:
        return options.max_cost is not None and spent >= options.max_cost

    if Executor(options.executor) is Executor.LOCAL:
        while todo and not capped():
            task, case, approach, model = todo.pop(0)
            recorded = record_unit(task, case, approach, model, options, log=log)
            spent += recorded.cost_usd
            done.append(recorded)
            if report:
                report(recorded)
    else:
        from harness import _ray

        connected = _ray.connect(options.address)
        try:
            for recorded in _on_ray(todo, options, capped):
                spent += recorded.cost_usd
                done.append(recorded)
                if report:
                    report(recorded)
        finally:
            if connected:
                _ray.disconnect()
    return RecordResult(done, [(t.name, c.name, a, m) for t, c, a, m in todo], spent)


def _record_remote(task: Any, case: Any, approach: str, model: str | None, options: RecordOptions) -> Recorded:
    from harness._ray import check_visible

    check_visible(task.folder, options.fixtures)
    return record_unit(task, case, approach, model, options)


def _on_ray(todo: list[tuple[Any, Any, str, str | None]], options: RecordOptions, capped: Callable[[], bool]) -> Any:
    """Yield each unit's `Recorded` as its Ray task finishes; units are taken from `todo` as the
    limits allow, and none once `capped()`; what is left in `todo` was never started."""
    from dataclasses import replace

    from harness._ray import NotOnWorker, RayError, import_ray

    ray = import_ray()
    from ray.exceptions import RayTaskError, WorkerCrashedError

    if not todo:
        return
    from harness._ray import absolute_fixtures

    options = replace(options, cassettes=options.cassettes.resolve(), fixtures=absolute_fixtures(options.fixtures, todo[0][0]))
    shared = ray.put(options)
    remote = ray.remote(num_cpus=1, max_retries=1, retry_exceptions=False)(_record_remote).options(name="flowtape_record")
    window = max(1, int(ray.cluster_resources().get("CPU", 1)))  # a unit submitted is a unit paid for: no queue past the cores
    running: dict[Any, tuple[Any, ...]] = {}
    held: Counter[str] = Counter()
    try:
        while True:
            while not capped() and len(running) < window:
                fits = next((u for u in todo if all(held[key] < limit for key, limit in limits_of(u[0], u[2], u[3], options))), None)
                if fits is None:
                    break
                todo.remove(fits)
                held.update(key for key, _ in limits_of(fits[0], fits[2], fits[3], options))
                task, case, approach, model = fits
                alone = type(task)(task.name, task.folder.resolve(), task.spec, (case,))  # its own case only; a worker's folder is not ours
                running[remote.remote(alone, case, approach, model, shared)] = fits
            if not running:
                return
            [ref], _ = ray.wait(list(running), num_returns=1)
            task, case, approach, model = running.pop(ref)
            held.subtract(key for key, _ in limits_of(task, approach, model, options))
            try:
                yield ray.get(ref)
            except WorkerCrashedError as err:
                yield Recorded(task.name, case.name, approach, model, f"error: the Ray worker recording it died twice ({type(err).__name__}); not saved", False)
            except RayTaskError as err:
                cause = getattr(err, "cause", None)
                if isinstance(cause, NotOnWorker):
                    raise RayError(str(cause)) from None
                if isinstance(cause, Exception):
                    raise cause from None
                raise
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
