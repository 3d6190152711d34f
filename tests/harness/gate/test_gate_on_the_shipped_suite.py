"""The gate on the shipped suite, replayed into a temporary ledger as CI runs it (the first run is
the session's replay, `shipped` in tests/harness/conftest.py): the recorded suite passes the
policy; a token regression planted in one recorded MCP result fails the gate with the exact step
named, against the recorded baseline, another ledger file and git:<commit>; an MCP server whose
schemas bloat fails it naming the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.harness.gate._app import cli as make_cli

ROOT = Path(__file__).resolve().parents[3]
POLICY = """\
[tool.flowtape.gate]
min_pass_rate = {ir = 1.0, code = 1.0, direct = 0.0}
max_tokens_per_case = 45000
max_tokens_per_step = {"*" = 40000, headline = 300}
max_schema_tokens = {"*" = 2000}
required_savings = [{approach = "ir", over = "direct", at_least = 0.5, tasks = ["*", "!doc-intake"]}]  # doc-intake calls no tool
max_regression = {tokens = {relative = 0.10}, pass_rate = {absolute = 0.0}}
"""
PLANTED = "git-release-digest/last-50 [ir] step log: tokens "


@dataclass
class Replayed:
    work: Path
    ledger: Path
    main: Path  # a copy of the ledger after the first run: main's ledger, as a CI artifact
    first: str  # run of the suite as recorded, the baseline
    second: str  # run after the planted regression, one commit later


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=folder,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def plant_token_regression(cassette: Path) -> None:
    """The recorded git_log answer grows by ~1,000 tokens of text no golden check looks at: the
    counts stay the same and the result stays under its MaxResultTokens (6,000)."""
    tape = yaml.safe_load(cassette.read_text())
    call = next(i for i in tape["interactions"] if i["kind"] == "mcp" and i["method"] == "tools/call" and i["step"] == "log")
    call["response"]["result"]["content"][0]["text"] += "\n\nnote: " + "padding " * 1000
    cassette.write_text(yaml.safe_dump(tape, sort_keys=True))


@pytest.fixture(scope="module")
def replayed(shipped, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    """A copy of the session's replay of the shipped suite (`shipped`, tests/harness/conftest.py:
    115 units under CI, committed as "one") is the first run; the gate's policy is written
    beside it, the run made the baseline, and after one commit more and a planted regression
    the whole suite is replayed again."""
    work = shipped.copy(tmp_path_factory.mktemp("gate-suite") / "work")
    (work / "pyproject.toml").write_text(POLICY)
    cli, ledger = make_cli(), work / "ledger.duckdb"
    before, saved_ci = Path.cwd(), os.environ.get("CI")
    os.environ["CI"] = "true"
    os.chdir(work)  # runs record the commit checked out here; the policy is found here
    try:
        first = shipped.run_id
        # The goldens pass under ir and code; direct (SmolLM2 calling tools itself) fails some,
        # which exits 1 and is the policy's to judge.
        assert shipped.test.exit_code == 1 and "115 cases: 93 passed, 22 failed" in shipped.test.stdout, shipped.test.output
        assert cli("gate", "--ledger", ledger, "--update-baseline").exit_code == 0
        shutil.copy(ledger, work / "main.duckdb")
        git(work, "commit", "-q", "--allow-empty", "-m", "two")
        plant_token_regression(work / "cassettes/git-release-digest/last-50.ir.yaml")
        result = cli("test", "goldens", "--cassettes", "cassettes", "--ledger", ledger, "--trace-dir", "traces", "--workers", "2",
                     "--format", "json")
        report = json.loads(result.stdout)
        failed = [u for u in report["units"] if u["status"] != "passed"]
        assert result.exit_code == (1 if failed else 0) and all(u["approach"] == "direct" for u in failed), result.output
        yield Replayed(work, ledger, work / "main.duckdb", first, report["run_id"])
    finally:
        os.chdir(before)
        if saved_ci is None:
            os.environ.pop("CI", None)
        else:
            os.environ["CI"] = saved_ci


@pytest.fixture
def cli(replayed: Replayed, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(replayed.work)
    monkeypatch.setenv("CI", "true")
    return make_cli()


def test_the_recorded_suite_passes_the_policy(cli, replayed: Replayed) -> None:
    result = cli("gate", "--ledger", replayed.ledger, "--run", replayed.first)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"flowtape gate passed · run {replayed.first} · baseline: recorded baseline, run {replayed.first} · "
                                    f"policy: {replayed.work / 'pyproject.toml'} [tool.flowtape.gate]")


def test_a_planted_token_regression_fails_naming_the_step(cli, replayed: Replayed) -> None:
    junit, summary = replayed.work / "out/gate.xml", replayed.work / "out/summary.md"
    result = cli("gate", "--ledger", replayed.ledger, "--junit", junit, "--summary", summary)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"flowtape gate failed: 2 failures · run {replayed.second} · baseline: recorded baseline, run {replayed.first}")
    # the step first (its relative growth is the largest), then its case; nothing else moved
    assert lines[1].startswith(f"  {PLANTED}") and "(max_regression.tokens); baseline 4,781 (+2" in lines[1]
    assert lines[2].startswith("  git-release-digest/last-50 [ir]: tokens ") and "baseline 4,934 (+" in lines[2]
    cases = {(c.attrib["classname"], c.attrib["name"]): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert len(cases) == 115  # 42 cases x (ir, code) + 5 doc-intake (ir) + 26 direct
    [first, _] = cases[("git-release-digest", "last-50 [ir]")].findall("failure")
    assert first.attrib["message"].startswith(PLANTED) and first.attrib["type"] == "max_regression.tokens"
    assert sum(1 for c in cases.values() if c.find("failure") is not None) == 1
    text = summary.read_text()
    assert text.startswith("## ❌ flowtape gate failed: 2 failures\n")
    assert "| 1 | git-release-digest | last-50 | ir | `log` | tokens | " in text


@pytest.mark.parametrize("ref", ["main.duckdb", "git:HEAD~1"])
def test_the_same_regression_against_another_ledger_or_a_git_commit(cli, replayed: Replayed, ref: str) -> None:
    result = cli("gate", "--ledger", replayed.ledger, "--baseline", ref)
    assert result.exit_code == 1, result.output
    assert f"run {replayed.first}" in result.stdout.splitlines()[0]
    assert result.stdout.splitlines()[1].startswith(f"  {PLANTED}")


def test_a_bloated_mcp_schema_fails_naming_the_server(cli, replayed: Replayed) -> None:
    bloated = replayed.work / "bloated"
    shutil.copytree(replayed.work / "cassettes", bloated)
    for cassette in (bloated / "meeting-times").glob("*.yaml"):
        tape = yaml.safe_load(cassette.read_text())
        listing = next(i for i in tape["interactions"] if i["method"] == "tools/list")
        for tool in listing["response"]["result"]["tools"]:
            tool["description"] += " Remember to always double-check the timezone." * 200
        cassette.write_text(yaml.safe_dump(tape, sort_keys=True))
    result = cli("gate", "--ledger", replayed.ledger, "--run", replayed.first, "--cassettes", bloated)
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.stdout.splitlines() if line.startswith("  server")]
    assert line.startswith('  server time: schema_tokens ') and '> 2,000 (max_schema_tokens."*"); baseline 261 (+' in line
