"""Templated values in a shell command are data in every shell context: the shapes a red team
found to turn a value into a command, each run for real with a value that would create a marker
file. Where the shape is a legitimate command, the value must come out printed as it is."""

import os
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner import RunStatus, check, execute
from runner.nodes.shell import render_command
from runner.templates import TemplateError

MARKER = "MARKER"

# (id, command, value): the value tries to `touch MARKER` from the context the command gives it.
# Each of these created the marker with the character-quoting renderer this replaced.
SHAPES = [
    ("dq-command-substitution", 'echo "$(echo ${v})"', '"; touch MARKER; echo "'),
    ("dq-backticks", 'echo "`echo ${v}`"', "`touch MARKER`"),
    ("apostrophe-in-comment", "# don't mind me\necho ${v}", "x; touch MARKER"),
    ("newline-after-comment", "echo hi # note: ${v}\necho ${v}", "\ntouch MARKER\n#"),
    ("heredoc-dash-delimiter", "cat <<END-OF-DATA\nEND\n${v}\nEND-OF-DATA", "$(touch MARKER)"),
    ("heredoc-bang-delimiter", "cat <<!\n${v}\n!", "$(touch MARKER)"),
    ("heredoc-partly-quoted-delimiter", 'cat <<E"O"F\n${v} $HOME\nEOF', "EOF\ntouch MARKER"),
]
EXPECTED = {
    "newline-after-comment": "hi\n\ntouch MARKER\n#",
    "heredoc-dash-delimiter": "END\n$(touch MARKER)",
    "heredoc-partly-quoted-delimiter": "EOF\ntouch MARKER $HOME",
}


def workflow(command, value_type="string"):
    return {"ir_version": "0.1.0", "inputs": {"v": {"type": value_type}},
            "nodes": [{"id": "s", "type": "shell", "params": {"command": command}}], "outputs": {"out": "${s.stdout}"}}


def run(tmp_path, command, value):
    return execute(workflow(command), {"v": value}, base_dir=tmp_path)


@pytest.mark.parametrize(("command", "value"), [pytest.param(c, v, id=i) for i, c, v in SHAPES])
def test_a_value_never_runs_and_comes_out_as_written(tmp_path, command, value, request):
    trace = run(tmp_path, command, value)
    assert not (tmp_path / MARKER).exists()
    assert trace.status is RunStatus.PASSED, trace.error
    assert trace.outputs["out"] == EXPECTED.get(request.node.callspec.id, value)


def test_eval_of_a_template_is_refused_before_anything_runs(tmp_path):
    doc = workflow('eval "echo ${v}"')
    [diag] = [d for d in check(doc, inputs={"v": "$(touch MARKER)"}) if d.severity == "error"]
    assert diag.path == "$.nodes[0].params.command" and diag.node == "s"
    assert "shell node 's': a template inside `eval` would run data as code; pass it as an argument or on stdin" in diag.message
    with pytest.raises(ValueError, match="eval"):
        run(tmp_path, 'eval "echo ${v}"', "$(touch MARKER)")
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("command", [
    "sh -c 'echo ${v}'",
    'bash -c "echo ${v}"',
    "/bin/sh -e -c ${v}",
    "bash -o pipefail -c 'echo ${v}'",
    "echo \"$(eval echo ${v})\"",
    'eval "$(echo ${v})"',
    "sh <<EOF\necho ${v}\nEOF",
])
def test_templates_a_shell_would_parse_as_code_are_refused(command):
    [diag] = [d for d in check(workflow(command)) if d.severity == "error"]
    assert "would run data as code" in diag.message and diag.path == "$.nodes[0].params.command"


def test_a_value_after_the_script_of_sh_c_is_an_argument_and_runs_as_data(tmp_path):
    trace = run(tmp_path, "sh -c 'printf %s \"$1\"' _ ${v}", "$(touch MARKER)")
    assert trace.outputs["out"] == "$(touch MARKER)" and not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("delimiter", ["'EOF'", '"EOF"', "\\EOF", "E'O'F", "'END-OF-DATA'", "'!'"])
def test_quoted_heredocs_keep_their_literal_text_and_take_the_value(tmp_path, delimiter):
    word = delimiter.replace("'", "").replace('"', "").replace("\\", "")
    command = f"cat <<{delimiter}\nliteral $HOME `x` \\n and ${{v}}\n{word}\necho after"
    trace = run(tmp_path, command, f"$(touch {MARKER})\n{word}\ntouch {MARKER}")
    assert trace.status is RunStatus.PASSED, trace.error
    assert trace.outputs["out"] == f"literal $HOME `x` \\n and $(touch {MARKER})\n{word}\ntouch {MARKER}\nafter"
    assert not (tmp_path / MARKER).exists()


def test_an_unquoted_heredoc_takes_a_values_escapes_as_the_shell_takes_its_texts_and_runs_nothing(tmp_path):
    # pflow's workflows escape a value for an unquoted here-document (`\$` for `$`); the value
    # reads as meant, once, and an unescaped `$( )` in it is text, never a command.
    value = f"cost \\$5 \\`uname\\` C:\\\\dir \\n $(touch {MARKER}) `touch {MARKER}` a\\\nb"
    trace = run(tmp_path, "cat <<EOF\n${v}\nEOF", value)
    assert trace.outputs["out"] == f"cost $5 `uname` C:\\dir \\n $(touch {MARKER}) `touch {MARKER}` ab"
    assert trace.step("s").params["command_values"] == {"__ft_0": trace.outputs["out"]}
    assert not (tmp_path / MARKER).exists()
    # a quoted one keeps the value byte for byte, as it keeps its own text
    assert run(tmp_path, "cat <<'EOF'\n${v}\nEOF", value).outputs["out"] == value


def test_tab_stripping_heredocs_end_at_the_indented_delimiter(tmp_path):
    trace = run(tmp_path, "cat <<-'EOF'\n\t${v}\n\tEOF\necho done", "x")
    assert trace.outputs["out"] == "x\ndone"


def test_a_heredoc_delimiter_that_cannot_be_unquoted_is_refused_when_it_holds_a_template():
    [diag] = [d for d in check(workflow("cat <<'END OF'\n${v}\nEND OF")) if d.severity == "error"]
    assert "here-document" in diag.message


def test_arithmetic_takes_integers_only(tmp_path):
    assert run(tmp_path, "echo $(( ${v} + 1 ))", "41").outputs["out"] == "42"
    failed = run(tmp_path, "echo $(( ${v} + 1 ))", "a[$(touch MARKER)]")
    assert failed.status is RunStatus.FAILED and "must be an integer" in failed.error
    assert not (tmp_path / MARKER).exists()


def test_a_nul_byte_in_a_value_is_a_clear_failure(tmp_path):
    trace = run(tmp_path, "echo ${v}", "a\x00b")
    assert trace.status is RunStatus.FAILED and "NUL byte" in trace.error


def test_the_trace_shows_the_command_as_run_and_the_values_it_names(tmp_path):
    step = run(tmp_path, "printf '%s|%s' ${v} '${v}'", "a b").step("s")
    assert step.params["command"] == "printf '%s|%s' \"${__ft_0}\" ''\"${__ft_1}\"''"
    assert step.params["command_values"] == {"__ft_0": "a b", "__ft_1": "a b"}
    assert step.output["command"] == step.params["command"] and step.output["command_values"] == step.params["command_values"]
    assert step.output["stdout"] == "a b|a b"


def test_a_values_reference_does_not_yield_to_the_nodes_env_param(tmp_path):
    doc = workflow("printf %s ${v}")
    doc["nodes"][0]["params"]["env"] = {"__ft_0": "from env"}
    assert execute(doc, {"v": "value"}, base_dir=tmp_path).outputs["out"] == "value"


def test_render_command_references_values_by_environment_name():
    rendered = render_command("echo ${v} \"${v}\"", {"v": "$(x)"})
    assert rendered.command == 'echo "${__ft_0}" "${__ft_1}"' and rendered.values == {"__ft_0": "$(x)", "__ft_1": "$(x)"}


@pytest.mark.parametrize("ref", ["${src.stdout}", "children/${v}.json", "${v}"])
def test_a_nested_workflow_never_comes_from_a_template(ref):
    doc = {"inputs": {"v": {"type": "string"}},
           "nodes": [{"id": "src", "type": "shell", "params": {"command": "echo ${v}"}},
                     {"id": "child", "type": "workflow", "params": {"workflow": ref}}],
           "edges": [{"from": "src", "to": "child"}]}
    errors = [d for d in check(doc) if d.severity == "error"]
    assert [(d.path, d.node) for d in errors] == [("$.nodes[1].params.workflow", "child")]
    assert "not a template" in errors[0].message


PIECES = ["echo ", "${v}", '"', "'", "`", "$(", ")", "# it's ", "\n", "<<EOF\n", "<<'EOF'\n", "EOF\n", "<<-X\n", "\tX\n",
          "$((", "))", " ", ";", "|", "\\", "eval ", "sh -c ", "x=", "<<!\n", "!\n"]
PAYLOADS = ["$(touch MARKER)", "`touch MARKER`", "'; touch MARKER; '", "\ntouch MARKER\n", '"; touch MARKER; "',
            "EOF\ntouch MARKER", "X\ntouch MARKER", "!\ntouch MARKER\n#"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=8), st.sampled_from(PAYLOADS))
def test_no_command_text_around_a_template_lets_its_value_run(tmp_path_factory, pieces, payload):
    # Commands made of quotes, substitutions, comments and here-documents in any order (most of
    # them not valid shell): whatever the shell makes of one, the value is never run.
    command = "".join(pieces) + " ${v}"
    try:
        rendered = render_command(command, {"v": payload})
    except TemplateError:
        return  # refused: nothing runs
    cwd = tmp_path_factory.mktemp("sh")
    subprocess.run(["/bin/sh", "-c", rendered.command], cwd=cwd, env={**os.environ, **rendered.values},
                   input="", capture_output=True, text=True, timeout=10)
    assert not (cwd / MARKER).exists(), rendered.command


def test_a_templated_nested_workflow_is_not_resolved_even_past_validation():
    from runner.nodes.workflow import WorkflowNode

    with pytest.raises(TemplateError, match="not a template"):
        WorkflowNode().resolve({"workflow": "${src.stdout}"}, {"src": {"stdout": '{"nodes": []}'}})


@pytest.mark.parametrize("command", ["bash --norc -x ./script.sh ${v}", "grep -c sh ${v}", "echo eval-free ${v}", "printf %s ${v} | sh -c 'cat'"])
def test_commands_that_only_look_like_eval_or_sh_c_are_not_refused(command):
    assert not [d for d in check(workflow(command)) if d.severity == "error"]


def test_a_value_too_large_for_the_environment_is_a_clear_failure(tmp_path):
    trace = run(tmp_path, "printf %s ${v} | wc -c", "x" * 200_000)
    assert trace.status is RunStatus.FAILED and "too large to pass to a process; pass large data on stdin" in trace.error


@pytest.mark.parametrize("command", ["[[ ${v} -eq 1 ]] && echo yes", "let x=${v}", "(( ${v} > 1 ))", 'echo $(( "${v}" ))'])
def test_values_bash_would_evaluate_as_arithmetic_must_be_integers(tmp_path, command):
    failed = run(tmp_path, command, "a[$(touch MARKER)]")
    assert failed.status is RunStatus.FAILED and "must be an integer" in failed.error
    assert not (tmp_path / MARKER).exists()


def test_string_tests_in_double_brackets_take_any_value():
    assert render_command("[[ ${v} == x ]] && [ ${v} -eq 1 ]", {"v": "a[b]"}).values == {"__ft_0": "a[b]", "__ft_1": "a[b]"}
