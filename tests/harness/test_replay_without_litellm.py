"""A replayed model call is answered straight from the cassette, without importing litellm or
vcrpy, and the answer is exactly what the litellm path gives for every model call the shipped
suite recorded."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cassettes import Cassette
from harness.cassettes._llm import CassetteLLMClient
from harness.suite import REPLAY_KEY
from runner.clients import LLMRequest
from runner.live.llm import LiteLLMClient

ROOT = Path(__file__).resolve().parents[2]
TAPES = sorted(p for p in (ROOT / "cassettes").rglob("*.yaml") if "kind: llm" in p.read_text())


def _requests(tape: Path) -> list[LLMRequest]:
    """Each recorded model call as the runner asked for it."""
    requests = []
    for item in Cassette.open(tape, "none", ci=True).interactions:
        if item.kind == "llm":
            body = item.request
            requests.append(LLMRequest(model=f"openai/{body['model']}", messages=body["messages"], temperature=body.get("temperature"),
                                       max_tokens=body.get("max_tokens"), response_format=body.get("response_format"), step_id=item.step))
    return requests


class _NoLiteLLM:
    """An inner client that fails if it is ever called: the answer must come from the tape."""

    max_retries = 0
    extra: dict = {}

    def complete(self, request):
        raise AssertionError(f"litellm path taken for step {request.step_id}")


@pytest.mark.parametrize("tape", TAPES, ids=[str(p.relative_to(ROOT / "cassettes")) for p in TAPES])
def test_the_direct_answer_is_the_litellm_answer(tape: Path) -> None:
    requests = _requests(tape)
    assert requests
    fast = CassetteLLMClient(_NoLiteLLM(), Cassette.open(tape, "none", ci=True))
    slow_tape = Cassette.open(tape, "none", ci=True)
    slow = CassetteLLMClient(LiteLLMClient(api_key=REPLAY_KEY, max_retries=0), slow_tape)
    slow._replay_without_litellm = lambda request: None  # type: ignore[method-assign]  # force vcrpy + litellm
    for request in requests:
        assert fast.complete(request) == slow.complete(request), request.step_id
    assert fast.cassette.unused() == slow_tape.unused()


def test_a_priced_model_or_a_differing_request_takes_the_litellm_path(tmp_path: Path) -> None:
    tape = next(iter(TAPES))
    request = _requests(tape)[0]
    client = CassetteLLMClient(_NoLiteLLM(), Cassette.open(tape, "none", ci=True))
    with pytest.raises(AssertionError, match="litellm path taken"):
        client.complete(LLMRequest(**{**request.__dict__, "max_tokens": (request.max_tokens or 0) + 1}))
    with pytest.raises(AssertionError, match="litellm path taken"):
        client.complete(LLMRequest(**{**request.__dict__, "model": "openai/gpt-4o-mini"}))


def test_a_replayed_case_imports_neither_litellm_nor_vcrpy() -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from harness.goldens import load_task\n"
        "from harness.suite import run_case\n"
        "task = load_task(Path('goldens/review-triage'))\n"
        "run = run_case(task, task.cases[0], cassettes=Path('cassettes'), mode='none', ci=True, evaluate=True)\n"
        "assert run.passed, run.trace.error\n"
        "assert any(s.kind == 'llm' for s in run.trace.steps)\n"
        "print(sorted(m for m in ('litellm', 'vcr', 'openai') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
