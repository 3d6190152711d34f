"""What a report holds: plain frozen rows read from the ledger, one dataclass per section."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
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
