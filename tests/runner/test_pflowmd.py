"""pflow's markdown workflows (`.pflow.md`), read by flowtape's own parser (`runner.pflowmd`).

The IR it builds is compared with the IR pflow 0.16's parser built for the same files
(`pflow_compat/*.pflow_ir.json`) and with the JSON IR twins; malformed markdown is one line
`file:line: problem`; validation problems name the markdown line of the step."""

import json
import shutil
from pathlib import Path

import duckdb  # noqa: F401  (pytester/CLI tests import harness.accounting's duckdb at module top)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner import InvalidWorkflow, RunStatus, check, execute
from runner.pflowmd import MarkdownError, parse, read, read_workflow, resolve_files

CASES = Path(__file__).parent / "pflow_compat"
MARKDOWN = sorted(CASES.glob("*.pflow.md")) + sorted((CASES / "children").glob("*.pflow.md"))
TWINS = [p for p in MARKDOWN if p.with_name(p.name[: -len(".pflow.md")] + ".json").exists()]


def _edges(edges):
    """Edges as a set: the order pflow lists them in does not decide anything (one edge per
    (from, action)), and an edge without an action is the `default` one."""
    return sorted(({"action": "default", **e} for e in edges), key=lambda e: (e["from"], e["action"], e["to"]))


def _in_order(edges):
    """Edges in one order, exactly as written (an action written out or not: an edge back up
    the steps with `"action": "default"` written out is a loop, without it a cycle)."""
    return sorted(edges, key=lambda e: json.dumps(e, sort_keys=True))


def _as_pflow(ir):
    """flowtape's IR as pflow's parser writes it: flowtape also marks each input's line."""
    ir = json.loads(json.dumps(ir))
    for spec in ir.get("inputs", {}).values():
        spec.pop("_source_line")
    ir["edges"] = _in_order(ir["edges"])
    return ir


def _bare(value):
    """Without annotations (`_...`), prose (`purpose`, `description`) and the default version."""
    if isinstance(value, dict):
        return {k: _bare(v) for k, v in value.items() if not k.startswith("_") and k not in ("purpose", "description", "ir_version")}
    if isinstance(value, list):
        return [_bare(v) for v in value]
    return value


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_same_ir_as_pflows_parser(path):
    pflow_ir = path.with_name(path.name[: -len(".pflow.md")] + ".pflow_ir.json")
    if not pflow_ir.exists():  # pflow's parser refused the file (md_bad_*): so does flowtape's
        with pytest.raises(MarkdownError):
            parse(path.read_text(), str(path))
        return
    observed = json.loads(pflow_ir.read_text())
    observed["edges"] = _in_order(observed["edges"])
    assert _as_pflow(parse(path.read_text(), str(path))) == observed


@pytest.mark.parametrize("path", TWINS, ids=lambda p: p.name)
def test_same_ir_as_the_json_twin(path):
    twin = json.loads(path.with_name(path.name[: -len(".pflow.md")] + ".json").read_text())
    mine = _bare(parse(path.read_text(), str(path)))
    twin = _bare(twin)
    # (a hand-written twin may leave a forward edge's `default` unwritten; the exact form is
    # checked against pflow's own IR above)
    mine["edges"], twin["edges"] = _edges(mine["edges"]), _edges(twin.get("edges", []))
    assert mine == twin


def test_markdown_pflow_refuses_is_refused_at_its_line():
    refused = {p.name: p for p in MARKDOWN if p.name.startswith("md_bad_")}
    assert len(refused) == 5
    where = {}
    for name, path in refused.items():
        try:
            document = read(path)
        except MarkdownError as err:
            where[name] = (err.line, err.problem.split(":")[0])
            continue
        (d,) = [d for d in check(document) if d.severity == "error"]
        where[name] = (d.line, d.node)
    assert where == {
        "md_bad_fallthrough.pflow.md": (15, "step 'normal' falls through into 'recover', a branch of 'risky'"),
        "md_bad_untagged.pflow.md": (13, "a code block in step 'say' has no tag"),
        "md_bad_no_type.pflow.md": (7, "step 'say' has no '- type"),
        "md_bad_reference.pflow.md": (14, "use"),
        "md_bad_yaml.pflow.md": (14, "'inputs'"),
    }


def test_twins_exist():
    assert {p.name for p in TWINS} >= {"loop_until.pflow.md", "batch_fail_fast.pflow.md", "upper.pflow.md"}


def test_pflows_annotated_ir_runs_as_json():
    # the IR pflow's own parser emits (`_source_line`, `_source_lines`, `_routes_to_end`) is valid JSON IR
    ran = [p for p in sorted(CASES.glob("*.pflow_ir.json"))
           if json.loads(p.with_name(p.name.replace(".pflow_ir.json", ".observed.json")).read_text())["status"] == "success"]
    assert len(ran) >= 15
    for ir_file in ran:  # the workflows pflow ran
        document = resolve_files(json.loads(ir_file.read_text()), CASES)  # pflow's parser leaves file references to a later pass
        assert [d for d in check(document) if d.severity == "error"] == [], ir_file.name
    trace = execute(json.loads((CASES / "loop_until.pflow_ir.json").read_text()), {"start": 0})
    assert trace.status is RunStatus.PASSED and trace.outputs == {"said": "3 after condition"}


# -- the format --------------------------------------------------------------------------------

STEP = "# T\n\nWhat it does.\n\n## Steps\n\n### a\n\nThe step.\n\n"


def test_steps_run_in_document_order_and_prose_is_the_purpose():
    ir = parse(STEP + "- type: shell\n- command: echo a\n\n### b\n\nSecond.\nTwo lines.\n\n* a note\n\n- type: shell\n- command: echo b\n")
    assert [n["id"] for n in ir["nodes"]] == ["a", "b"]
    assert ir["edges"] == [{"from": "a", "to": "b"}]
    assert ir["nodes"][1]["purpose"] == "Second.\nTwo lines.\n* a note"
    assert (ir["nodes"][0]["_source_line"], ir["nodes"][1]["_source_line"]) == (7, 14)


def test_code_blocks_are_params_named_by_their_tag():
    text = STEP + "- type: llm\n\n```yaml output_schema\ntype: object\nwhen: 2026-01-01\n```\n\n````prompt\nSay ```hi```\n````\n\n```yaml batch\nitems: [1, 2]\n```\n"
    node = parse(text)["nodes"][0]
    assert node["params"] == {"output_schema": {"type": "object", "when": "2026-01-01"}, "prompt": "Say ```hi```"}
    assert node["batch"] == {"items": [1, 2]}
    assert node["_source_lines"] == {"prompt": 19}  # its first line; yaml blocks are not marked (as pflow)


def test_one_line_values_are_kept_as_written_unless_they_read_as_a_scalar():
    params = parse(STEP + "- type: shell\n- command: echo a: b # c\n- n: 010\n- f: 1.50\n- yes_: on\n- nothing: ~\n- q: \"a\\nb\"\n- hexlike: 0x1F\n")["nodes"][0]["params"]
    assert params == {"command": "echo a: b # c", "n": 10, "f": 1.5, "yes_": True, "nothing": None, "q": "a\nb", "hexlike": "0x1F"}


def test_routing_next_on_error_and_code_targets():
    text = ("# T\n\nD.\n\n## Steps\n\n### route\n\nR.\n\n- type: code\n- on-error: oops\n\n```python code\nresult: int = 1\nnext = 'big'\n```\n\n"
            "### small\n\nS.\n\n- type: shell\n- command: echo s\n- next: end\n\n### big\n\nB.\n\n- type: shell\n- command: echo b\n- next: end\n\n"
            "### oops\n\nO.\n\n- type: shell\n- command: echo o\n- next: end\n")
    ir = parse(text)
    assert _edges(ir["edges"]) == _edges([{"from": "route", "to": "small"}, {"from": "route", "to": "big", "action": "big"},
                                          {"from": "route", "to": "oops", "action": "error"}])
    assert [n.get("_routes_to_end") for n in ir["nodes"]] == [None, True, True, True]


def test_a_code_step_listing_its_targets_writes_its_default_out():
    text = ("# T\n\nD.\n\n## Steps\n\n### route\n\nR.\n\n- type: code\n- next: a, b\n\n```python code\nresult: int = 1\nnext: str = str(result)\n```\n\n"
            "### a\n\nA.\n\n- type: shell\n- command: echo a\n- next: end\n\n### b\n\nB.\n\n- type: shell\n- command: echo b\n- next: end\n")
    assert _in_order(parse(text)["edges"]) == _in_order([{"from": "route", "to": "a", "action": "a"}, {"from": "route", "to": "b", "action": "b"},
                                                          {"from": "route", "to": "a", "action": "default"}])


def test_file_references_are_read_relative_to_the_workflow(tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "ask.md").write_text("Hello ${name}\n")
    (tmp_path / "schema.yaml").write_text("type: object\n")
    path = tmp_path / "w.pflow.md"
    path.write_text(STEP + "- type: llm\n- prompt: prompts/ask.md\n- output_schema: ./schema.yaml\n- system: ./not-a-file-param.md\n")
    node = read(path)["nodes"][0]
    assert node["params"] == {"prompt": "Hello ${name}\n", "output_schema": {"type": "object"}, "system": "./not-a-file-param.md"}
    assert node["_source_files"] == {"prompt": "prompts/ask.md", "output_schema": "./schema.yaml"}


def test_a_json_file_is_read_as_json(tmp_path):
    path = tmp_path / "w.json"
    path.write_text('{"nodes": [{"id": "a", "type": "shell", "params": {"command": "echo"}}]}')
    assert read_workflow(path)["nodes"][0]["id"] == "a"


# -- malformed markdown: file:line: problem ----------------------------------------------------

BAD = {
    "untagged block": (STEP + "- type: shell\n\n```\necho hi\n```\n", 13, "has no tag"),
    "unclosed block": (STEP + "- type: shell\n\n```shell command\necho hi\n", 13, "never closed"),
    "no type": (STEP + "- command: echo\n", 7, "has no '- type:'"),
    "bad yaml in a bullet": (STEP + "- type: shell\n- command: echo\n- inputs:\n    x: [1, 2\n    y: 3\n", 15, "'inputs': not valid YAML"),
    "bad quoted scalar": (STEP + "- type: shell\n- command: \"echo\n", 12, "'command': not valid YAML"),
    "bad yaml block": (STEP + "- type: shell\n- command: echo\n\n```yaml batch\nitems: [1\nas: x\n```\n", 16, "'batch' block: not valid YAML"),
    "doc bullet written with -": (STEP + "- type: shell\n- just a note\n", 12, "not a '- key: value' field"),
    "no description": ("# T\n\n## Steps\n\n### a\n\n- type: shell\n", 5, "has no description"),
    "duplicate step": (STEP + "- type: shell\n\n### a\n\nAgain.\n\n- type: shell\n", 13, "defined twice (first at line 7)"),
    "step id with a space": ("# T\n\n## Steps\n\n### do it\n\nD.\n\n- type: shell\n", 5, "step id 'do it'"),
    "next to nowhere": (STEP + "- type: shell\n- next: nowhere\n", 12, "names no step"),
    "on-error to nowhere": (STEP + "- type: shell\n- on-error: handler\n", 12, "names no step"),
    "both inline and block": (STEP + "- type: shell\n- command: echo a\n\n```shell command\necho b\n```\n", 14, "both as '- command:' (line 12)"),
    "field given twice": (STEP + "- type: shell\n- command: a\n- command: b\n", 13, "given twice"),
    "no steps section": ("# T\n\nD.\n", None, "no '## Steps'"),
    "branch target without next": (STEP + "- type: shell\n- on-error: h\n\n### h\n\nH.\n\n- type: shell\n", 14, "must say where to go after it"),
    "fall-through into a branch": (STEP + "- type: shell\n- on-error: h\n- next: end\n\n### b\n\nB.\n\n- type: shell\n\n### h\n\nH.\n\n- type: shell\n- next: end\n", 15, "falls through into 'h'"),
}


@pytest.mark.parametrize("name", BAD)
def test_malformed_markdown_names_the_line(name):
    text, line, words = BAD[name]
    with pytest.raises(MarkdownError) as err:
        parse(text, "w.pflow.md")
    assert err.value.line == line
    assert words in str(err.value)
    assert str(err.value).startswith(f"w.pflow.md:{line}: " if line else "w.pflow.md: ") and "\n" not in str(err.value)


def test_a_missing_file_reference_names_its_line(tmp_path):
    path = tmp_path / "w.pflow.md"
    path.write_text(STEP + "- type: shell\n\n- command: ./nope.sh\n")
    with pytest.raises(MarkdownError, match=r"w\.pflow\.md:7: step 'a': 'command' names the file \./nope\.sh, which does not exist"):
        read(path)


# -- validation names the markdown line --------------------------------------------------------

REFS = ("# T\n\nD.\n\n## Steps\n\n### a\n\nA.\n\n- type: shell\n\n```shell command\necho ${a.nope} ${b.stdout}\n```\n\n"
        "### b\n\nB.\n\n- type: shell\n- command: echo hi\n- timeout: soon\n\n## Outputs\n\n### o\n\nO.\n\n- source: ${c.stdout}\n")


def test_validation_problems_name_the_step_line():
    found = {(d.line, d.node) for d in check(parse(REFS, "w.pflow.md")) if d.severity == "error"}
    assert found == {(14, "a"), (17, "b"), (31, None)}  # a's command block, b's heading, the output's source
    with pytest.raises(InvalidWorkflow) as err:
        execute(parse(REFS, "w.pflow.md"), source="w.pflow.md")
    lines = str(err.value).splitlines()
    assert "w.pflow.md:14: step 'a' (command): '${b.stdout}' refers to node 'b', which does not run before 'a'" in lines
    assert any(line.startswith("w.pflow.md:17: step 'b' (timeout): ") for line in lines)


def test_json_made_from_markdown_keeps_its_json_paths_and_says_the_line():
    document = json.loads((CASES / "md_bad_reference.pflow_ir.json").read_text())  # pflow's IR, saved as JSON
    (d,) = [d for d in check(document) if d.severity == "error"]
    assert d.located("ir.json") == ("ir.json: $.nodes[1].params.command (node use): '${say.stdot}': shell node 'say' has no output 'stdot'; "
                                    "did you mean 'stdout'? (line 14 of the markdown it was made from)")


def test_json_without_annotations_keeps_its_json_paths():
    doc = {"nodes": [{"id": "a", "type": "shell", "params": {"command": "echo ${zz}"}}]}
    (d,) = [d for d in check(doc) if d.severity == "error"]
    assert d.line is None and d.located("w.json").startswith("w.json: $.nodes[0].params.command (node a): ")


# -- nested markdown workflows ------------------------------------------------------------------

PARENT = "# P\n\nD.\n\n## Steps\n\n### call\n\nCalls the child.\n\n- type: workflow\n- workflow: ./child.pflow.md\n- inputs:\n    word: hi\n\n## Outputs\n\n### got\n\nG.\n\n- source: ${call.said}\n"
CHILD = "# C\n\nD.\n\n## Inputs\n\n### word\n\nW.\n\n- type: string\n\n## Steps\n\n### say\n\nS.\n\n- type: shell\n- command: echo ${word}!\n\n## Outputs\n\n### said\n\nX.\n\n- source: ${say.stdout}\n"


def test_a_nested_markdown_child_runs(tmp_path):
    (tmp_path / "child.pflow.md").write_text(CHILD)
    (tmp_path / "p.pflow.md").write_text(PARENT)
    trace = execute(read(tmp_path / "p.pflow.md"), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED and trace.outputs == {"got": "hi!"}


def test_an_invalid_nested_markdown_child_names_its_file_and_line(tmp_path):
    (tmp_path / "child.pflow.md").write_text(CHILD.replace("echo ${word}!", "echo ${wrod}!"))
    (tmp_path / "p.pflow.md").write_text(PARENT)
    trace = execute(read(tmp_path / "p.pflow.md"), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert f"{tmp_path / 'child.pflow.md'}:15: step 'say' (command): '${{wrod}}'" in trace.error


def test_a_malformed_nested_markdown_child_fails_its_node(tmp_path):
    (tmp_path / "child.pflow.md").write_text(CHILD.replace("- type: shell\n", ""))
    (tmp_path / "p.pflow.md").write_text(PARENT)
    trace = execute(read(tmp_path / "p.pflow.md"), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and f"{tmp_path / 'child.pflow.md'}:15: step 'say' has no '- type:'" in trace.error


def test_a_missing_nested_markdown_child_is_rejected_before_anything_runs(tmp_path):
    (tmp_path / "p.pflow.md").write_text(PARENT)
    with pytest.raises(InvalidWorkflow, match=r"p\.pflow\.md:7: step 'call' \(workflow\): no such workflow file"):
        execute(read(tmp_path / "p.pflow.md"), base_dir=tmp_path, source="p.pflow.md")


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch):
    from typer.testing import CliRunner

    from harness._cli.main import app

    monkeypatch.delenv("CI", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_cli_runs_and_validates_markdown(cli, tmp_path):
    (tmp_path / "child.pflow.md").write_text(CHILD)
    (tmp_path / "p.pflow.md").write_text(PARENT)
    result = cli("run", tmp_path / "p.pflow.md", "--format", "json", "--trace-dir", tmp_path / "traces")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outputs"] == {"got": "hi!"}
    result = cli("validate", tmp_path / "child.pflow.md")
    assert result.exit_code == 0 and "valid (1 nodes)" in result.stdout


def test_cli_names_the_markdown_line(cli, tmp_path):
    (tmp_path / "w.pflow.md").write_text(REFS)
    result = cli("validate", tmp_path / "w.pflow.md")
    assert result.exit_code == 2
    assert f"{tmp_path / 'w.pflow.md'}:31: output 'o' (source): '${{c.stdout}}' refers to 'c', which is neither an input nor a node" in result.stderr.splitlines()
    (tmp_path / "bad.pflow.md").write_text(BAD["bad yaml in a bullet"][0])
    for command in ("run", "validate"):
        result = cli(command, tmp_path / "bad.pflow.md")
        assert result.exit_code == 2 and "Traceback" not in result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"flowtape: {tmp_path / 'bad.pflow.md'}:15: 'inputs': not valid YAML: expected ',' or ']'")


# -- a golden task written as markdown ----------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
MEETING_TIMES = Path(__file__).parent / "markdown" / "meeting-times.pflow.md"


def test_the_markdown_task_workflow_is_the_json_one():
    mine, golden = _bare(read(MEETING_TIMES)), _bare(json.loads((ROOT / "goldens" / "meeting-times" / "workflow.json").read_text()))
    mine["edges"], golden["edges"] = _edges(mine["edges"]), _edges(golden["edges"])
    assert mine == golden


def test_flowtape_test_runs_a_task_whose_workflow_is_markdown(cli, tmp_path):
    # the shipped task with workflow.pflow.md instead of workflow.json, replayed from the shipped cassettes
    task = tmp_path / "suite" / "meeting-times"
    shutil.copytree(ROOT / "goldens" / "meeting-times", task)
    (task / "workflow.json").unlink()
    shutil.copy(MEETING_TIMES, task / "workflow.pflow.md")
    shutil.copytree(ROOT / "cassettes" / "meeting-times", tmp_path / "cassettes" / "meeting-times")
    result = cli("test", tmp_path / "suite", "--approach", "ir", "--cassettes", tmp_path / "cassettes",
                 "--ledger", tmp_path / "ledger.duckdb", "--trace-dir", tmp_path / "traces", "--format", "json")
    assert result.exit_code == 0, result.output
    units = json.loads(result.stdout)["units"]
    assert len(units) == 8 and {u["status"] for u in units} == {"passed"}
    assert cli("validate", task).exit_code == 0
    # and a mistake in it is reported at its line, before anything runs
    (task / "workflow.pflow.md").write_text(MEETING_TIMES.read_text().replace("${convert.result.time_difference} ${away}", "${convert.reslt} ${away}"))
    result = cli("validate", task)
    assert result.exit_code == 2 and f"{task / 'workflow.pflow.md'}:50: step 'summary' (command): " in result.stderr


# -- hostile markdown ---------------------------------------------------------------------------

LINES = st.sampled_from([
    "# T", "## Steps", "## Inputs", "## Outputs", "## Cache", "## steps", "### a", "### b", "### end", "### A b", "#### deep",
    "Prose.", "* note", "- type: shell", "- type: code", "- command: echo ${a.stdout}", "- next: a", "- next: b, a", "- next: end",
    "- on-error: b", "- inputs:", "    x: 1", "    - y", "  z: [", "- batch:", "    items: [1, 2]", "- loop:", "    until: ${a.done}",
    "- source: ${a.stdout}", "- prompt: ./nope.md", "- code: x.py", "- type:", "-", "- : x", "- x: 'unclosed", "- x: [1, 2", "- x: {a: 1}",
    "```shell command", "```python code", "```yaml batch", "```yaml x", "```", "````", "~~~prompt", "~~~", "next = 'b'", "next: str = \"end\"",
    "---", "", "\t- type: shell", "items: [1", "\ufeff# T", "- x: |", "    text", "- x: >", "\r",
])


FIELDS = st.sampled_from([
    "- type: shell", "- type: shell\n- command: echo ${a.stdout}", "- command: echo hi", "- next: end", "- next: a", "- next: b",
    "- on-error: b", "- inputs:\n    x: ${a.stdout}", "- batch:\n    items: [1, 2]", "- loop:\n    until: ${a.stdout}\n    max_iterations: 2",
    "- type: code\n\n```python code\nx: int\nresult: int = x\nnext = 'b'\n```", "```shell command\necho ${item}\n```", "```yaml batch\nitems: [1]\n```",
    "- timeout: 007", "- x: 'q'", "- retry: {max: 2}", "- approval: required", "* note", "More prose.", "",
])
STEPS = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "end", "B"]), st.lists(FIELDS | LINES, max_size=6)), min_size=1, max_size=4)


def _document(steps, tail):
    parts = ["# T", "", "D.", "", "## Inputs", "", "### n", "", "N.", "", "- type: integer", "", "## Steps", ""]
    for name, fields in steps:
        typed = any(f.startswith("- type:") for f in fields)
        parts += [f"### {name}", "", "Does it.", "", *([] if typed else ["- type: shell"]), *fields, ""]
    return "\n".join(parts + ["## Outputs", "", "### o", "", "O.", "", "- source: ${a.stdout}", *tail])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(LINES | st.text(max_size=12), max_size=40) | st.builds(_document, STEPS, st.lists(LINES, max_size=3)))
def test_any_markdown_is_an_ir_or_one_line_error(lines):
    text = lines if isinstance(lines, str) else "\n".join(lines)
    try:
        ir = parse(text, "f.pflow.md")
    except MarkdownError as err:
        assert "\n" not in str(err) and str(err).startswith("f.pflow.md:")
        return
    json.dumps(ir)  # plain JSON data
    for d in check(ir):
        assert d.line is None or isinstance(d.line, int)
        d.located("f.pflow.md")


def test_flowtape_diff_compares_markdown_workflows(cli):
    result = cli("diff", CASES / "loop_until.pflow.md", CASES / "loop_capped.pflow.md", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["nodes_changed"] == {"count": ["loop: max_iterations: A 10, B 2"]}
    # a markdown workflow and its JSON twin differ only in their prose, not in where lines are
    result = cli("diff", CASES / "error_edge.json", CASES / "error_edge.pflow.md", "--format", "json")
    diff = json.loads(result.stdout)
    assert diff["edges_added"] == diff["edges_removed"] == [] and diff["nodes_added"] == diff["nodes_removed"] == []
    assert all(c.startswith("purpose: ") for changes in diff["nodes_changed"].values() for c in changes)
