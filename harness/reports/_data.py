"""What a report holds: plain frozen rows read from the ledger, one dataclass per section."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "Baseline",
    "CaseChange",
    "CaseRow",
    "FailedCheck",
    "ReportData",
    "RunCost",
    "RunHeader",
    "StepPassRate",
    "TaskTokens",
    "ToolCallSaving",
    "TokenSource",
    "UnknownRunError",
]

# Where `ReportData.tokens` came from: the orchestrator's context per run (`flowtape compare`
# wrote `context_tokens`), or what the run measured itself (tool results + model tokens).
TokenSource = Literal["context", "measured"]


class UnknownRunError(LookupError):
    """The ledger has no such run (or no run at all); `known` lists its latest run ids."""

    def __init__(self, message: str, known: tuple[str, ...] = ()):
        super().__init__(message)
        self.known = known


@dataclass(frozen=True)
class RunHeader:
    run_id: str
    started_at: str | None  # "2026-11-22 01:29:49 UTC"
    finished_at: str | None
    status: str
    git_commit: str | None
    suite: str | None
    flowtape_version: str | None


@dataclass(frozen=True)
class FailedCheck:
    target: str  # "steps.headline", "outputs.features"
    evaluator: str
    reason: str


@dataclass(frozen=True)
class CaseRow:
    """One case x approach. `status` is the verdict: `passed` only when the run passed and no
    evaluator failed; `failed` when one did; otherwise the run's own status (`error`, ...)."""

    task: str
    case: str
    approach: str
    status: str
    checks: int
    failed: tuple[FailedCheck, ...] = ()
    error: str | None = None
    trace_path: str | None = None  # the stored trace, for the HTML report's step by step view


@dataclass(frozen=True)
class CaseChange:
    """One case x approach that changed since the baseline run (`harness.diff`): its verdict
    there and here (None: not in that run), the checks that flipped, the step outputs that
    changed, and `lines`, the whole change as `flowtape diff` prints it. `rank` orders the
    changes as the diff does: 0 is the change that matters most."""

    task: str
    case: str
    approach: str
    before: str | None
    after: str | None
    flipped: int  # evaluator verdicts that flipped
    outputs: int  # step outputs (and workflow outputs) that changed, steps that ran in one run only
    tokens: tuple[int, int]
    lines: tuple[str, ...]
    rank: int


@dataclass(frozen=True)
class Baseline:
    """The run the report is compared with (the gate's recorded baseline unless another is
    asked for), and what did not change or did not run again."""

    run_id: str
    how: str  # "recorded baseline (flowtape gate --update-baseline)", "run 2026..."
    unchanged: int  # cases of both runs where nothing changed
    only_in_baseline: int  # cases of the baseline this run did not run


@dataclass(frozen=True)
class TaskTokens:
    """One approach on one task: tokens per run, the mean over the task's cases. `authoring`
    (one-off, per artefact) only when the figures come from `context_tokens`."""

    task: str
    approach: str
    cases: int
    per_run_tokens: float
    authoring_tokens: float | None = None


@dataclass(frozen=True)
class ToolCallSaving:
    """One recorded MCP call: what direct tool calling puts in the orchestrator's context for it
    against what this approach does (`savings_per_tool_call`)."""

    task: str
    case: str
    approach: str
    step_id: str
    server: str
    tool: str
    direct_tokens: int
    approach_tokens: int
    saved_tokens: int


@dataclass(frozen=True)
class RunCost:
    """One run's cost: its model calls (`llm_calls.cost_usd`) and, when `flowtape compare`
    accounted it, the per-run context of the orchestrator for the approaches that ran (modelled
    `direct` left out, model calls not counted twice). None: the ledger has no figure."""

    run_id: str
    started_at: str | None
    git_commit: str | None
    cases: int
    llm_cost_usd: float | None
    context_cost_usd: float | None
    # How each figure was accounted; the cost chart draws one line per accounting, so a change of
    # pricing or counting shows as a new line, not as a jump. None: the run has no such figure.
    llm_accounting: str | None = None  # "priced, provider tokens", "3 of 5 calls priced, ..."
    context_accounting: str | None = None  # "priced at gpt-4o, modelled + measured"

    @property
    def total_usd(self) -> float | None:
        parts = [c for c in (self.llm_cost_usd, self.context_cost_usd) if c is not None]
        return sum(parts) if parts else None


@dataclass(frozen=True)
class StepPassRate:
    """Evaluator verdicts on one target of one task, over every case and approach of the run."""

    task: str
    target: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows about one run, read from the ledger alone."""

    run: RunHeader
    cases: tuple[CaseRow, ...]
    tokens: tuple[TaskTokens, ...]
    tokens_source: TokenSource
    savings: tuple[ToolCallSaving, ...]
    costs: tuple[RunCost, ...]  # oldest first, ending with this run
    pass_rates: tuple[StepPassRate, ...]
    baseline: Baseline | None = None  # None: no baseline to compare with (or this run is it)
    changes: tuple[CaseChange, ...] = ()  # the cases of this run that changed since the baseline, largest first

    @property
    def passed(self) -> int:
        return sum(c.status == "passed" for c in self.cases)

    @property
    def approaches(self) -> tuple[str, ...]:
        """The approaches of the token figures, in the order direct, code, ir, then any other."""
        found = {t.approach for t in self.tokens} | {c.approach for c in self.cases}
        order = ("direct", "code", "ir")
        return tuple(a for a in order if a in found) + tuple(sorted(found - set(order)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
