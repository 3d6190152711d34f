"""Property: no input makes a harness parser crash, hang or balloon.

Golden case files, task.yaml, cassettes (YAML and JSON) and the gate policy (TOML) are fed
generated hostile input -- random bytes, deep nesting, aliases and alias bombs, duplicate keys,
wrong types, truncated and mutated copies of the shipped files -- through the public loading
functions and the CLI. Each example must end, within a time guard and without a large jump in
the process's peak memory, in a value or the parser's own error: one line, short, named after
the file; the CLI exits 0, 1 or 2 with no traceback.
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import typer
from click.testing import CliRunner

from harness._cli.main import app
from harness.cassettes import Cassette, CassetteError
from harness.gate import PolicyError, load_policy
from harness.goldens import GoldenError, load_task

ROOT = Path(__file__).resolve().parents[2]
TASK, CASE = "meeting-times", "lisbon-tokyo"
SECONDS = 10  # per example: the refusals take milliseconds; an expanding bomb takes minutes
MEGABYTES = 300  # growth of the process's peak RSS allowed per example

FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)

CASE_TEXT = (ROOT / "goldens" / TASK / "cases" / f"{CASE}.yaml").read_text()
TASK_TEXT = (ROOT / "goldens" / TASK / "task.yaml").read_text()
CASSETTE_TEXT = (ROOT / "cassettes" / TASK / f"{CASE}.ir.yaml").read_text()
CASSETTE_JSON = json.dumps(yaml.safe_load(CASSETTE_TEXT), indent=1, sort_keys=True)
POLICY_TEXT = """[gate]
min_pass_rate = {ir = 1.0, code = 1.0}
max_tokens_per_step = {"*" = 45000}
max_schema_tokens = {git = 1400, time = 320}
required_savings = [{approach = "ir", over = "direct", at_least = 0.5}]

[gate.max_regression]
tokens = {relative = 0.10}
cost = {relative = 0.10, absolute = 0.0001}
"""


# -- the guards ---------------------------------------------------------------------------------

def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def bounded() -> Iterator[None]:
    """Fail an example that runs longer than SECONDS or raises the peak RSS by MEGABYTES."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still parsing after {SECONDS} s")

    before = _peak_mb()
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert _peak_mb() - before < MEGABYTES, f"peak memory grew by {_peak_mb() - before:.0f} MB"


def check_message(err: Exception, path: Path) -> None:
    message = str(err)
    assert "\n" not in message and len(message) < 1500, message[:3000]
    assert message.startswith(str(path)) or str(path) in message, message


# -- hostile text -------------------------------------------------------------------------------

def _bomb(levels: int, width: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def hostile_yaml(valid: str) -> st.SearchStrategy[bytes]:
    """Bad YAML made from `valid` (a shipped file) and from nothing."""
    top_keys = [line.split(":")[0] for line in valid.splitlines() if line and line[0].isalpha() and ":" in line]
    return st.one_of(
        st.binary(max_size=300),
        st.integers(1, 1200).map(lambda n: ("version: 1\ninputs: {a: " + "[" * n + "]" * n + "}\n").encode()),
        st.integers(1, 1200).map(lambda n: ("version: 1\ninputs:\n  a: " + "- " * n + "x\n").encode()),
        st.tuples(st.integers(1, 9), st.integers(1, 9)).map(lambda lw: (_bomb(*lw) + valid).encode()),
        st.sampled_from(["&a [*a]", "&a {k: *a}", "&a x", "*a", "!!binary aGk=", "!!set {a}", "2024-01-01", "!!python/object:os.system x"])
        .map(lambda v: (valid + f"\nextra: {v}\nagain: *a\n").encode()),
        st.sampled_from(top_keys or ["version"]).map(lambda k: (valid + f"\n{k}: duplicate\n").encode()),
        json_values.map(lambda v: yaml.safe_dump(v).encode()),
        st.integers(0, len(valid)).map(lambda n: valid[:n].encode()),
        st.tuples(st.integers(0, len(valid)), st.binary(max_size=20)).map(lambda t: valid.encode()[: t[0]] + t[1] + valid.encode()[t[0]:]),
    )


def hostile_requests(valid: str) -> st.SearchStrategy[bytes]:
    """A cassette whose first `request: {}` holds a hostile value: where replay walks it."""
    assert "  request: {}\n" in valid
    values = st.one_of(
        st.sampled_from(["&a [*a]", "&a {k: [*a]}", "1" * 5000, "0x" + "f" * 5000, "2024-01-01", "{at: 2024-01-01 10:00:00}", "!!binary aGk=", "!!set {a}", "!!omap [{a: 1}]", "{a: 1, a: 2}", "{1: a, b: c, null: d}"]),
        st.integers(1, 1200).map(lambda n: "[" * n + "]" * n),
        st.tuples(st.integers(1, 9), st.integers(1, 9)).map(
            lambda lw: "{" + ", ".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'lol'] * lw[1])}]" for i in range(lw[0])) + "}"),
    )
    return values.map(lambda v: valid.replace("  request: {}\n", f"  request: {v}\n", 1).encode())


def hostile_json(valid: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.integers(1, 3000).map(lambda n: ('{"version": 1, "interactions": ' + "[" * n + "]" * n + "}").encode()),
        st.integers(1, 3000).map(lambda n: ('{"version": 1, "meta": ' + '{"a": ' * n + "1" + "}" * n + "}").encode()),
        st.just(b'{"version": 1, "version": 1, "interactions": []}'),
        st.integers(4000, 6000).map(lambda n: ('{"version": 1, "meta": {"n": ' + "7" * n + "}}").encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.integers(0, len(valid)).map(lambda n: valid[:n].encode()),
        st.tuples(st.integers(0, len(valid)), st.binary(max_size=20)).map(lambda t: valid.encode()[: t[0]] + t[1] + valid.encode()[t[0]:]),
    )


def hostile_toml(valid: str) -> st.SearchStrategy[bytes]:
    tables = st.sampled_from(["gate", "gates", "GATE", "Gate", "gating", "tool.flowtape.gate", "tool.flowtape.gates", "tool.flowtap.gate", "flowtape", "tool.ruff"])
    return st.one_of(
        st.binary(max_size=300),
        st.integers(1, 3000).map(lambda n: ("[gate]\nmax_regression = " + "[" * n + "]" * n + "\n").encode()),
        st.integers(1, 3000).map(lambda n: ("[gate]\nmin_pass_rate = " + "{a = " * n + "1" + "}" * n + "\n").encode()),
        st.tuples(tables, st.sampled_from(["min_pass_rate = 1", "max_tokens_per_case = 5", "min_pass_rate = {irr = 1}", "x = 1"]))
        .map(lambda t: f"[{t[0]}]\n{t[1]}\n".encode()),
        st.integers(4000, 6000).map(lambda n: ("[gate]\nmax_tokens_per_case = " + "9" * n + "\n").encode()),
        st.tuples(st.sampled_from(["min_pass_rate", "max_tokens_per_case", "max_regression", "required_savings", "max_schema_tokens"]), json_values)
        .map(lambda t: f"[gate]\n{t[0]} = {json.dumps(t[1])}\n".encode()),
        st.integers(0, len(valid)).map(lambda n: valid[:n].encode()),
        st.tuples(st.integers(0, len(valid)), st.binary(max_size=20)).map(lambda t: valid.encode()[: t[0]] + t[1] + valid.encode()[t[0]:]),
    )


# -- the places they go -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "goldens" / TASK, root / "goldens" / TASK)
    shutil.copytree(ROOT / "cassettes" / TASK, root / "cassettes" / TASK)
    return root


@pytest.fixture(scope="module")
def cli() -> Any:
    command = typer.main.get_command(app)  # built once: typer rebuilds it on every invoke of the app
    runner = CliRunner()
    return lambda *args: runner.invoke(command, [str(a) for a in args], env={"CI": "true"})


def check_cli(result: Any) -> None:
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output[-2000:], result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert all(len(line) < 1500 for line in result.output.splitlines())


def golden_outcome(folder: Path) -> None:
    try:
        load_task(folder)
    except GoldenError as err:
        check_message(err, folder)


@fuzz(40)
@given(text=hostile_yaml(CASE_TEXT))
def test_golden_case_files(suite: Path, text: bytes) -> None:
    path = suite / "goldens" / TASK / "cases" / f"{CASE}.yaml"
    path.write_bytes(text)
    try:
        with bounded():
            golden_outcome(path.parents[1])
    finally:
        path.write_text(CASE_TEXT)


@fuzz(30)
@given(text=hostile_yaml(TASK_TEXT))
def test_task_yaml(suite: Path, text: bytes) -> None:
    path = suite / "goldens" / TASK / "task.yaml"
    path.write_bytes(text)
    try:
        with bounded():
            golden_outcome(path.parent)
    finally:
        path.write_text(TASK_TEXT)


@fuzz(10)
@given(case=hostile_yaml(CASE_TEXT), task=st.one_of(st.just(TASK_TEXT.encode()), hostile_yaml(TASK_TEXT)))
def test_golden_files_through_the_cli(suite: Path, cli: Any, case: bytes, task: bytes) -> None:
    folder = suite / "goldens" / TASK
    (folder / "cases" / f"{CASE}.yaml").write_bytes(case)
    (folder / "task.yaml").write_bytes(task)
    try:
        with bounded():
            # an unknown case: every file is read and checked, and nothing runs
            check_cli(cli("test", suite / "goldens", "--case", "no-such-case", "--ledger", suite / "ledger.duckdb"))
    finally:
        (folder / "cases" / f"{CASE}.yaml").write_text(CASE_TEXT)
        (folder / "task.yaml").write_text(TASK_TEXT)


def cassette_outcome(path: Path) -> None:
    try:
        tape = Cassette.open(path, "none")
    except CassetteError as err:
        check_message(err, path)
    else:
        json.dumps([i.request for i in tape.interactions])  # what replay does with them


@fuzz(40)
@given(text=st.one_of(hostile_yaml(CASSETTE_TEXT), hostile_requests(CASSETTE_TEXT)))
def test_yaml_cassettes(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text)
    with bounded():
        cassette_outcome(path)


@fuzz(30)
@given(text=hostile_json(CASSETTE_JSON))
def test_json_cassettes(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "fuzz.json"
    path.write_bytes(text)
    with bounded():
        cassette_outcome(path)


@fuzz(6)
@given(text=st.one_of(hostile_yaml(CASSETTE_TEXT), hostile_requests(CASSETTE_TEXT)))
def test_cassettes_through_the_cli(suite: Path, cli: Any, text: bytes) -> None:
    path = suite / "cassettes" / TASK / f"{CASE}.ir.yaml"
    path.write_bytes(text)
    try:
        with bounded():
            check_cli(cli("test", suite / "goldens", "--case", CASE, "--approach", "ir", "--ledger", suite / "ledger.duckdb",
                          "--trace-dir", suite / "traces", "--cassettes", suite / "cassettes"))
    finally:
        path.write_text(CASSETTE_TEXT)


@fuzz(40)
@given(text=hostile_toml(POLICY_TEXT), name=st.sampled_from(["flowtape.toml", "pyproject.toml", "policy.toml"]))
def test_gate_policies(tmp_path: Path, text: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(text)
    with bounded():
        try:
            load_policy(path)
        except PolicyError as err:
            check_message(err, path)


@fuzz(10)
@given(text=hostile_toml(POLICY_TEXT))
def test_gate_policies_through_the_cli(tmp_path: Path, cli: Any, text: bytes) -> None:
    path = tmp_path / "flowtape.toml"
    path.write_bytes(text)
    with bounded():
        result = cli("gate", "--policy", path, "--ledger", tmp_path / "no-ledger.duckdb")
    check_cli(result)
    assert result.exit_code == 2  # a bad policy, or else the missing ledger
