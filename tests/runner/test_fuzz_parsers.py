"""Fuzzing the runner's front door: whatever bytes a workflow file holds and whatever `-i` says,
the loader, the validator and the `flowtape run` / `flowtape validate` commands answer with the
project's own errors (exit 0, 1 or 2, no traceback), never a crash."""

import copy
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness._cli.main import app
from runner import check
from runner._json import JSONInputError, loads
from runner.inputs import parse_cli_value
from runner.ir import INPUT_TYPES, InputSpec

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])

BASE = {
    "ir_version": "0.1.0",
    "inputs": {"n": {"type": "number", "required": False}},
    "nodes": [{"id": "a", "type": "shell", "params": {"command": "printf %s ${n}"}}],
    "outputs": {"o": "${a.stdout}"},
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


# Around the load limit (100), where pydantic's serializer gives up (~255) and Python's parser (~1,000).
DEPTHS = st.sampled_from([100, 101, 300, 1_000, 5_000]) | st.integers(90, 1_200)


def nested(depth, inner="1"):
    return "[" * depth + inner + "]" * depth


# Where a generated value replaces part of a valid workflow (None: the key is removed).
PLACES = [("nodes", 0, "id"), ("nodes", 0, "type"), ("nodes", 0, "params", "command"), ("nodes", 0, "params", "timeout"),
          ("nodes", 0, "params"), ("nodes",), ("edges",), ("outputs",), ("inputs", "n", "type"), ("inputs",), ("start_node",),
          ("ir_version",), ("nodes", 0, "retry")]


@st.composite
def mutated_workflows(draw):
    """The valid `BASE` with up to three places replaced by any JSON value, or removed."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(0, 3))):
        *parents, last = draw(st.sampled_from(PLACES))
        target = doc
        for key in parents:
            found = isinstance(target, dict) and key in target or isinstance(target, list) and isinstance(key, int) and key < len(target)
            target = target[key] if found else None
        if isinstance(target, dict) or isinstance(target, list) and isinstance(last, int) and last < len(target):
            if draw(st.booleans()) and isinstance(target, dict):
                target.pop(last, None)
            else:
                target[last] = draw(json_values | st.sampled_from([0, "", "${a.stdout}", "${n}", [], {}]))
    return doc


def document_texts():
    """Workflow file contents: valid and broken JSON, deep, repeating keys, random bytes."""
    as_text = mutated_workflows().map(json.dumps)
    deep = DEPTHS.map(lambda d: json.dumps({**BASE, "mappings": {"x": "@"}}).replace('"@"', nested(d)))
    duplicate = st.sampled_from(['"id": "a"', '"type": "shell"', '"command": "printf %s ${n}"']).map(
        lambda kv: json.dumps(BASE).replace(kv, kv + ", " + kv))
    truncated = as_text.flatmap(lambda t: st.integers(0, max(0, len(t) - 1)).map(lambda k: t[:k]))
    return st.one_of(as_text.map(str.encode), deep.map(str.encode), duplicate.map(str.encode), truncated.map(str.encode),
                     st.binary(max_size=60), as_text.map(lambda t: t.encode().replace(b"printf", b"\xffprintf")))


input_values = st.one_of(st.text(max_size=12), json_values.map(json.dumps), st.sampled_from(["null", "true", "1e999", "-0", "[", "{}"]),
                         DEPTHS.map(lambda d: nested(d, "")), st.just('{"a": 1, "a": 2}'))


@FUZZ
@given(document_texts())
def test_the_loader_and_the_validator_answer_with_their_own_errors(data):
    try:
        document = loads(data, "wf.json")
    except JSONInputError as err:
        assert "\n" not in str(err) and str(err).startswith(("wf.json:", "wf.json "))
        return
    for diagnostic in check(document, inputs={"n": 1}):
        assert diagnostic.path.startswith("$") and diagnostic.message


@FUZZ
@given(st.sampled_from(INPUT_TYPES), input_values)
@example("number", "null")
@example("any", nested(1_000, ""))
def test_the_input_parser_raises_value_errors_only(kind, raw):
    try:
        parse_cli_value(InputSpec(type=kind), raw)
    except ValueError as err:
        assert "\n" not in str(err)


@pytest.fixture(scope="module")
def cli():
    return CliRunner()


def invoke(cli, args):
    result = cli.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    return result


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=document_texts(), value=st.none() | input_values)
def test_flowtape_validate_exits_0_or_2_with_no_traceback(cli, tmp_path_factory, data, value):
    path = tmp_path_factory.mktemp("wf") / "wf.json"
    path.write_bytes(data)
    result = invoke(cli, ["validate", str(path), *(["-i", f"n={value}"] if value is not None else [])])
    assert result.exit_code in (0, 2)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=document_texts(), value=st.none() | input_values)
def test_flowtape_run_exits_0_1_or_2_with_no_traceback(cli, tmp_path_factory, data, value):
    folder = tmp_path_factory.mktemp("run")
    (folder / "wf.json").write_bytes(data)
    invoke(cli, ["run", str(folder / "wf.json"), "--trace-dir", str(folder / "traces"), *(["-i", f"n={value}"] if value is not None else [])])


@pytest.mark.parametrize(("content", "message"), [
    (json.dumps(BASE).replace('"outputs"', '"mappings": ' + nested(1_000) + ', "outputs"'), "JSON nested deeper than 100 levels"),
    (json.dumps(BASE).replace('"type": "shell"', '"type": "shell", "type": "shell"'), "$.nodes[0]: duplicate key 'type'"),
    (json.dumps(BASE).replace("printf", "\udcff"), "not UTF-8 text (byte 0xff)"),
])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_files_are_one_line_and_exit_2(cli, tmp_path, content, message, command):
    (tmp_path / "wf.json").write_bytes(content.encode("utf-8", errors="surrogateescape"))
    result = invoke(cli, [command, str(tmp_path / "wf.json"), "--trace-dir", str(tmp_path)] if command == "run" else [command, str(tmp_path / "wf.json")])
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("value", "message"), [
    ("null", "-i n: expected number, got null"),
    (nested(1_000), "-i n: at 1:101: JSON nested deeper than 100 levels"),
])
def test_bad_input_values_are_one_line_and_exit_2(cli, tmp_path, value, message):
    (tmp_path / "wf.json").write_text(json.dumps(BASE))
    result = invoke(cli, ["run", str(tmp_path / "wf.json"), "--trace-dir", str(tmp_path), "-i", f"n={value}"])
    assert result.exit_code == 2 and message in result.output


def test_a_command_param_of_the_wrong_type_fails_validation(cli, tmp_path):
    doc = copy.deepcopy(BASE)
    doc["nodes"][0]["params"]["command"] = ["printf", "%s"]
    (tmp_path / "wf.json").write_text(json.dumps(doc))
    result = invoke(cli, ["validate", str(tmp_path / "wf.json")])
    assert result.exit_code == 2 and "param 'command' of shell must be a string, not a list" in result.output
