"""The baseline: recorded in the ledger by --update-baseline, or named by --baseline as a run id,
another ledger file, or git:<commit>."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.accounting import query
from harness.gate import GateError, Policy, gate, recorded_baseline, update_baseline
from tests.harness.gate._ledgers import ROOT, specs, write_run

REGRESSION = {"max_regression": {"tokens": {"relative": 0.1}}}
BIGGER = {"lisbon-tokyo/ir": {"tool_tokens": 2000}}


def policy_file(tmp_path: Path, text: str = "[gate]\nmax_regression = {tokens = {relative = 0.1}}\n") -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_update_baseline_records_the_latest_run_and_exits_0(cli, ledger: Path, tmp_path: Path) -> None:
    write_run(ledger, "now", specs(**BIGGER))
    policy = policy_file(tmp_path)
    first = cli("gate", "--ledger", ledger, "--policy", policy)
    assert first.exit_code == 0 and "no baseline: max_regression not checked" in first.stdout
    result = cli("gate", "--ledger", ledger, "--update-baseline", "--run", "base")
    assert result.exit_code == 0 and result.stdout == f"flowtape gate: baseline of {ledger} is now run base\n"
    assert recorded_baseline(ledger) == "base"
    # the schema sizes of the run's cassettes are kept with it
    _, rows = query(ledger, "SELECT run_id, schema_tokens FROM gate_baseline")
    assert rows == [("base", '{"time": 261}')]
    failed = cli("gate", "--ledger", ledger, "--policy", policy)
    assert failed.exit_code == 1
    assert "baseline: recorded baseline, run base" in failed.stdout
    assert "meeting-times/lisbon-tokyo [ir] step convert: tokens 2,000 > 1,100 (max_regression.tokens); baseline 1,000 (+100.0%)" in failed.stdout
    # setting the new run as the baseline accepts it: the gate passes again
    assert cli("gate", "--ledger", ledger, "--update-baseline").exit_code == 0
    assert recorded_baseline(ledger) == "now"
    assert cli("gate", "--ledger", ledger, "--policy", policy).exit_code == 0


def test_baseline_by_run_id(ledger: Path) -> None:
    write_run(ledger, "now", specs(**BIGGER))
    result = gate(ledger, None, baseline="base")
    assert result.baseline_ref and result.baseline_ref.how == "run base"
    assert len(gate(ledger, Policy.model_validate(REGRESSION), baseline="base").failures) == 2


def test_baseline_from_another_ledger_file(ledger: Path, tmp_path: Path) -> None:
    main = tmp_path / "main.duckdb"
    shutil.copy(ledger, main)  # main's ledger, e.g. a CI artifact: its latest run is the baseline
    write_run(ledger, "now", specs(**BIGGER))
    result = gate(ledger, Policy.model_validate(REGRESSION), baseline=str(main))
    assert result.baseline_ref and (result.baseline_ref.ledger, result.baseline_ref.run_id) == (main, "base")
    assert [f.step for f in result.failures] == ["convert", None]


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=folder,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_baseline_by_git_commit(ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "one")
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    second = git(repo, "rev-parse", "HEAD")
    write_run(ledger, "at-first", specs(), commit=first)
    write_run(ledger, "at-second", specs(**BIGGER), commit=second)
    monkeypatch.chdir(repo)
    rules = Policy.model_validate(REGRESSION)
    for ref in ("HEAD~1", first, first[:8]):
        result = gate(ledger, rules, baseline=f"git:{ref}")
        assert result.baseline_ref and result.baseline_ref.run_id == "at-first", ref
        assert [f.step for f in result.failures] == ["convert", None]
    # the run being judged is never its own baseline
    with pytest.raises(GateError, match=r"git:HEAD: no run at commit"):
        gate(ledger, rules, baseline="git:HEAD")


@pytest.mark.parametrize(("ref", "message"), [
    ("nope", "--baseline nope: not a run of {ledger}, a ledger file, or git:<commit>"),
    ("git:not-a-ref", "--baseline git:not-a-ref: git does not know that commit here"),
    ("git:abcdef12", "--baseline git:abcdef12: no run at commit abcdef12 in {ledger}"),
])
def test_a_baseline_that_names_nothing_is_exit_2(cli, ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)  # not a git repository (and no policy: the defaults, allowed)
    result = cli("gate", "--ledger", ledger, "--baseline", ref, "--allow-no-policy")
    assert result.exit_code == 2
    assert result.stderr == f"flowtape: {message.format(ledger=ledger)}\n"


def test_bad_ledgers_and_runs_are_exit_2(cli, ledger: Path, tmp_path: Path) -> None:
    none = tmp_path / "none.duckdb"
    assert cli("gate", "--ledger", none).stderr == f"flowtape: {none}: no such ledger (flowtape test writes it)\n"
    assert cli("gate", "--ledger", ledger, "--run", "nope").stderr == f"flowtape: {ledger}: no run nope\n"
    assert cli("gate", "--ledger", none, "--update-baseline").exit_code == 2
    assert cli("gate", "--ledger", ledger, "--update-baseline", "--baseline", "base").exit_code == 2
    write_run(ledger, "broken", specs()[:1], status="interrupted")
    result = cli("gate", "--ledger", ledger, "--update-baseline")
    assert result.exit_code == 2 and "run broken is interrupted; a baseline must be a completed run" in result.stderr
    assert update_baseline(ledger, "base", cassettes=ROOT / "cassettes") == "base"
