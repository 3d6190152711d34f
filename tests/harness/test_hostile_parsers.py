"""Hostile input to every harness parser (golden case files, task.yaml, cassettes, the gate
policy, the ledger's SQL) is one clear line naming the file and the place, exit 2, no
traceback -- and it is refused before it can take minutes or gigabytes."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from click.testing import CliRunner

from harness._cli.main import app
from harness.cassettes import Cassette, CassetteError
from harness.gate import PolicyError, find_policy, load_policy
from harness.goldens import GoldenError, load_task

ROOT = Path(__file__).resolve().parents[2]
TASK = "meeting-times"
CASE = "lisbon-tokyo"


def bomb(levels: int = 9, width: int = 9, indent: str = "") -> str:
    """A "billion laughs" YAML: ~500 bytes that expand to width**levels strings."""
    lines = [f"{indent}l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """One shipped task and its cassettes, free to break."""
    shutil.copytree(ROOT / "goldens" / TASK, tmp_path / "goldens" / TASK)
    shutil.copytree(ROOT / "cassettes" / TASK, tmp_path / "cassettes" / TASK)
    return tmp_path


COMMAND = typer.main.get_command(app)  # built once: typer rebuilds it on every invoke of the app


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CI", "true")
    runner = CliRunner()
    return lambda *args: runner.invoke(COMMAND, [str(a) for a in args])


def run_test(cli, suite: Path, *args):
    return cli("test", suite / "goldens", "--cassettes", suite / "cassettes", "--ledger", suite / "ledger.duckdb",
               "--trace-dir", suite / "traces", *args)


def one_clean_line(result, code: int = 2) -> str:
    """The single stderr line of a failed command, checked to carry no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _limit_memory() -> None:
    # A bomb that is not refused must die here, not take the machine's memory.
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def flowtape(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, capped at 20 s and 3 GB, so a parser that does expand a bomb
    fails this test quickly instead of hanging the suite."""
    env = {**os.environ, "CI": "true"}
    try:
        return subprocess.run([sys.executable, "-m", "harness._cli.main", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=20, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"flowtape {' '.join(map(str, args))} still running after 20 s")


# -- YAML aliases: refused before anything expands them ------------------------------------------

def test_an_alias_bomb_in_a_case_file_is_refused_at_once(suite: Path) -> None:
    case = suite / "goldens" / TASK / "cases" / f"{CASE}.yaml"
    case.write_text("version: 1\ninputs:\n" + bomb(indent="  ") + "  home: *l8\n  away: Asia/Tokyo\n  time: '09:30'\n")
    assert len(case.read_bytes()) < 600
    done = flowtape("test", "goldens", "--ledger", "ledger.duckdb", "--trace-dir", "traces", cwd=suite)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"flowtape: goldens/{TASK}/cases/{CASE}.yaml:4:12: YAML aliases are not allowed (*l0 refers to &l0 at line 3); write the value out"]


def test_an_alias_bomb_in_a_cassette_is_refused_at_once(suite: Path) -> None:
    tape = suite / "cassettes" / TASK / f"{CASE}.ir.yaml"
    text = tape.read_text()
    request = "  request:\n    arguments:\n      timezone: Europe/Lisbon\n"
    assert request in text
    tape.write_text(text.replace(request, "  request:\n    arguments:\n" + bomb(indent="      ") + "      timezone: *l8\n", 1))
    line = text[: text.index(request)].count("\n") + 4  # the line of l1, the first alias
    done = flowtape("test", "goldens", "--ledger", "ledger.duckdb", "--trace-dir", "traces", "--case", CASE, "--approach", "ir", cwd=suite)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert f"cassettes/{TASK}/{CASE}.ir.yaml:{line}:16: corrupt cassette (YAML aliases are not allowed (*l0 refers to &l0 at line {line - 1})" in done.stdout


@pytest.mark.parametrize("text", [
    pytest.param("version: 1\ninputs: &in {home: Europe/Lisbon}\ndescription: *in\n", id="alias"),
    pytest.param("version: 1\ninputs: {home: &h Europe/Lisbon, away: *h, time: '09:30'}\n", id="scalar-alias"),
    pytest.param("version: 1\ninputs: &loop {home: [*loop]}\n", id="alias-loop"),
    pytest.param("version: 1\ninputs:\n  <<: {home: x}\n", id="merge-key"),
])
def test_aliases_in_golden_case_files_are_refused(suite: Path, text: str) -> None:
    (suite / "goldens" / TASK / "cases" / f"{CASE}.yaml").write_text(text)
    with pytest.raises(GoldenError, match=rf"{CASE}\.yaml:\d+:\d+: YAML (aliases|merge keys \(<<\)) are not allowed"):
        load_task(suite / "goldens" / TASK)


def test_aliases_in_task_yaml_are_refused(suite: Path) -> None:
    path = suite / "goldens" / TASK / "task.yaml"
    path.write_text(path.read_text().replace("args: [--local-timezone, UTC]", "args: &a [--local-timezone, UTC]\n    env: {X: *a}"))
    with pytest.raises(GoldenError, match=r"task\.yaml:10:14: YAML aliases are not allowed \(\*a refers to &a at line 9\)"):
        load_task(suite / "goldens" / TASK)


def test_an_alias_loop_in_a_cassette_is_refused(tmp_path: Path) -> None:
    tape = tmp_path / "loop.yaml"
    tape.write_text("version: 1\ninteractions:\n- {kind: mcp, server: s, method: m, request: &r [*r]}\n")
    with pytest.raises(CassetteError, match=r"loop\.yaml:3:\d+: corrupt cassette \(YAML aliases are not allowed"):
        Cassette.open(tape, "none")


# -- values YAML has and JSON does not --------------------------------------------------------

def test_an_unquoted_date_in_a_cassette_request_is_its_text(tmp_path: Path) -> None:
    tape = tmp_path / "date.yaml"
    tape.write_text("version: 1\ninteractions:\n- {kind: mcp, server: s, step: a, method: m, request: {since: 2024-01-01, at: 2024-01-01 10:00:00}, response: {ok: 1}}\n")
    replay = Cassette.open(tape, "none")
    assert replay.interactions[0].request == {"since": "2024-01-01", "at": "2024-01-01 10:00:00"}
    assert replay.lookup("mcp", "s", "a", "m", {"since": "2024-01-01", "at": "2024-01-01 10:00:00"}).response == {"ok": 1}


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("cassettes/*/*.yaml"), *ROOT.glob("goldens/**/*.yaml")]))
def test_every_shipped_file_reads_as_before(path: str) -> None:
    from harness._readers import load_yaml

    text = (ROOT / path).read_text()
    assert load_yaml(text) == yaml.safe_load(text)


def test_mapping_keys_are_their_text(tmp_path: Path) -> None:
    """JSON keys are strings: `1:`, `true:` and `null:` are read as written, so keys of mixed
    types cannot break sorting them (json.dumps(sort_keys=True) raised a TypeError)."""
    tape = tmp_path / "keys.yaml"
    tape.write_text("version: 1\ninteractions:\n- {kind: mcp, server: s, step: a, method: m, request: {1: a, b: c, true: d, null: e, yes: f}}\n")
    assert Cassette.open(tape, "none").interactions[0].request == {"1": "a", "b": "c", "true": "d", "null": "e", "yes": "f"}


@pytest.mark.parametrize(("value", "tag"), [("!!binary aGk=", "binary"), ("!!set {a}", "set"), ("!!omap [{a: 1}]", "omap")])
def test_yaml_types_json_lacks_are_refused(tmp_path: Path, value: str, tag: str) -> None:
    tape = tmp_path / "types.yaml"
    tape.write_text(f"version: 1\ninteractions:\n- kind: mcp\n  server: s\n  method: m\n  request: {value}\n")
    with pytest.raises(CassetteError, match=rf"types\.yaml:6:12: corrupt cassette \(YAML type !!{tag} is not allowed"):
        Cassette.open(tape, "none")


def test_a_number_too_long_for_python_is_refused(tmp_path: Path) -> None:
    digits = "1" * 5000  # Python refuses int() of more than 4,300 digits, with a plain ValueError
    (tmp_path / "long.yaml").write_text(f"version: 1\ninteractions:\n- {{kind: mcp, server: s, method: m, request: {digits}}}\n")
    with pytest.raises(CassetteError, match=r"long\.yaml:3:\d+: corrupt cassette \(a number of 5000 digits is too long"):
        Cassette.open(tmp_path / "long.yaml", "none")
    (tmp_path / "long.json").write_text(f'{{"version": 1, "interactions": [\n{{"request": {digits}}}]}}')
    with pytest.raises(CassetteError, match=r"long\.json:2:13: corrupt cassette \(a number of 5000 digits is too long"):
        Cassette.open(tmp_path / "long.json", "none")
    (tmp_path / "flowtape.toml").write_text(f"[gate]\nmax_tokens_per_case = {digits}\n")
    with pytest.raises(PolicyError, match=r"flowtape\.toml:2:23: a number of 5000 digits is too long"):
        load_policy(tmp_path / "flowtape.toml")


# -- encodings, duplicate keys, truncation --------------------------------------------------------

@pytest.mark.parametrize("file", ["task.yaml", f"cases/{CASE}.yaml"])
def test_invalid_utf8_in_a_golden_file_names_the_line(suite: Path, cli, file: str) -> None:
    path = suite / "goldens" / TASK / file
    path.write_bytes(path.read_bytes().replace(b"version: 1\n", b"version: 1\n# caf\xe9\n", 1))
    with pytest.raises(GoldenError, match=rf"{file.split('/')[-1]}:2:6: not UTF-8 \(byte 0xe9\)"):
        load_task(suite / "goldens" / TASK)
    assert "not UTF-8" in one_clean_line(run_test(cli, suite))


@pytest.mark.parametrize(("file", "old", "new", "where"), [
    ("task.yaml", "normalize:", "description: again\nnormalize:", "task.yaml:10:1: duplicate key 'description'"),
    (f"cases/{CASE}.yaml", "steps:", "version: 1\nsteps:", f"{CASE}.yaml:3:1: duplicate key 'version'"),
    (f"cases/{CASE}.yaml", "away: Asia/Tokyo", "away: Asia/Tokyo, away: Asia/Seoul", f"{CASE}.yaml:2:49: duplicate key 'away'"),
])
def test_duplicate_keys_in_golden_files_name_the_key(suite: Path, file: str, old: str, new: str, where: str) -> None:
    path = suite / "goldens" / TASK / file
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(GoldenError) as err:
        load_task(suite / "goldens" / TASK)
    assert str(err.value).endswith(where)


def test_duplicate_keys_in_cassettes_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text("version: 1\ninteractions:\n- kind: mcp\n  server: s\n  server: t\n  method: m\n")
    with pytest.raises(CassetteError, match=r"dup\.yaml:5:3: corrupt cassette \(duplicate key 'server'\)"):
        Cassette.open(tmp_path / "dup.yaml", "none")
    (tmp_path / "dup.json").write_text('{"version": 1,\n "interactions": [{"kind": "mcp", "server": "s", "method": "m",\n  "request": {"a": 1, "a": 2}}]}')
    with pytest.raises(CassetteError, match=r"dup\.json:3:\d+: corrupt cassette \(duplicate key 'a'\)"):
        Cassette.open(tmp_path / "dup.json", "none")


def test_a_truncated_cassette_names_its_line(tmp_path: Path) -> None:
    whole = (ROOT / "cassettes" / TASK / f"{CASE}.ir.yaml").read_text().splitlines(keepends=True)
    assert whole[-1].startswith("version:")  # keys are sorted: the version comes last
    tape = tmp_path / "cut.yaml"
    for cut in (40, 27):  # in an interaction's response; right after a "- kind:" line
        tape.write_text("".join(whole[:cut]))
        with pytest.raises(CassetteError) as err:
            Cassette.open(tape, "none")
        assert str(err.value) == f"{tape}:{cut}: corrupt cassette: no 'version' key by its last line (truncated?)"
    tape.write_text("".join(whole[:27]) + whole[-1])
    with pytest.raises(CassetteError, match=r"cut\.yaml:27:3: corrupt cassette at \$\.interactions\[1\]\.server: Field required"):
        Cassette.open(tape, "none")


# -- nesting depth ------------------------------------------------------------------------------

def test_a_deeply_nested_json_cassette_is_refused(tmp_path: Path) -> None:
    tape = tmp_path / "deep.json"
    tape.write_text('{"version": 1, "interactions": [{"kind": "mcp", "server": "s", "method": "m", "request":\n' + "[" * 1000 + "]" * 1000 + "}]}")
    with pytest.raises(CassetteError, match=r"deep\.json:2:\d+: corrupt cassette \(nested deeper than 100 levels\)"):
        Cassette.open(tape, "none")


def test_a_deeply_nested_yaml_cassette_is_refused(tmp_path: Path) -> None:
    tape = tmp_path / "deep.yaml"
    tape.write_text("version: 1\ninteractions:\n- {kind: mcp, server: s, method: m, request: " + "[" * 990 + "]" * 990 + "}\n")
    with pytest.raises(CassetteError, match=r"deep\.yaml:3:\d+: corrupt cassette \(nested deeper than 100 levels\)"):
        Cassette.open(tape, "none")


def test_a_deeply_nested_case_file_is_refused(suite: Path) -> None:
    (suite / "goldens" / TASK / "cases" / f"{CASE}.yaml").write_text("version: 1\ninputs: {home: " + "[" * 990 + "]" * 990 + "}\n")
    with pytest.raises(GoldenError, match=rf"{CASE}\.yaml:2:\d+: nested deeper than 100 levels"):
        load_task(suite / "goldens" / TASK)


@pytest.mark.parametrize("name", ["flowtape.toml", "pyproject.toml"])
def test_a_deeply_nested_policy_is_refused(tmp_path: Path, name: str) -> None:
    table = "gate" if name == "flowtape.toml" else "tool.flowtape.gate"
    (tmp_path / name).write_text(f"[{table}]\nmax_tokens_per_case = 5\nmax_regression = " + "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(PolicyError, match=rf"{name}:3:\d+: nested deeper than 100 levels"):
        find_policy(tmp_path)
    with pytest.raises(PolicyError, match=rf"{name}:3:\d+: nested deeper than 100 levels"):
        load_policy(tmp_path / name)


def test_a_deeply_nested_workflow_is_refused(suite: Path, cli, tmp_path: Path) -> None:
    deep = '{"ir_version": "0.1.0",\n "nodes": ' + "[" * 5000 + "]" * 5000 + "}"
    (suite / "goldens" / TASK / "workflow.json").write_text(deep)
    with pytest.raises(GoldenError, match=r"workflow\.json:2:\d+: JSON nested deeper than 100 levels"):
        load_task(suite / "goldens" / TASK)
    (tmp_path / "deep.json").write_text(deep)
    assert one_clean_line(cli("validate", tmp_path / "deep.json")) == f"flowtape: {tmp_path / 'deep.json'}:2:110: JSON nested deeper than 100 levels"


# -- `flowtape test`: what cannot run is bad input -------------------------------------------------

def test_a_corrupt_cassette_is_exit_2_and_an_error_in_the_ledger(suite: Path, cli) -> None:
    (suite / "cassettes" / TASK / f"{CASE}.code.yaml").write_text("version: 1\ninteractions: [\n")
    result = run_test(cli, suite, "--case", CASE)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{TASK}/{CASE} [code]: " in result.stdout and "corrupt cassette" in result.stdout
    rows = cli("ledger", "query", "SELECT approach, status FROM cases ORDER BY approach", "--ledger", suite / "ledger.duckdb")
    assert [line.split() for line in rows.stdout.splitlines()[2:]] == [["code", "error"], ["direct", "failed"], ["ir", "passed"]]


def test_an_invalid_workflow_is_exit_2(suite: Path, cli) -> None:
    path = suite / "goldens" / TASK / "workflow.json"
    path.write_text(path.read_text().replace('"start_node"', '"start_nodes"', 1) if '"start_node"' in path.read_text()
                    else path.read_text().replace('"type": "mcp-time-', '"type": "mcp-tme-', 1))
    result = run_test(cli, suite, "--case", CASE, "--approach", "ir")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{TASK}/{CASE} [ir]: " in result.stdout and "workflow.json" in result.stdout


def test_a_bad_server_command_is_exit_2_with_workers(suite: Path, cli) -> None:
    path = suite / "goldens" / TASK / "task.yaml"
    path.write_text(path.read_text().replace("command: ${BIN}/mcp-server-time", "command: 5"))
    line = one_clean_line(run_test(cli, suite, "--workers", "2"))
    assert line == f"flowtape: {path}: servers.time.command: must be a non-empty string"


def test_a_corrupt_cassette_in_rescore_and_compare_is_exit_2(suite: Path, cli) -> None:
    assert run_test(cli, suite, "--case", CASE, "--approach", "ir", "--approach", "code").exit_code == 0  # direct fails this case
    run_id = cli("ledger", "query", "SELECT run_id FROM runs LIMIT 1", "--ledger", suite / "ledger.duckdb").stdout.splitlines()[-1].strip()
    (suite / "cassettes" / TASK / f"{CASE}.ir.yaml").write_text("version: 1\ninteractions: [\n")
    args = ("--cassettes", suite / "cassettes", "--ledger", suite / "ledger.duckdb", "--trace-dir", suite / "traces")
    assert "corrupt cassette" in one_clean_line(cli("compare", suite / "goldens", "--run", run_id, *args[:4]))
    assert "corrupt cassette" in one_clean_line(cli("rescore", suite / "goldens", *args))


# -- the ledger's SQL -----------------------------------------------------------------------------

def test_ledger_query_errors_are_one_line_and_the_ledger_is_read_only(suite: Path, cli) -> None:
    assert run_test(cli, suite, "--case", CASE, "--approach", "ir", "--approach", "code").exit_code == 0  # direct fails this case
    ledger = suite / "ledger.duckdb"
    line = one_clean_line(cli("ledger", "query", "SELEC 1", "--ledger", ledger))
    assert line.startswith(f"flowtape: {ledger}: SQL error: ") and "SELEC" in line
    line = one_clean_line(cli("ledger", "query", "DELETE FROM runs", "--ledger", ledger))
    assert line.startswith(f"flowtape: {ledger}: SQL error: ") and "read-only" in line
    assert cli("ledger", "query", "SELECT count(*) FROM runs", "--ledger", ledger).stdout.splitlines()[-1].strip() == "1"


# -- the gate policy ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "message"), [
    ("flowtape.toml", "[gates]\nmin_pass_rate = 1\n", "flowtape.toml: unknown table [gates]; did you mean [gate]?"),
    ("flowtape.toml", "[GATE]\nmin_pass_rate = 1\n", "flowtape.toml: unknown table [GATE]; did you mean [gate]?"),
    ("flowtape.toml", "[tool.flowtape.gate]\nmin_pass_rate = 1\n", "flowtape.toml: unknown table [tool]; did you mean [gate]?"),
    ("pyproject.toml", "[tool.flowtape.gates]\nmin_pass_rate = 1\n", "pyproject.toml: unknown table [tool.flowtape.gates]; did you mean [tool.flowtape.gate]?"),
    ("pyproject.toml", "[gates]\nmin_pass_rate = 1\n", "pyproject.toml: unknown table [gates]; did you mean [tool.flowtape.gate]?"),
    ("pyproject.toml", "[gate]\nmin_pass_rate = 1\n", "pyproject.toml: unknown table [gate]; did you mean [tool.flowtape.gate]?"),
    ("pyproject.toml", "[tool.flowtap.gate]\nmin_pass_rate = 1\n", "pyproject.toml: unknown table [tool.flowtap]; did you mean [tool.flowtape]?"),
])
def test_a_mistyped_policy_table_is_an_error_not_no_policy(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(PolicyError) as err:
        find_policy(tmp_path)
    assert str(err.value) == f"{tmp_path}/{message}"
    with pytest.raises(PolicyError, match="unknown table"):
        load_policy(tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert one_clean_line(cli("gate", "--ledger", tmp_path / "ledger.duckdb")) == f"flowtape: {tmp_path}/{message}"


def test_no_policy_is_exit_2_unless_allowed(suite: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_test(cli, suite, "--case", CASE, "--approach", "ir", "--approach", "code").exit_code == 0  # direct fails this case
    (suite / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(suite)
    line = one_clean_line(cli("gate", "--ledger", suite / "ledger.duckdb"))
    assert line == (f"flowtape: no gate policy found (no [gate] in a flowtape.toml or [tool.flowtape.gate] in a pyproject.toml, "
                    f"looked from {suite} up for a flowtape.toml, or a pyproject.toml with [tool.flowtape]); "
                    "give --policy FILE, or --allow-no-policy to judge by the defaults")
    allowed = cli("gate", "--ledger", suite / "ledger.duckdb", "--allow-no-policy")
    assert allowed.exit_code == 0, allowed.output
    assert "policy: none found" in allowed.stdout


# -- long values never make long messages ------------------------------------------------------

def test_a_huge_key_makes_a_short_message(suite: Path, cli) -> None:
    (suite / "goldens" / TASK / "cases" / f"{CASE}.yaml").write_text("version: 1\n? " + "k" * 1_000_000 + "\n: 1\n")
    with pytest.raises(GoldenError) as err:
        load_task(suite / "goldens" / TASK)
    assert len(str(err.value)) < 600 and "… (999,920 more characters)" in str(err.value)
    assert len(one_clean_line(run_test(cli, suite))) < 700
    for steps in ("steps:\n  ? " + "s" * 100_000 + "\n  : [StepRan]", "steps:\n  now:\n  - ? " + "E" * 100_000 + "\n    : 1"):
        (suite / "goldens" / TASK / "cases" / f"{CASE}.yaml").write_text(f"version: 1\n{steps}\n")
        with pytest.raises(GoldenError) as err:
            load_task(suite / "goldens" / TASK)
        assert len(str(err.value)) < 1000 and "more characters)" in str(err.value)
