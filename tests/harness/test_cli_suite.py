"""`flowtape test`, `rescore`, `compare`, `schema` and `ledger` on the shipped suite, as CI runs them. The tests of the
whole suite judge the session's one replay of it (`shipped`, tests/harness/conftest.py)."""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness._cli.main import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setenv("CI", "true")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def suite(tmp_path):
    """A copy of the shipped suite and its cassettes, free to break."""
    shutil.copytree(ROOT / "goldens", tmp_path / "goldens")
    shutil.copytree(ROOT / "cassettes", tmp_path / "cassettes")
    return tmp_path


def run_test(cli, suite, *args):
    return cli("test", suite / "goldens", "--cassettes", suite / "cassettes", "--ledger", suite / "ledger.duckdb",
               "--trace-dir", suite / "traces", *args)


def test_the_shipped_suite_passes_offline_and_lands_in_the_ledger(cli, shipped):
    result = shipped.test  # the whole suite under CI, replayed once per session (tests/harness/conftest.py)
    # ir and code pass every case (doc-intake lists ir only); direct (SmolLM2-135M calling the tools
    # itself, recorded) passes 4 of its 26 cases, so the run exits 1 and the gate's min_pass_rate judges it.
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["task", "case", "approach", "status", "failed", "checks"]
    rows = [line.split() for line in lines[2:117]]
    assert [(r[2], r[3]) for r in rows].count(("ir", "passed")) == 47 and [(r[2], r[3]) for r in rows].count(("code", "passed")) == 42
    assert sorted(f"{r[0]}/{r[1]}" for r in rows if r[2] == "direct" and r[3] == "passed") == [
        "git-release-digest/last-50", "review-triage/latest-pair", "review-triage/mixed-pair", "review-triage/two-reviews"]
    assert "115 cases: 93 passed, 22 failed" in lines[-1]  # 42 x (ir, code) + 5 doc-intake (ir) + 26 direct (the five tasks that list it)
    assert "[115/115]" in result.stderr  # progress, one line per case
    assert result.stderr.splitlines()[0] == f"flowtape test: 115 cases, 4 workers, run {shipped.run_id}"  # at once, before any case ends
    query = cli("ledger", "query", "SELECT count(*) AS n, sum(passed::int) AS ok FROM evaluations WHERE approach <> 'direct'",
                "--ledger", shipped.ledger)
    n, ok = query.stdout.splitlines()[-1].split()
    assert int(n) == int(ok) > 30
    turns = cli("ledger", "query", "SELECT count(*), min(usage_source) FROM llm_calls WHERE approach = 'direct'", "--ledger", shipped.ledger)
    assert turns.stdout.splitlines()[-1].split() == ["70", "provider"]  # every turn of the 26 direct runs, measured


def test_a_planted_regression_fails_naming_task_case_approach_step_and_evaluator(cli, suite):
    # The model's reply for the headline step now "used" 500 completion tokens: over its budget.
    path = suite / "cassettes/git-release-digest/full-history.ir.yaml"
    tape = yaml.safe_load(path.read_text())
    llm = next(i for i in tape["interactions"] if i["kind"] == "llm")
    llm["response"]["body"]["usage"]["completion_tokens"] = 500
    path.write_text(yaml.safe_dump(tape, sort_keys=True))
    result = run_test(cli, suite, "--task", "git-release-digest", "--approach", "ir", "--approach", "code")
    assert result.exit_code == 1
    assert "git-release-digest/full-history [ir] steps.headline MaxCompletionTokens: " in result.stdout
    assert "500" in result.stdout and "120" in result.stdout
    assert "10 cases: 9 passed, 1 failed" in result.stdout


def test_rescore_judges_stored_traces_with_the_current_goldens(cli, suite):
    assert run_test(cli, suite, "--task", "meeting-times", "--approach", "ir", "--approach", "code").exit_code == 0
    case = suite / "goldens/meeting-times/cases/lisbon-tokyo.yaml"
    case.write_text(case.read_text().replace('difference: [{Equals: "+9.0h"}]', 'difference: [{Equals: "+8.0h"}]'))
    result = cli("rescore", suite / "goldens", "--ledger", suite / "ledger.duckdb", "--trace-dir", suite / "traces", "--cassettes", suite / "cassettes")
    assert result.exit_code == 1, result.output
    assert "meeting-times/lisbon-tokyo [ir] outputs.difference Equals: " in result.stdout
    runs = cli("ledger", "query", "SELECT count(*) FROM runs", "--ledger", suite / "ledger.duckdb")
    assert runs.stdout.splitlines()[-1].strip() == "2"


def test_bad_goldens_are_exit_2_naming_file_and_key(cli, suite):
    case = suite / "goldens/meeting-times/cases/lisbon-tokyo.yaml"
    case.write_text(case.read_text().replace("convert:", "convret:"))
    result = run_test(cli, suite)
    assert result.exit_code == 2
    assert result.stderr == f"flowtape: {case}: steps.convret: the workflow has no node 'convret'; did you mean 'convert'?\n"
    case.write_text(case.read_text().replace("convret:", "convert:").replace("StepRan", "StepRun"))
    result = run_test(cli, suite)
    assert result.exit_code == 2 and f"flowtape: {case}: steps.now[0]: " in result.stderr and "StepRan" in result.stderr


def test_schema_golden_is_a_json_schema_editors_can_use(cli):
    schema = json.loads(cli("schema", "golden").stdout)
    assert schema["title"] == "flowtape golden case" and schema["additionalProperties"] is False
    entries = schema["properties"]["steps"]["additionalProperties"]["items"]
    assert "MaxResultTokens" in json.dumps(entries) and "LLMJudge" in json.dumps(entries)
    assert json.loads(cli("schema", "task").stdout)["title"] == "flowtape task"


def test_ledger_export_writes_parquet(cli, suite):
    run_test(cli, suite, "--task", "team-memory")
    result = cli("ledger", "export", "--parquet", suite / "pq", "--ledger", suite / "ledger.duckdb")
    assert result.exit_code == 0
    assert {p.name for p in (suite / "pq").glob("*.parquet")} >= {"runs.parquet", "cases.parquet", "tool_calls.parquet", "evaluations.parquet"}
    assert cli("ledger", "query", "SELECT 1", "--ledger", suite / "none.duckdb").exit_code == 2


def test_four_workers_lose_nothing(cli, shipped):
    result = shipped.test  # run with --workers 4 on this 2-core machine
    assert result.stderr.startswith("flowtape test: 115 cases, 4 workers, ")
    assert result.exit_code == 1 and "115 cases: 93 passed, 22 failed" in result.stdout, result.output  # direct fails 22
    counts = cli("ledger", "query", "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM steps), (SELECT count(*) FROM tool_calls), "
                 "(SELECT count(*) FROM llm_calls), (SELECT count(*) FROM evaluations)", "--ledger", shipped.ledger)
    # Counted from the suite's files and the direct cassettes: 42 cases x (ir, code) + 26 direct,
    # + doc-intake's 5 cases under ir (below).
    # Per task (action-items, changelog-export, git-release-digest, meeting-times, review-triage,
    # shop-sales, standup-brief, team-memory) with its cases (7, 4, 5, 8, 3, 6, 5, 4):
    # - steps, ir (nodes x cases): 4x7 + 4x4 + 3x5 + 3x8 + 5x3 + 3x6 + 4x5 + 4x4 = 152; code (tool and
    #   model calls, meeting-times' two discovery reads, a stdout step): 4x7 + 4x4 + 3x5 + 5x8 + 6x3 +
    #   4x6 + 3x5 + 5x4 = 176; direct: the 70 model turns and 26 tool calls its cassettes hold = 96;
    # - MCP calls per approach 3x7 + 3x4 + 1x5 + 2x8 + 3x3 + 3x6 + 2x5 + 4x4 = 107, direct 26;
    #   llm calls 5 + 6 = 11 per approach, direct 70 turns;
    # - evaluator entries, ir (steps and outputs) 42 + 28 + 32 + 36 + 31 + 20 + 25 + 13 = 227; code
    #   (outputs and code_steps) 28 + 9 + 5 + 26 + 6 + 11 + 20 + 8 = 113; direct (outputs of the five
    #   tasks that list it) 5 + 20 + 6 + 11 + 8 = 50.
    # - doc-intake (ir only, no MCP server): 4 steps in each case that reaches review (classify,
    #   by_class, an extractor, check) and 3 in receipt-books = 19; one llm_calls row per llm step
    #   (a step's contract retries are summed into its row) = 10; evaluator entries
    #   11 + 9 + 8 + 8 + 9 = 45.
    assert [int(n) for n in counts.stdout.splitlines()[-1].split()] == [115, 443, 240, 102, 435]


def test_compare_accounts_the_whole_shipped_suite(cli, shipped):
    report = shipped.compare  # `flowtape compare --run` of the session's replay, as --format json
    assert report["run_id"] == shipped.run_id
    text = json.dumps(report)
    for task in ("git-release-digest", "meeting-times", "review-triage", "shop-sales", "team-memory", "changelog-export",
                 "action-items", "standup-brief"):
        assert task in text
    # meeting-times (two small results): ir wins at the default 400-token system prompt (where that flips: below)
    ir = next(s for s in report["summaries"] if s["task"] == "meeting-times" and s["approach"] == "ir")
    assert ir["wins"]
    # per task no pair has 10 cases; over all 42 the interval is given
    assert all(p["interval"].startswith("n too small") for p in report["pairs"] if p["task"] is not None)
    overall = {(p["first"], p["second"]): p for p in report["pairs"] if p["task"] is None}
    low, high = overall["code", "ir"]["interval"]
    assert overall["code", "ir"]["tokens_n"] == 42 and 0 < low <= overall["code", "ir"]["tokens_mean"] <= high
    savings = cli("ledger", "query", "SELECT count(*) FROM savings_per_tool_call WHERE approach = 'ir'", "--ledger", shipped.ledger)
    assert int(savings.stdout.splitlines()[-1]) == 107  # every recorded MCP call of the ir approach


def test_compare_runs_offline_on_the_committed_cassettes(cli, suite):
    # Without --run, compare replays the suite itself: here one task, under CI (nothing may record).
    args = ("--cassettes", suite / "cassettes", "--ledger", suite / "ledger.duckdb", "--trace-dir", suite / "traces")
    result = cli("compare", suite / "goldens", "--task", "meeting-times", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {s["task"] for s in report["summaries"]} == {"meeting-times", None}
    runs = cli("ledger", "query", "SELECT count(*) FROM cases", "--ledger", suite / "ledger.duckdb")
    assert int(runs.stdout.splitlines()[-1]) == 24  # its 8 cases replayed under ir, code and direct
    # ir wins at the default 400-token system prompt, but not below ~367: the sweep says so
    ir = next(s for s in report["summaries"] if s["task"] == "meeting-times" and s["approach"] == "ir")
    assert ir["wins"] and any(d.startswith("depends on system prompt size (flips at ~") for d in ir["depends_on"])
    markdown = cli("compare", suite / "goldens", "--run", report["run_id"], *args,
                   "--format", "markdown", "--system-tokens", "200", "--sweep-system-tokens", "off")
    assert markdown.exit_code == 0 and markdown.stdout.startswith("## Approaches") and re.search(r"\| meeting-times +\| lisbon-tokyo +\| ir ", markdown.stdout)
    losing = next(line for line in markdown.stdout.splitlines() if line.startswith("- meeting-times: direct does not win"))
    assert "| ir does not win: direct is cheaper on cost for a single run" in losing  # at a 200-token system prompt


def test_a_unit_that_cannot_run_is_an_error_in_the_table_and_the_ledger(cli, suite):
    (suite / "cassettes/team-memory/skylark.code.yaml").write_text("version: 1\ninteractions: [\n")
    result = run_test(cli, suite, "--task", "team-memory")
    assert result.exit_code == 2  # a unit that cannot run is bad input
    assert "team-memory/skylark [code]: " in result.stdout and "corrupt cassette" in result.stdout
    rows = cli("ledger", "query", "SELECT approach, status FROM cases WHERE \"case\" = 'skylark' ORDER BY approach", "--ledger", suite / "ledger.duckdb")
    assert [line.split() for line in rows.stdout.splitlines()[2:]] == [["code", "error"], ["direct", "failed"], ["ir", "passed"]]
    others = cli("ledger", "query", "SELECT count(*) FROM cases WHERE \"case\" <> 'skylark' AND status = 'passed'", "--ledger", suite / "ledger.duckdb")
    assert int(others.stdout.splitlines()[-1]) == 6  # the task's other three cases x (ir, code); direct fails them all
