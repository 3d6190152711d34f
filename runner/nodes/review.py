"""`review` (a human checkpoint) and `route` (a declared branch on a proposed value): see
`runner.review` for how decisions are made and replayed."""

from __future__ import annotations

from typing import Any

from runner.clients import ReviewRequest
from runner.review import as_review
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec

__all__ = ["ReviewNode", "RouteNode"]

DECISIONS = ("approve", "reject")


class ReviewNode(NodeType):
    name = "review"
    kind = "review"
    params = {
        "subject": ParamSpec("any", False, "what the reviewer is shown (any JSON; templates resolved)"),
        "reason": ParamSpec("string", False, "why the case stopped here"),
        "decisions": ParamSpec("array", False, "the decisions accepted, each an action (default approve, reject)"),
    }
    outputs = ("decision", "reviewer", "decided_at", "note", "subject", "reason")

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        return _action_names(params, "decisions")

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        decisions = tuple(params.get("decisions") or DECISIONS)
        request = ReviewRequest(step_id=ctx.step_id, subject=params.get("subject"), reason=str(params.get("reason") or ""), decisions=decisions)
        decision = ctx.review.decide(request) if ctx.review is not None else None
        if decision is None:
            raise NodeFailure(f"stopped for review at '{ctx.step_id}': no decision (decide with --review {ctx.step_id}=<{'|'.join(decisions)}>)",
                              {"subject": request.subject, "reason": request.reason}, retryable=False)
        if decision.decision not in decisions:
            raise NodeFailure(f"review at '{ctx.step_id}': decision {decision.decision!r} is not one of {', '.join(decisions)}", retryable=False)
        output = {"decision": decision.decision, "reviewer": decision.reviewer, "decided_at": decision.decided_at, "note": decision.note,
                  "subject": request.subject, "reason": request.reason}
        return NodeResult(output, action=decision.decision, review=as_review(decision))


class RouteNode(NodeType):
    name = "route"
    kind = "route"
    params = {
        "value": ParamSpec("any", True, "the value to route on (usually what an earlier step proposed)"),
        "routes": ParamSpec("array", True, "the values that are routes; the value itself is the action"),
        "default": ParamSpec("string", False, "the action for any other value (absent: such a value fails the node)"),
    }
    outputs = ("value", "route")

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        return _action_names(params, "routes")

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        value = params.get("value")
        key = value.strip() if isinstance(value, str) else value
        routes = [str(r) for r in params["routes"]]
        if isinstance(key, str) and key in routes:
            return NodeResult({"value": value, "route": key}, action=key)
        if params.get("default"):
            return NodeResult({"value": value, "route": str(params["default"])}, action=str(params["default"]))
        raise NodeFailure(f"route: {value!r} is not one of {', '.join(routes)} and there is no default", {"value": value}, retryable=False)


def _action_names(params: dict[str, Any], key: str) -> list[tuple[str, str]]:
    """The problem with a param that lists the actions a node may return, if any."""
    names = params.get(key)
    if isinstance(names, list) and (not names or not all(isinstance(n, str) and n and n != "error" for n in names)):
        return [(key, "a non-empty list of action names (not 'error')")]
    return []
