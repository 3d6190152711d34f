"""Evaluators: judge a trace step by step and output by output against a golden case.

    steps:
      log:       [{Contains: "feat:"}, {MaxResultTokens: 40000}]
      summarize: [{JsonSchema: {$ref: schemas/changelog.json}}, {MaxCompletionTokens: 400}]
      fallback:  [StepSkipped]
    outputs:
      changelog: [{DeepEquals: {expected_file: expected/changelog.json, ignore_order: true}}]

    reg = registry(load_custom(path) for path in task.evaluators)
    steps = {step: [parse_evaluator(e, reg) for e in entries] for step, entries in case.steps.items()}
    results = evaluate_case(trace, steps, outputs, base_dir=task_folder, count_tokens=count)

An evaluator is a small dataclass with one `evaluate(ctx)` returning a bool or an
`EvaluationResult`; its fields are its arguments in a case file. One that can judge a step that
did not run or an output that was not produced sets `accepts_absence: ClassVar[bool] = True`
(StepRan, StepSkipped, MaxCost, MaxDuration); the others fail there without being called.
"""

from harness.evaluators._base import EvaluationResult, Evaluator, EvaluatorContext, primary_value
from harness.evaluators._budgets import MaxCompletionTokens, MaxCost, MaxDuration, MaxPromptTokens, MaxResultTokens
from harness.evaluators._deep import DeepEquals
from harness.evaluators._judge import LLMJudge
from harness.evaluators._policy import EvidenceFound, ModelUsed, RouteTaken
from harness.evaluators._registry import DEFAULT_EVALUATORS, EvaluatorSpecError, load_custom, parse_evaluator, registry
from harness.evaluators._routing import Attempts, StepRan, StepSkipped
from harness.evaluators._evaluate_case import case_passed, evaluate_case
from harness.evaluators._entry_schema import schema_entries
from harness.evaluators._schemas import JsonSchema, PydanticModel
from harness.evaluators._values import Contains, Equals, NumberRange, Regex

__all__ = [
    "DEFAULT_EVALUATORS",
    "Attempts",
    "Contains",
    "DeepEquals",
    "Equals",
    "EvaluationResult",
    "Evaluator",
    "EvaluatorContext",
    "EvaluatorSpecError",
    "EvidenceFound",
    "JsonSchema",
    "LLMJudge",
    "MaxCompletionTokens",
    "MaxCost",
    "MaxDuration",
    "MaxPromptTokens",
    "MaxResultTokens",
    "ModelUsed",
    "NumberRange",
    "PydanticModel",
    "Regex",
    "RouteTaken",
    "StepRan",
    "StepSkipped",
    "case_passed",
    "evaluate_case",
    "load_custom",
    "parse_evaluator",
    "primary_value",
    "registry",
    "schema_entries",
]
