"""StepRan, StepSkipped and Attempts: the route a run took and how often a step was tried."""

from __future__ import annotations

from typing import Any

import pytest

from harness.evaluators import Attempts, EvaluatorContext, StepRan, StepSkipped
from tests.harness.evaluators._factories import judge, output_ctx, shell, step_ctx

RAN = step_ctx(shell("fetch", "ok", attempts=2))
FAILED = step_ctx(shell("fetch", "", attempts=3, error="exit 1: boom"))
SKIPPED = step_ctx(None, step_id="fallback")


@pytest.mark.parametrize(
    ("evaluator", "ctx", "passed", "reason"),
    [
        pytest.param(StepRan(), RAN, True, "ran (2 attempts, succeeded)", id="StepRan-ran"),
        pytest.param(StepRan(), FAILED, True, "ran (3 attempts, failed: exit 1: boom)", id="StepRan-ran-and-failed"),
        pytest.param(StepRan(), SKIPPED, False, "step 'fallback' did not run", id="StepRan-skipped"),
        pytest.param(StepSkipped(), SKIPPED, True, "did not run", id="StepSkipped-skipped"),
        pytest.param(StepSkipped(), RAN, False, "step 'fetch' ran (2 attempts, succeeded)", id="StepSkipped-ran"),
        pytest.param(StepRan(), output_ctx("x"), False, "StepRan does not apply to outputs: it reads a step", id="StepRan-on-output"),
        pytest.param(StepSkipped(), output_ctx("x"), False, "StepSkipped does not apply to outputs: it reads a step", id="StepSkipped-on-output"),
        pytest.param(Attempts(max=2), RAN, True, "2 attempt(s)", id="Attempts-max-reached"),
        pytest.param(Attempts(max=2), FAILED, False, "3 attempt(s) > max 2", id="Attempts-max-exceeded"),
        pytest.param(Attempts(exactly=3), FAILED, True, "3 attempt(s)", id="Attempts-exactly"),
        pytest.param(Attempts(exactly=1), RAN, False, "2 attempt(s), expected exactly 1", id="Attempts-exactly-other"),
        pytest.param(Attempts(max=3, exactly=2), RAN, True, "2 attempt(s)", id="Attempts-both"),
        pytest.param(Attempts(max=1), SKIPPED, False, "step 'fallback' did not run", id="Attempts-skipped-step"),
        pytest.param(Attempts(max=1), output_ctx("x"), False, "Attempts does not apply to outputs: it reads a step", id="Attempts-on-output"),
    ],
)
def test_routing(evaluator: Any, ctx: EvaluatorContext, passed: bool, reason: str) -> None:
    result = judge(evaluator, ctx)
    assert (result.passed, result.reason) == (passed, reason)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({}, "give max, exactly or both", id="neither"),
        pytest.param({"max": 0}, "max must be at least 1", id="max-zero"),
        pytest.param({"exactly": -1}, "exactly must be at least 1", id="exactly-negative"),
    ],
)
def test_attempts_needs_a_sensible_limit(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Attempts(**options)
