"""Small ledgers for the gate tests, written through the ledger's own API.

A run here is two cases of `meeting-times` (the shipped task, so the shipped cassettes give its
schema sizes) under `ir` and `code`. Each case has a tool step (1,000 result tokens), a model
step (100 prompt + 20 completion tokens, $0.001) and passes its two golden checks, unless a test
says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.accounting import Ledger, LedgerPart, case_rows, part_path
from harness.accounting.context import Component, ContextCost, write_context_rows
from runner.trace import LLMUsage, RunStatus, StepRecord, ToolUsage, Trace

ROOT = Path(__file__).resolve().parents[3]
TASK = "meeting-times"
CASES = ("lisbon-tokyo", "new-york-berlin")
APPROACHES = ("ir", "code")
STEPS = {"ir": ("convert", "summary"), "code": ("call-1:time.convert_time", "call-2:llm")}


@dataclass
class CaseSpec:
    """One (case, approach) of a synthetic run; tweak a field to plant a change."""

    case: str
    approach: str
    tool_tokens: int = 1000
    prompt_tokens: int = 100
    completion_tokens: int = 20
    cost_usd: float | None = 0.001
    duration_ms: float = 100.0
    step_ms: float = 10.0
    status: str = "passed"
    failed: tuple[str, ...] = ()  # targets whose golden check fails: "steps.summary", "outputs.answer"
    context: dict[str, int] = field(default_factory=dict)  # per_run context tokens by approach

    def trace(self) -> Trace:
        tool_step, llm_step = STEPS[self.approach]
        steps = [
            StepRecord(step_id=tool_step, kind="mcp", node_type="mcp-time-convert_time", duration_ms=self.step_ms,
                       tool=ToolUsage(server="time", tool="convert_time", result_tokens=self.tool_tokens, tokenizer="o200k_base:text")),
            StepRecord(step_id=llm_step, kind="llm", node_type="llm", duration_ms=self.step_ms,
                       llm=LLMUsage(model="m", prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens, cost_usd=self.cost_usd)),
        ]
        return Trace(run_id=f"{self.case}-{self.approach}", task=TASK, case=self.case, approach=self.approach, workflow_hash="h",
                     status=RunStatus(self.status), duration_ms=self.duration_ms, steps=steps)

    def evaluations(self) -> list[dict[str, Any]]:
        targets = {"steps.summary" if self.approach == "ir" else "outputs.summary": "JsonSchema", "outputs.answer": "Equals"}
        return [{"target": t, "evaluator": e, "passed": t not in self.failed, "score": None,
                 "reason": "planted failure" if t in self.failed else "", "error": False} for t, e in targets.items()]


def specs(**changes: dict[str, Any]) -> list[CaseSpec]:
    """The four (case, approach) specs, with `changes` applied: `specs(**{"lisbon-tokyo/ir": {"tool_tokens": 1500}})`."""
    out = []
    for case in CASES:
        for approach in APPROACHES:
            out.append(CaseSpec(case, approach, **changes.get(f"{case}/{approach}", {})))
    return out


def write_run(path: Path, run_id: str, cases: Iterable[CaseSpec], *, commit: str | None = None, status: str = "completed",
              context: dict[tuple[str, str], int] | None = None, settings: dict[str, Any] | None = None) -> str:
    """Add a run of `cases` to the ledger at `path`; `context` gives per_run context tokens by
    (case, approach), `direct` included."""
    ledger = Ledger(path)
    ledger.start_run(run_id, "goldens", settings or {"cassettes": str(ROOT / "cassettes")}, git_commit=commit, flowtape_version=None)
    with LedgerPart(part_path(path, run_id)) as part:
        for spec in cases:
            part.add_case(case_rows(run_id, spec.trace(), spec.evaluations()))
    ledger.merge_parts(run_id)
    ledger.finish_run(run_id, status)
    ledger.close()
    if context:
        write_context_rows(path, run_id, [ContextCost(TASK, case, approach, (Component("context", "per_run", "modelled", tokens, 0, 0.0, "m"),))
                                          for (case, approach), tokens in context.items()])
    return run_id


CONTEXT = {(c, a): t for c in CASES for a, t in (("direct", 1000), ("ir", 300), ("code", 400))}
