"""`flowtape author`: the authoring loop (discovery answered from the recorded tools/list, each
submission checked by flowtape's validation, the diagnostics fed back), the checks of a script,
and a run recorded live from the local model, then replayed offline to the same result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.accounting import query
from harness.author import author, check_code, model_slug
from harness.goldens import load_task
from harness.toolcheck import recorded_tool_infos
from runner.clients import LLMRequest, LLMResponse

ROOT = Path(__file__).resolve().parents[2]
TASK = load_task(ROOT / "goldens" / "meeting-times")
TOOLS = recorded_tool_infos(ROOT / "cassettes" / "meeting-times")
WORKFLOW = (ROOT / "goldens" / "meeting-times" / "workflow.json").read_text()


class Scripted:
    """A model whose replies are written in the test; it keeps every request it was sent."""

    def __init__(self, *replies: dict) -> None:
        self.replies = [json.dumps(r) for r in replies]
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        return LLMResponse(text=self.replies.pop(0), model="scripted", prompt_tokens=100 * len(self.requests), completion_tokens=10)


def test_discovery_then_a_rejected_submission_then_a_valid_one() -> None:
    typo = WORKFLOW.replace("mcp-time-convert_time", "mcp-time-convert_tme")
    model = Scripted({"action": "list_servers"}, {"action": "get_tool_schema", "server": "time", "tool": "convert_time"},
                     {"action": "submit", "workflow_json": typo}, {"action": "submit", "workflow_json": WORKFLOW})
    result = author(TASK, "ir", llm=model, model="openai/scripted", tools=TOOLS)
    assert (result.status, result.attempts, result.turns, result.discoveries) == ("valid", 2, 4, 2)
    assert [s.step_id for s in result.trace.steps] == ["author-1", "discover-1:list_servers", "author-2", "discover-2:get_tool_schema",
                                                       "author-3", "submit-1", "author-4", "submit-2"]
    told = [r.messages[-1]["content"] for r in model.requests]
    assert told[1] == "list_servers returned: [\"time\"]"
    assert "source_timezone" in told[2]  # the schema, read from the recording
    assert "server 'time' has no tool 'convert_tme'; did you mean 'convert_time'?" in told[3]  # the diagnostics, fed back
    assert result.prompt_tokens == 100 + 200 + 300 + 400 and result.completion_tokens == 40  # the provider's usage, summed
    assert json.loads(result.artifact_text)["nodes"] == json.loads(WORKFLOW)["nodes"]
    assert all(r.response_format["json_schema"]["schema"]["required"] == ["action"] for r in model.requests)


def test_a_model_that_never_gets_it_right_runs_out_of_attempts() -> None:
    model = Scripted(*[{"action": "submit", "workflow_json": '{"nodes": []}'}] * 3)
    result = author(TASK, "ir", llm=model, model="openai/scripted", tools=TOOLS, max_attempts=3)
    assert (result.status, result.attempts, result.artifact_text) == ("invalid", 3, None)
    assert any("no output 'difference' (the cases judge it)" in d for d in result.diagnostics)
    assert result.trace.status.value == "failed" and "invalid after 3 submission(s)" in result.trace.error


def test_unreadable_replies_and_unknown_actions_are_turns_fed_back() -> None:
    model = Scripted({"action": "dance"}, {"action": "submit"})
    model.replies.insert(0, "not json at all")
    result = author(TASK, "code", llm=model, model="openai/scripted", tools=TOOLS, max_turns=3)
    told = [r.messages[-1]["content"] for r in model.requests]
    assert told[1].startswith("Your reply is not JSON") and told[2].startswith('Unknown action "dance"')
    assert result.status == "invalid" and result.diagnostics == ["script: empty; submit the whole Python script as a string"]


def test_a_provider_error_ends_the_run_as_an_error() -> None:
    class Down:
        def complete(self, request):
            raise ConnectionError("cannot reach the model")

    result = author(TASK, "ir", llm=Down(), model="openai/scripted", tools=TOOLS)
    assert result.status == "error" and "cannot reach the model" in result.trace.error and result.turns == 1


@pytest.mark.parametrize(("script", "problem"), [
    ("import flowtape_tools as tools\nprint(tools.time.convert_tim(time='1'))", "script line 2: server 'time' has no tool 'convert_tim'; did you mean 'convert_time'?"),
    ("import flowtape_tools as tools\nprint(tools.clock.now())", "script line 2: no server 'clock'"),
    ("print('a'", "script line 1: '(' was never closed"),
    ("x = 1", "script: prints nothing; print one JSON object with the outputs"),
])
def test_check_code_names_the_line_and_the_tool(script: str, problem: str) -> None:
    assert check_code(script, TASK, {s: {t.name: t.input_schema for t in infos} for s, infos in TOOLS.items()})[0] == problem


def test_check_code_passes_the_shipped_baseline() -> None:
    baseline = (ROOT / "goldens" / "meeting-times" / "baseline.py").read_text()
    assert check_code(baseline, TASK, {s: {t.name: t.input_schema for t in infos} for s, infos in TOOLS.items()}) == []


def test_recorded_live_from_the_local_model_then_replayed_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """Two turns of SmolLM2 (it will not author this task well: that is a measured result),
    recorded; then CI replays them with no model running, to the same summary and ledger row."""
    shutil.copytree(ROOT / "goldens" / "meeting-times", tmp_path / "goldens" / "meeting-times")
    shutil.copytree(ROOT / "cassettes" / "meeting-times", tmp_path / "cassettes" / "meeting-times")
    shutil.rmtree(tmp_path / "cassettes" / "meeting-times" / "authored", ignore_errors=True)  # record anew, with this test's limits
    (tmp_path / "flowtape.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    args = ("author", "meeting-times", "--approach", "ir", "--max-turns", 2, "--max-tokens", 48)
    live = cli(*args)
    assert live.exit_code in (0, 1), live.output
    tape = tmp_path / "cassettes" / "meeting-times" / "authored" / f"{model_slug(TASK.spec.llm.model)}.ir.yaml"
    assert tape.is_file() and f"recorded to {tape}" in live.stdout
    monkeypatch.setenv("CI", "true")
    replayed = cli(*args)
    assert replayed.exit_code == live.exit_code, replayed.output
    assert replayed.stdout.strip() == live.stdout.split(" · recorded")[0].strip()
    rows = query(tmp_path / "reports" / "ledger.duckdb", "SELECT status, turns, prompt_tokens, basis FROM authoring ORDER BY recorded_at")[1]
    assert len(rows) == 2 and rows[0] == rows[1] and rows[0][1] == 2 and rows[0][2] > 0 and rows[0][3] == "measured"
