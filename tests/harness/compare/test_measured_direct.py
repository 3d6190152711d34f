"""`flowtape compare` sets the modelled direct figure beside the measured direct run: the tokens
that run really sent and wrote (recounted from its cassette with the orchestrator's tokenizer),
the provider's usage, and the model's relative error."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.accounting import count_tokens
from harness.compare._account import MESSAGE_OVERHEAD, LoadedRun, _Case, measured_direct
from harness.compare._report import CaseFigures
from runner.trace import LLMUsage, RunStatus, StepRecord, Trace

ROOT = Path(__file__).resolve().parents[3]


def test_the_model_error_is_modelled_over_measured_minus_one() -> None:
    f = CaseFigures("t", "c", "direct", per_run_tokens=150, measured_input=90, measured_output=10)
    assert f.model_error == 0.5  # 150 / (90 + 10) - 1
    assert CaseFigures("t", "c", "direct", per_run_tokens=150).model_error is None  # no measured run


def test_measured_direct_recounts_what_the_cassette_sent_and_sums_the_providers_usage(tmp_path: Path) -> None:
    tape = {"version": 1, "meta": {}, "interactions": [
        {"kind": "llm", "server": "m", "step": "turn-1", "method": "POST /v1/chat/completions",
         "request": {"model": "m", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]},
         "response": {"status": 200, "headers": {}, "body": {"choices": [{"message": {"role": "assistant", "content": "hi"}}]}}},
    ]}
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "c.direct.yaml").write_text(yaml.safe_dump(tape))
    steps = [StepRecord(step_id="turn-1", kind="llm", node_type="llm", llm=LLMUsage(model="m", prompt_tokens=30, completion_tokens=2))]
    trace = Trace(run_id="r", task="t", case="c", approach="direct", workflow_hash="", status=RunStatus.FAILED, steps=steps)
    run = LoadedRun("r", (_Case("t", "c", {"direct": trace}, {}, {}, {}),), model="m")
    [(task, case, turns, p_in, p_out, r_in, r_out, tokenizer, model)] = measured_direct(run, tmp_path)
    assert model == "m"  # the run's model, a key of the row
    # two messages: each content's tokens + the per-message overhead; the reply's tokens
    expected_in = count_tokens("be brief") + count_tokens("hello there") + 2 * MESSAGE_OVERHEAD
    assert (task, case, turns, p_in, p_out, r_in, r_out, tokenizer) == ("t", "c", 1, 30, 2, expected_in, count_tokens("hi"), "o200k_base")


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Callable[..., Any]]:
    """meeting-times and its cassettes copied, then `flowtape compare --format json` (which
    replays it) once for the tests below: (the copy, the report, the CLI)."""
    from typer.testing import CliRunner

    from harness._cli.main import app

    work = tmp_path_factory.mktemp("measured-direct")
    for folder in ("goldens", "cassettes"):
        shutil.copytree(ROOT / folder / "meeting-times", work / folder / "meeting-times")
    runner = CliRunner()
    cli = lambda *args: runner.invoke(app, [str(a) for a in args])  # noqa: E731
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CI", raising=False)
        result = cli("compare", work / "goldens", *paths(work), "--sweep-system-tokens", "off", "--format", "json")
    assert result.exit_code == 0, result.output
    return work, json.loads(result.stdout), cli


def paths(work: Path) -> tuple[Path | str, ...]:
    return ("--cassettes", work / "cassettes", "--ledger", work / "l.duckdb", "--trace-dir", work / "traces")


def test_compare_prints_the_modelled_direct_beside_the_measured_runs(compared) -> None:
    work, report, cli = compared
    table = cli("compare", work / "goldens", "--run", report["run_id"], *paths(work), "--sweep-system-tokens", "off")
    assert table.exit_code == 0, table.output
    assert "direct, modelled beside the measured runs:" in table.stdout
    direct = [c for c in report["cases"] if c["approach"] == "direct"]
    cases = sorted(p.stem for p in (work / "goldens/meeting-times/cases").glob("*.yaml"))
    assert sorted(c["case"] for c in direct if c["measured_turns"] is not None) == cases  # every case ran for real
    for c in direct:
        assert c["measured_input"] > 0 and c["provider_input"] > 0
        assert c["model_error"] == c["per_run_tokens"] / (c["measured_input"] + c["measured_output"]) - 1
    assert any(n.startswith(f"direct: run for real on {len(cases)} case(s)") for n in report["notes"])


def test_compare_sets_recorded_authoring_beside_the_modelled_authoring(compared) -> None:
    work, report, _ = compared
    rows = {(a["approach"], a["model"]): a for a in report["authoring"]}
    assert set(rows) == {("ir", "smollm2"), ("code", "smollm2")}  # the two recorded `flowtape author` runs
    for (approach, model), row in rows.items():
        tape = yaml.safe_load((work / "cassettes/meeting-times/authored" / f"{model}.{approach}.yaml").read_text())
        turns = [i for i in tape["interactions"] if i["kind"] == "llm"]
        assert row["turns"] == len(turns) and row["valid"] is False  # SmolLM2 did not author the task
        assert row["provider_input"] == sum(i["response"]["body"]["usage"]["prompt_tokens"] for i in turns)
        modelled = [c["authoring_tokens"] for c in report["cases"] if c["approach"] == approach]
        assert row["modelled_tokens"] == sum(modelled) / len(modelled)
        assert row["model_error"] == row["modelled_tokens"] / (row["measured_input"] + row["measured_output"]) - 1
