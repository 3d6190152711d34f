"""Policy: the decisions a workflow made around its model, judged step by step.

    steps:
      by_class: [{RouteTaken: invoice}]                     # the route node sent it to the invoice extractor
      extract:  [{RouteTaken: missing_evidence}, {EvidenceFound: {fields: [total], found: false}},
                 {Attempts: {exactly: 2, of: contract}}, {ModelUsed: openai/smollm2}]
      check:    [{RouteTaken: reject}]                       # the reviewer's decision

So a regression in routing or policy fails at the step that made the decision, not only at the
output it changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext
from harness.evaluators._common import show, target_step, verdict


@dataclass
class RouteTaken(Evaluator):
    """The step took the action `action` (the edge it names): a route node's route, a review's
    decision, `contract_failed`, `missing_evidence`, `error` or `default`."""

    action: str

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        step = target_step(ctx, self)
        if isinstance(step, EvaluationResult):
            return step
        why = f" ({step.error})" if step.error else ""
        if step.action != self.action:
            return verdict(ctx, self, False, f"took '{step.action}', expected '{self.action}'{why}")
        return verdict(ctx, self, True, f"took '{step.action}'{why}")


@dataclass
class ModelUsed(Evaluator):
    """The model that answered the llm step is `model` (as the workflow names it, e.g.
    `openai/smollm2`): the step's last answering call, else the model it asked for (its
    `model` param, else the run's default model)."""

    model: str

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        step = target_step(ctx, self, kinds=("llm",), applies_to="llm steps")
        if isinstance(step, EvaluationResult):
            return step
        answered = [c for c in step.calls if c.outcome == "answered"]
        if step.calls and not answered:
            tried = ", ".join(f"{c.model} ({c.outcome})" for c in step.calls)
            return verdict(ctx, self, False, f"no model answered (tried {tried})")
        if answered:
            used, why = answered[-1].model, answered[-1].reason
        else:
            used, why = str(step.params.get("model") or ctx.trace.model or "?"), "the only model called"
        if used != self.model:
            return verdict(ctx, self, False, f"{used} answered ({why}), expected {self.model}")
        return verdict(ctx, self, True, f"{used} answered ({why})")


@dataclass
class EvidenceFound(Evaluator):
    """The llm step checked evidence and each of `fields` (default: every field it checked) was
    found in its inputs, or, with `found: false`, was not."""

    fields: list[str] = field(default_factory=list)
    found: bool = True

    def evaluate(self, ctx: EvaluatorContext) -> EvaluationResult:
        step = target_step(ctx, self, kinds=("llm",), applies_to="llm steps")
        if isinstance(step, EvaluationResult):
            return step
        evidence = (step.output or {}).get("evidence")
        if not isinstance(evidence, dict) or not evidence:
            return verdict(ctx, self, False, f"step '{step.step_id}' checked no evidence (its llm node has no `evidence` param, or it failed first)")
        names = self.fields or list(evidence)
        unknown = [n for n in names if n not in evidence]
        if unknown:
            return verdict(ctx, self, False, f"no evidence checked for {', '.join(unknown)} (checked: {', '.join(evidence)})")
        wrong = [n for n in names if bool(evidence[n].get("found")) is not self.found]
        if wrong:
            details = "; ".join(f"{n} = {show(evidence[n].get('value'), 40)} " + ("found at " + str(evidence[n].get("where")) if evidence[n].get("found")
                                                                                  else str(evidence[n].get("why") or "not found")) for n in wrong)
            return verdict(ctx, self, False, f"expected {'found' if self.found else 'missing'}: {details}")
        return verdict(ctx, self, True, f"{'found' if self.found else 'missing'}: {', '.join(names)}")
