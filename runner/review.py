"""Review checkpoints: where a case stops for a human (the `review` and `route` node types are in
`runner.nodes.review`).

A `review` node shows a human its `subject` and asks for one of its `decisions` (default
`approve`, `reject`); the decision is the node's action, so edges route on it, and the trace
keeps who decided what and when (`StepRecord.review`). The decision comes from the run's
`ReviewClient`: live, the decisions given on the command line (`GivenDecisions`, from
`flowtape run --review STEP=DECISION` or `--approve STEP`); in a recorded run, the cassette's
(harness). With no decision the case stops there: the node fails, saying how to decide it.

    {"id": "check", "type": "review", "params": {"subject": "${extract.response}", "reason": "no evidence"}}

pflow's `approval: required` on any node is the same checkpoint in front of that node: approved,
it runs; rejected or undecided, it does not (the executor asks before running it).

A `route` node turns a value an earlier step proposed into an action, from a declared list, so
the workflow (not the model) decides which edge is taken:

    {"id": "by_class", "type": "route", "params": {"value": "${classify.response.class}",
                                                  "routes": ["invoice", "receipt"], "default": "other"}}
"""

from __future__ import annotations

import getpass
from datetime import datetime, timezone
from typing import Mapping

from runner.clients import ReviewDecision, ReviewRequest
from runner.trace import Review

__all__ = ["GivenDecisions", "as_review", "parse_decisions"]


class GivenDecisions:
    """A `ReviewClient` answering from decisions made up front (step id -> decision; `*` for
    every step) by `reviewer`, at the moment each checkpoint asks."""

    def __init__(self, decisions: Mapping[str, str], reviewer: str | None = None, note: str = "") -> None:
        self.decisions = dict(decisions)
        self.reviewer = reviewer or _user()
        self.note = note

    def decide(self, request: ReviewRequest) -> ReviewDecision | None:
        short = request.step_id.rsplit("/", 1)[-1]
        decision = self.decisions.get(request.step_id) or self.decisions.get(short) or self.decisions.get("*")
        if decision is None:
            return None
        return ReviewDecision(decision=decision, reviewer=self.reviewer, decided_at=_now(), note=self.note)


def parse_decisions(items: list[str]) -> dict[str, str]:
    """`["check=approve", "gate=reject"]` -> {"check": "approve", "gate": "reject"}.

    Raises:
        ValueError: an item is not STEP=DECISION.
    """
    out = {}
    for item in items:
        step, sep, decision = item.partition("=")
        if not sep or not step.strip() or not decision.strip():
            raise ValueError(f"--review takes STEP=DECISION (like check=approve), got {item!r}")
        out[step.strip()] = decision.strip()
    return out


def as_review(decision: ReviewDecision) -> Review:
    return Review(decision=decision.decision, reviewer=decision.reviewer, decided_at=decision.decided_at, note=decision.note)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"
