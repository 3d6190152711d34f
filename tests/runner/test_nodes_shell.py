"""`shell`: outputs, stdin, cwd, env, timeout, and templated values that never become syntax."""

import json

import pytest

from runner import RunStatus, execute
from runner.nodes.shell import render_command

HOSTILE = ["x; echo PWNED", "$(echo PWNED)", "`echo PWNED`", "a'b\"c", "$HOME", "two  spaces", "back\\slash", "new\nline", "", "*"]


def run_one(tmp_path, params, inputs=None, input_specs=None):
    d = {"ir_version": "0.1.0", "inputs": input_specs or {}, "nodes": [{"id": "s", "type": "shell", "params": params}], "outputs": {}}
    return execute(d, inputs or {}, base_dir=tmp_path).step("s")


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("shape", ["printf '%s' ${v}", "printf '%s' \"${v}\"", "printf '%s' '${v}'", "printf '%s' pre${v}post"])
def test_templated_values_reach_the_command_as_data(tmp_path, value, shape):
    step = run_one(tmp_path, {"command": shape}, {"v": value}, {"v": {"type": "string", "required": False}})
    expected = "pre" + value + "post" if "pre" in shape else value
    assert step.error is None, step.error
    assert step.output["stdout"] == expected.rstrip("\n")


def test_render_command_refers_to_each_value_in_the_form_its_context_needs():
    assert render_command("echo ${v}", {"v": "a; b"}).command == 'echo "${__ft_0}"'
    assert render_command('echo "${v}"', {"v": 'say "$x"'}).command == 'echo "${__ft_0}"'
    assert render_command("echo '${v}'", {"v": "it's"}).command == "echo ''\"${__ft_0}\"''"
    assert render_command("echo '${v}'", {"v": "it's"}).values == {"__ft_0": "it's"}


def test_outputs_stdout_without_trailing_newlines_stderr_as_is(tmp_path):
    step = run_one(tmp_path, {"command": "echo out; echo; echo err >&2; exit 0"})
    assert step.output == {"stdout": "out", "stderr": "err\n", "exit_code": 0, "stdout_is_binary": False, "stderr_is_binary": False,
                           "command": "echo out; echo; echo err >&2; exit 0"}
    assert run_one(tmp_path, {"command": "echo out", "strip_newline": False}).output["stdout"] == "out\n"


def test_nonzero_exit_fails_unless_ignored(tmp_path):
    failed = run_one(tmp_path, {"command": "echo partial; echo bad thing >&2; exit 4"})
    assert failed.error == "Command failed with exit code 4: bad thing" and failed.output["stdout"] == "partial"
    ignored = run_one(tmp_path, {"command": "exit 4", "ignore_errors": True})
    assert ignored.error is None and ignored.output["exit_code"] == 4


def test_grep_finding_nothing_is_not_a_failure(tmp_path):
    step = run_one(tmp_path, {"command": "printf 'a\\nb\\n' | grep zzz"})
    assert step.error is None and step.output["exit_code"] == 1 and step.output["stdout"] == ""
    assert run_one(tmp_path, {"command": "grep zzz /nonexistent"}).error.startswith("Command failed with exit code 2")


def test_stdin_text_and_structured_values_as_json(tmp_path):
    assert run_one(tmp_path, {"command": "cat", "stdin": "line\n"}).output["stdout"] == "line"
    step = run_one(tmp_path, {"command": "cat", "stdin": "${data}"}, {"data": {"k": [1, True]}}, {"data": {"type": "object"}})
    assert step.output["stdout"] == '{"k": [1, true]}'
    step = run_one(tmp_path, {"command": "cat", "stdin": "${flag}"}, {"flag": True}, {"flag": {"type": "boolean"}})
    assert step.output["stdout"] == "true"


def test_cwd_is_relative_to_the_workflow_and_env_is_added(tmp_path):
    (tmp_path / "sub").mkdir()
    step = run_one(tmp_path, {"command": "basename \"$PWD\"; echo $GREETING", "cwd": "sub", "env": {"GREETING": "hi"}})
    assert step.output["stdout"] == "sub\nhi"


def test_timeout_kills_the_command(tmp_path):
    # `sh` waits for `sleep` here (it cannot exec it), so the whole process group must die.
    step = run_one(tmp_path, {"command": "sleep 5; echo late", "timeout": 0.3})
    assert step.error == "Command timed out after 0.3 seconds"
    assert step.output["exit_code"] == -1
    assert step.duration_ms < 3000 and "late" not in step.output["stdout"]


def test_missing_cwd_is_a_clear_failure(tmp_path):
    step = run_one(tmp_path, {"command": "true", "cwd": "nope"})
    assert step.error.startswith("cannot run command in ") and "No such file" in step.error


def test_stdout_parsed_as_json_by_a_path_can_be_deep_and_the_trace_still_writes(tmp_path):
    deep = "[" * 300 + "1" + "]" * 300
    d = {"nodes": [{"id": "a", "type": "shell", "params": {"command": f"printf '%s' '{deep}'"}},
                   {"id": "b", "type": "shell", "params": {"command": "printf %s ${a.stdout[0][0]}", "ignore_errors": True}}],
         "edges": [{"from": "a", "to": "b"}], "outputs": {"o": "${a.stdout[0]}"}}
    trace = execute(d, {}, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED and trace.step("b").output["stdout"] == json.dumps(json.loads(deep)[0][0])
    assert "<truncated: nested deeper than 100 levels>" in trace.write(tmp_path).read_text()


def test_stdout_too_deep_to_parse_is_a_reference_that_does_not_resolve(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    d = {"nodes": [{"id": "a", "type": "shell", "params": {"command": f"printf '%s' '{deep}'"}},
                   {"id": "b", "type": "shell", "params": {"command": "echo ${a.stdout[0]}"}}], "edges": [{"from": "a", "to": "b"}]}
    trace = execute(d, {}, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and "does not resolve" in trace.error
    trace.write(tmp_path)


def test_a_failing_command_keeps_the_end_of_its_stderr_where_the_error_is(tmp_path):
    from runner import execute

    lines = [f"print('noise line {i}', file=sys.stderr)" for i in range(60)]
    (tmp_path / "fails.py").write_text("\n".join(["import sys", *lines, "raise ValueError('the real cause')", ""]))
    doc = {"ir_version": "0.1.0", "nodes": [{"id": "s", "type": "shell", "params": {"command": "python3 fails.py"}}], "outputs": {}}
    trace = execute(doc, base_dir=tmp_path)
    error = trace.step("s").error
    assert "ValueError: the real cause" in error and "noise line 0" not in error
