"""The direct approach in the harness: task.yaml's `direct:` section read strictly, a direct case
recorded from the real local model and mcp-server-time and replayed offline from its cassette,
its turns and calls in the ledger; a run the model failed is saved, one the provider failed is
not."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from harness.accounting import case_rows
from harness.accounting._schema import COLUMNS
from harness.goldens import GoldenError, load_suite, load_task, select_units
from harness.suite import LLMSettings, run_case

ROOT = Path(__file__).resolve().parents[2]
TASK = """\
version: 1
description: convert a time
servers:
  time: {command: '${BIN}/mcp-server-time', args: [--local-timezone, UTC]}
approaches: [direct]
direct:
  prompt: "Convert ${t} from UTC to Asia/Tokyo and give the time difference."
  max_turns: 2
  max_tokens: 128
  outputs:
    difference: {type: string}
"""


def make_task(root: Path, task: str = TASK, case: str = "version: 1\ninputs: {t: '10:00'}\noutputs:\n  difference: [{Equals: '+9.0h'}]\n") -> Path:
    folder = root / "suite" / "tz"
    (folder / "cases").mkdir(parents=True, exist_ok=True)
    (folder / "task.yaml").write_text(task)
    (folder / "cases" / "ten.yaml").write_text(case)
    return folder


# -- task.yaml's direct section -----------------------------------------------------------------


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace('  prompt: "Convert ${t} from UTC to Asia/Tokyo and give the time difference."\n', ""),
     "task.yaml: direct.prompt: required when approaches lists direct"),
    (lambda t: t + "  servers: [tyme]\n", "task.yaml: direct.servers: no server 'tyme' in servers; did you mean 'time'?"),
    (lambda t: t.replace("max_turns: 2", "max_turns: 0"), "task.yaml: direct.max_turns: Input should be greater than or equal to 1"),
    (lambda t: t.replace("max_turns: 2", "max_turn: 2"), "task.yaml: direct.max_turn: unknown key"),
    (lambda t: t.replace("{type: string}", "{type: strung}"), "task.yaml: direct.outputs.difference: not a JSON schema"),
    (lambda t: t.replace("  outputs:\n    difference: {type: string}\n", ""),
     "task.yaml: direct.outputs: required when the task has no workflow.json declaring outputs"),
])
def test_a_bad_direct_section_is_a_load_error_naming_file_and_key(tmp_path, edit, message):
    folder = make_task(tmp_path, edit(TASK))
    with pytest.raises(GoldenError) as caught:
        load_task(folder)
    assert str(caught.value).startswith(str(folder / "task.yaml")) and message.removeprefix("task.yaml") in str(caught.value)


def test_a_schema_checked_once_is_not_checked_again_and_a_bad_one_always_is(tmp_path):
    """Valid direct.outputs schemas are remembered in the per-user cache (keyed by the schema and
    the installed jsonschema): reading the suite again imports no jsonschema. A bad schema is
    never remembered; with no cache, every read checks."""
    import subprocess
    import sys

    folder = make_task(tmp_path)
    read = ("import sys; from pathlib import Path; from harness.goldens import load_task\n"
            f"load_task(Path({str(folder)!r})); print('jsonschema' in sys.modules)")

    def imported(cache: str) -> bool:
        env = {**os.environ, "FLOWTAPE_CACHE_DIR": cache}
        done = subprocess.run([sys.executable, "-c", read], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().lower())

    cache = str(tmp_path / "cache")
    assert [imported(cache), imported(cache)] == [True, False]
    assert [imported(""), imported("")] == [True, True]  # FLOWTAPE_CACHE_DIR empty: no cache
    bad = make_task(tmp_path / "bad", TASK.replace("{type: string}", "{type: strung}"))
    for _ in range(2):
        with pytest.raises(GoldenError, match="not a JSON schema"):
            load_task(bad)


def test_a_case_the_prompt_or_the_outputs_do_not_fit_is_a_load_error_naming_the_case(tmp_path):
    folder = make_task(tmp_path, case="version: 1\ninputs: {time: '10:00'}\n")
    with pytest.raises(GoldenError) as caught:
        load_task(folder)
    assert str(caught.value) == (f"{folder / 'cases/ten.yaml'}: inputs: direct.prompt of task.yaml: '${{t}}' does not resolve"
                                 " (the case's inputs: time)")
    folder = make_task(tmp_path, case="version: 1\ninputs: {t: '10:00'}\noutputs:\n  diference: [{Equals: '+9.0h'}]\n")
    with pytest.raises(GoldenError, match=r"ten\.yaml: outputs\.diference: the direct approach declares no output 'diference'; did you mean 'difference'\?"):
        load_task(folder)


def test_the_cli_says_a_missing_prompt_in_one_line_with_exit_2(cli, tmp_path):
    folder = make_task(tmp_path, TASK.replace('  prompt: "Convert ${t} from UTC to Asia/Tokyo and give the time difference."\n', ""))
    result = cli("test", folder.parent, "--ledger", tmp_path / "l.duckdb", "--trace-dir", tmp_path / "t")
    assert result.exit_code == 2
    assert result.stderr == f"flowtape: {folder / 'task.yaml'}: direct.prompt: required when approaches lists direct (the request, a template over the case inputs)\n"


def test_the_task_schema_shows_the_direct_keys(cli):
    schema = json.loads(cli("schema", "task").stdout)
    direct = schema["$defs"]["DirectSpec"]["properties"]
    assert {"prompt", "system", "max_turns", "servers", "outputs", "protocol", "max_result_chars", "max_context_chars"} <= set(direct)
    assert direct["max_turns"]["default"] == 8


def test_the_shipped_suite_runs_direct_for_the_tasks_that_list_it():
    tasks = load_suite(ROOT / "goldens")
    units = select_units(tasks, "direct")
    listing = [t for t in tasks if "direct" in t.spec.approaches]
    # the five first tasks; the three added with the larger suite are compared with direct modelled only
    assert sorted(t.name for t in listing) == ["git-release-digest", "meeting-times", "review-triage", "shop-sales", "team-memory"]
    assert {t.name for t, _, _ in units} == {t.name for t in listing} and len(units) == sum(len(t.cases) for t in listing) == 26
    for task, case, approach in units:
        assert (ROOT / "cassettes" / task.name / f"{case.name}.direct.yaml").exists()


# -- record, then replay --------------------------------------------------------------------------


def test_a_direct_case_records_from_the_real_model_and_replays_offline(tmp_path, local_model, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    task = load_task(make_task(tmp_path))
    case = task.cases[0]
    llm = LLMSettings(api_base=local_model.api_base, api_key=local_model.api_key, note="SmolLM2-135M via llama.cpp (test)")
    recorded = run_case(task, case, cassettes=tmp_path / "cassettes", mode="all", llm=llm, evaluate=True, approach="direct")
    trace = recorded.trace
    # Whether SmolLM2 answers is up to it; either way the run completed, so it is saved.
    assert trace.status.value in ("passed", "failed"), trace.error
    assert recorded.saved and not recorded.held_back
    turns = [s for s in trace.steps if s.kind == "llm"]
    assert [s.step_id for s in turns] == [f"turn-{n}" for n in range(1, len(turns) + 1)]
    assert all(s.llm.usage_source == "provider" and s.llm.prompt_tokens > 100 and s.llm.completion_tokens > 0 for s in turns)
    assert all(s.params["protocol"] == "json-schema" for s in turns)
    calls = [s for s in trace.steps if s.kind == "mcp"]
    assert all(s.step_id.startswith("turn-") and ":time." in s.step_id for s in calls)

    tape = yaml.safe_load((tmp_path / "cassettes/tz/ten.direct.yaml").read_text())
    assert [i["step"] for i in tape["interactions"] if i["kind"] == "llm"] == [s.step_id for s in turns]
    assert tape["meta"]["llm"]["recorded_from"] == "SmolLM2-135M via llama.cpp (test)"

    # Offline: no server (its command points nowhere), no model, CI's replay-only mode.
    gone = task.spec.model_copy(update={"servers": {"time": {"command": "/nonexistent/mcp-server-time"}}})
    replay = run_case(type(task)(task.name, task.folder, gone, task.cases), case, cassettes=tmp_path / "cassettes", mode="none",
                      ci=True, evaluate=True, approach="direct")
    assert replay.live_starts == 0 and replay.unused == [] and not replay.saved
    assert replay.trace.status == trace.status and replay.trace.outputs == trace.outputs and replay.trace.error == trace.error
    assert [(s.step_id, s.action, s.output) for s in replay.trace.steps] == [(s.step_id, s.action, s.output) for s in trace.steps]
    assert [r.passed for r in replay.evaluations] == [r.passed for r in recorded.evaluations]
    assert [r.target for r in replay.evaluations] == ["outputs.difference"]  # golden outputs judge the answer

    rows = {table: [dict(zip(COLUMNS[table], r)) for r in found] for table, found in case_rows("run", replay.trace, replay.evaluations).items()}
    assert [(r["step_id"], r["prompt_tokens"], r["completion_tokens"]) for r in rows["llm_calls"]] == [
        (s.step_id, s.llm.prompt_tokens, s.llm.completion_tokens) for s in turns]
    assert [r["step_id"] for r in rows["tool_calls"]] == [s.step_id for s in calls]
    assert {(r["approach"], r["model"]) for r in rows["steps"]} == {("direct", "openai/smollm2")}


def test_a_provider_that_cannot_be_reached_holds_the_cassette_back(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    task = load_task(make_task(tmp_path))
    llm = LLMSettings(api_base="http://127.0.0.1:9/v1", api_key="sk-none", model="openai/smollm2")
    run = run_case(task, task.cases[0], cassettes=tmp_path / "cassettes", mode="all", llm=llm, approach="direct")
    assert run.trace.status.value == "error" and run.trace.error.startswith("turn 1: model call failed: LLMError: cannot reach")
    assert run.held_back and not run.saved
    assert not (tmp_path / "cassettes/tz/ten.direct.yaml").exists()
