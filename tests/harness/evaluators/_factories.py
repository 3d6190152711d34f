"""Tiny builders for the evaluator tests: traces, steps and contexts written in one line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.evaluators import EvaluationResult, Evaluator, EvaluatorContext, primary_value
from runner.clients import LLMClient
from runner.trace import LLMUsage, RunStatus, StepRecord, ToolUsage, Trace


def words(text: str) -> int:
    """The tests' tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def step(step_id: str = "s", kind: str = "shell", output: dict[str, Any] | None = None, **fields: Any) -> StepRecord:
    node_type = {"mcp": "mcp-git-git_log", "file": "read-file"}.get(kind, kind)
    return StepRecord(step_id=step_id, kind=kind, node_type=node_type, output=output, **fields)


def shell(step_id: str = "s", stdout: str = "", **fields: Any) -> StepRecord:
    return step(step_id, "shell", {"stdout": stdout, "stderr": "", "exit_code": 0}, **fields)


def llm(step_id: str = "s", response: Any = "", *, model: str = "openai/smollm2", prompt_tokens: int | None = 10,
        completion_tokens: int | None = 5, cost_usd: float | None = None, **fields: Any) -> StepRecord:
    usage = LLMUsage(model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost_usd)
    return step(step_id, "llm", {"response": response, "llm_usage": {}}, llm=usage, **fields)


def mcp(step_id: str = "s", result: Any = "", *, result_tokens: int | None = None, tokenizer: str | None = None, **fields: Any) -> StepRecord:
    usage = ToolUsage(server="git", tool="git_log", result_tokens=result_tokens, tokenizer=tokenizer)
    return step(step_id, "mcp", {"result": result}, tool=usage, **fields)


def trace(*steps: StepRecord, outputs: dict[str, Any] | None = None, duration_ms: float = 0.0) -> Trace:
    return Trace(run_id="r1", workflow_hash="h", status=RunStatus.PASSED, steps=list(steps), outputs=outputs or {}, duration_ms=duration_ms)


def step_ctx(record: StepRecord | None, *, step_id: str | None = None, base_dir: Path = Path("."), llm: LLMClient | None = None,
             judge_model: str | None = None, within: Trace | None = None, count_tokens: Any = words) -> EvaluatorContext:
    """The context of a step target (`record` None: the step did not run)."""
    name = step_id or (record.step_id if record else "s")
    run = within or trace(*([record] if record else []))
    value = primary_value(record) if record else None
    return EvaluatorContext(trace=run, target=f"steps.{name}", step=record, value=value, base_dir=base_dir, count_tokens=count_tokens,
                            tokenizer="words", llm=llm, judge_model=judge_model)


def output_ctx(value: Any, *, name: str = "out", within: Trace | None = None, base_dir: Path = Path("."), llm: LLMClient | None = None,
               judge_model: str | None = None) -> EvaluatorContext:
    run = within or trace(outputs={name: value})
    return EvaluatorContext(trace=run, target=f"outputs.{name}", step=None, value=value, base_dir=base_dir, count_tokens=words,
                            tokenizer="words", llm=llm, judge_model=judge_model)


def value_ctx(value: Any, base_dir: Path = Path(".")) -> EvaluatorContext:
    """A value to judge, as a declared output."""
    return output_ctx(value, base_dir=base_dir)


def judge(evaluator: Evaluator, ctx: EvaluatorContext) -> EvaluationResult:
    """The evaluator's verdict as an EvaluationResult (a bare bool wrapped)."""
    outcome = evaluator.evaluate(ctx)
    if isinstance(outcome, bool):
        return EvaluationResult(target=ctx.target, evaluator=type(evaluator).__name__, passed=outcome)
    return outcome
