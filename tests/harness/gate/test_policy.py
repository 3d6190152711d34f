"""The policy is found in the project's flowtape.toml or pyproject.toml (or given), and read
strictly: a malformed one is exit 2 naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.gate import Limit, Policy, PolicyError, find_policy, load_policy
from harness.gate._policy import lookup, lookup_pattern

FULL = """
[tool.flowtape.gate]
min_pass_rate = {ir = 1.0, code = 0.9}
max_tokens_per_case = {ir = 60000, "*" = 80000}
max_cost_per_case = 0.05
max_tokens_per_step = {"*" = 45000, headline = 300}
max_cost_per_step = {"call-*" = 0.01}
max_schema_tokens = {git = 1200, "*" = 2000}
required_savings = [{approach = "ir", over = "direct", at_least = 0.5}]

[tool.flowtape.gate.max_regression]
tokens = {relative = 0.10}
cost = {relative = 0.10, absolute = 0.001}
duration = {relative = 0.5, absolute = 2000}
pass_rate = {absolute = 0.0}
"""


def test_every_rule_reads_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(FULL)
    loaded = load_policy(tmp_path / "pyproject.toml")
    policy = loaded.policy
    assert loaded.section == "tool.flowtape.gate"
    assert policy.min_pass_rate == {"ir": 1.0, "code": 0.9}
    assert policy.max_cost_per_case == {"*": 0.05}  # a bare number is the default for every approach
    assert policy.max_regression and policy.max_regression.cost == Limit(absolute=0.001, relative=0.1)
    assert policy.required_savings[0].over == "direct"
    assert lookup(policy.max_tokens_per_case, "code") == ("*", 80000)
    assert lookup(policy.max_schema_tokens, "git") == ("git", 1200)


def test_the_most_specific_step_pattern_applies() -> None:
    table = {"*": 100, "call-*": 50, "call-*:git.*": 10, "log": 5}
    assert lookup_pattern(table, "log") == ("log", 5)
    assert lookup_pattern(table, "call-1:git.git_log") == ("call-*:git.*", 10)
    assert lookup_pattern(table, "call-2:llm") == ("call-*", 50)
    assert lookup_pattern(table, "counts") == ("*", 100)
    assert lookup_pattern({"call-*": 1}, "counts") is None


def test_a_regression_limit_allows_the_larger_of_absolute_and_relative() -> None:
    limit = Limit(absolute=50, relative=0.1)
    assert limit.allowed(100) == 50 and limit.allowed(1000) == 100
    assert Limit(relative=0.1).allowed(0) == 0


def test_found_in_the_project_folder_or_above(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(FULL)
    inner = tmp_path / "sub" / "dir"
    inner.mkdir(parents=True)
    found = find_policy(inner)
    assert found.source == tmp_path / "pyproject.toml" and found.policy.min_pass_rate["code"] == 0.9


def test_flowtape_toml_gate_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "flowtape.toml").write_text("[gate]\nmax_tokens_per_case = 10\n")
    found = find_policy(tmp_path)
    assert found.source == tmp_path / "flowtape.toml" and found.section == "gate"
    assert found.policy.max_tokens_per_case == {"*": 10}


def test_no_policy_means_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    found = find_policy(tmp_path)
    assert found.source is None and found.policy == Policy()
    assert "every case must pass" in found.describe()


def test_two_policies_in_one_project_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.flowtape.gate]\nmax_tokens_per_case = 10\n")
    (tmp_path / "flowtape.toml").write_text("[gate]\nmax_tokens_per_case = 10\n")
    with pytest.raises(PolicyError, match="both define a gate policy"):
        find_policy(tmp_path)


BAD = [
    pytest.param("max_token_per_case = 5", "gate.max_token_per_case: unknown key; did you mean 'max_tokens_per_case'?", id="misspelt-rule"),
    pytest.param("max_regression = {tokens = {relativ = 0.1}}", "gate.max_regression.tokens.relativ: unknown key; did you mean 'relative'?", id="misspelt-limit"),
    pytest.param("max_regression = {tokens = {}}", "gate.max_regression.tokens: give absolute and/or relative", id="empty-limit"),
    pytest.param("min_pass_rate = {ir = 1.5}", "gate.min_pass_rate.ir: Input should be less than or equal to 1", id="rate-above-1"),
    pytest.param("min_pass_rate = {irr = 1.0}", "gate.min_pass_rate: unknown approach 'irr'; did you mean 'ir'?", id="unknown-approach"),
    pytest.param('max_tokens_per_case = "5000"', "gate.max_tokens_per_case: expected a number or a table of approach = number", id="string"),
    pytest.param("max_tokens_per_step = {log = 1.5}", "gate.max_tokens_per_step.log: Input should be a valid integer", id="fractional-tokens"),
    pytest.param("max_tokens_per_case = {ir = true}", "gate.max_tokens_per_case.ir: Input should be a valid integer", id="boolean"),
    pytest.param('required_savings = [{approach = "ir", over = "ir", at_least = 0.5}]', "gate.required_savings[0]: approach and over are both 'ir'", id="savings-over-itself"),
    pytest.param('required_savings = [{approach = "ir", at_least = 0.5}]', "gate.required_savings[0].over: Field required", id="savings-missing-key"),
    pytest.param("max_cost_per_case = -1", "gate.max_cost_per_case.*: Input should be greater than or equal to 0", id="negative"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_a_malformed_policy_names_the_file_and_the_key(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "flowtape.toml"
    path.write_text(f"[gate]\n{body}\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == f"{path}: {message}"


def test_unreadable_policies(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[gate\n")
    with pytest.raises(PolicyError, match=r"broken.toml: invalid TOML: .*line 1"):
        load_policy(broken)
    other = tmp_path / "other.toml"
    other.write_text("[tool.ruff]\nline-length = 100\n")
    with pytest.raises(PolicyError, match=r"other.toml: no \[gate\] or \[tool.flowtape.gate\] table"):
        load_policy(other)


def test_the_cli_exits_2_on_a_malformed_policy(cli, ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[gate]\nmax_regression = {tokens = {relativ = 0.1}}\n")
    result = cli("gate", "--ledger", ledger, "--policy", path)
    assert result.exit_code == 2
    assert result.stderr == f"flowtape: {path}: gate.max_regression.tokens.relativ: unknown key; did you mean 'relative'?\n"
    # found in the project, the same
    (tmp_path / "pyproject.toml").write_text("[tool.flowtape.gate]\nmin_pass_rate = {ir = 2}\n")
    monkeypatch.chdir(tmp_path)
    result = cli("gate", "--ledger", ledger)
    assert result.exit_code == 2
    assert result.stderr == f"flowtape: {tmp_path / 'pyproject.toml'}: tool.flowtape.gate.min_pass_rate.ir: Input should be less than or equal to 1\n"


def test_a_savings_rule_judges_the_tasks_its_patterns_name() -> None:
    from harness.gate._policy import Savings

    every = Savings(approach="ir", over="direct", at_least=0.5)
    assert every.covers("doc-intake") and every.covers("meeting-times")
    but = Savings(approach="ir", over="direct", at_least=0.5, tasks=["*", "!doc-*"])
    assert but.covers("meeting-times") and not but.covers("doc-intake")
    only = Savings(approach="ir", over="direct", at_least=0.5, tasks=["git-*"])
    assert only.covers("git-release-digest") and not only.covers("meeting-times")
