"""Review decisions recorded and replayed: a human's decision at a checkpoint is an interaction
like a model's answer. Recording, the decision comes from the inner `ReviewClient` (the ones
given to `flowtape record --review STEP=DECISION`) and is stored with who made it and when;
replaying, the stored decision is the answer, so a recorded case takes the same route every time.

    - kind: review
      server: human
      step: check
      method: decide
      request: {subject: {...}, reason: no evidence, decisions: [approve, reject]}
      response: {decision: reject, reviewer: ada, decided_at: '2026-12-02T07:40:00+00:00', note: ''}
"""

from __future__ import annotations

from typing import Any

from harness.cassettes._store import Cassette
from runner.clients import ReviewClient, ReviewDecision, ReviewRequest

__all__ = ["CassetteReviewClient"]

KIND = "review"
SERVER = "human"
METHOD = "decide"


class CassetteReviewClient:
    """A `ReviewClient` that replays the cassette's decision for a checkpoint and, where the
    cassette may record, asks `inner` and records its answer. Replaying with nothing recorded
    for this checkpoint (and this subject) is a `CassetteMiss`, as for any other call."""

    def __init__(self, inner: ReviewClient | None, cassette: Cassette) -> None:
        self.inner = inner
        self.cassette = cassette

    def decide(self, request: ReviewRequest) -> ReviewDecision | None:
        body = _body(request)
        found = self.cassette.lookup(KIND, SERVER, request.step_id, METHOD, body)
        if found is not None and isinstance(found.response, dict):
            r = found.response
            return ReviewDecision(decision=str(r.get("decision")), reviewer=str(r.get("reviewer")), decided_at=str(r.get("decided_at")),
                                  note=str(r.get("note") or ""))
        if self.cassette.write_protected:
            raise self.cassette.miss(KIND, SERVER, request.step_id, METHOD, body)
        decision = self.inner.decide(request) if self.inner is not None else None
        if decision is not None:
            self.cassette.record(KIND, SERVER, request.step_id, METHOD, body,
                                 {"decision": decision.decision, "reviewer": decision.reviewer, "decided_at": decision.decided_at, "note": decision.note})
        return decision


def _body(request: ReviewRequest) -> dict[str, Any]:
    return {"subject": request.subject, "reason": request.reason, "decisions": list(request.decisions)}
