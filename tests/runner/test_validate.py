"""Validation: every problem at once, each naming the node and the JSON path."""

import copy

import pytest

from runner import InvalidWorkflow, check, load_workflow


def wf(**overrides):
    doc = {
        "ir_version": "0.1.0",
        "inputs": {"repo": {"type": "string", "required": True}, "limit": {"type": "integer", "required": False, "default": 5}},
        "nodes": [
            {"id": "log", "type": "shell", "params": {"command": "git -C ${repo} log -n ${limit}"}},
            {"id": "count", "type": "shell", "params": {"command": "wc -l", "stdin": "${log.stdout}"}},
        ],
        "edges": [{"from": "log", "to": "count"}],
        "outputs": {"n": {"source": "${count.stdout}"}},
    }
    doc.update(overrides)
    return doc


def messages(doc, **kw):
    return [str(d) for d in check(doc, **kw)]


def test_a_valid_workflow_has_no_diagnostics():
    assert check(wf(), inputs={"repo": "."}) == []
    assert load_workflow(wf()).first_node == "log"


def test_unknown_top_level_key_is_an_error_with_a_suggestion():
    assert messages(wf(edgez=[])) == ["$.edgez: unknown top-level key 'edgez'; did you mean 'edges'?"]


def test_missing_nodes_is_an_error_and_a_missing_ir_version_is_not():
    doc = wf()
    del doc["ir_version"]
    assert check(doc) == []  # pflow fills in 0.1.0
    del doc["nodes"]
    assert "$.nodes: missing required key 'nodes'" in messages(doc)


def test_schema_errors_name_node_and_path():
    doc = wf()
    doc["nodes"][1]["paramz"] = {}
    doc["nodes"][0]["retry"] = {"max": 0}
    out = messages(doc)
    assert "$.nodes[1].paramz (node count): unknown key 'paramz'" in out
    assert any(m.startswith("$.nodes[0].retry.max (node log): ") for m in out)


def test_unknown_node_type_and_param_with_did_you_mean():
    doc = wf()
    doc["nodes"][0]["type"] = "shel"
    doc["nodes"][1]["params"]["stdn"] = "x"
    out = messages(doc)
    assert "$.nodes[0].type (node log): unknown node type 'shel'; did you mean 'shell'?" in out
    assert "$.nodes[1].params.stdn (node count): unknown param 'stdn' for shell; did you mean 'stdin'?" in out


def test_missing_required_param():
    doc = wf()
    del doc["nodes"][0]["params"]["command"]
    assert "$.nodes[0].params (node log): missing required param 'command' for shell" in messages(doc)


def test_references_to_missing_later_and_self():
    doc = wf()
    doc["nodes"][0]["params"]["command"] = "echo ${count.stdout} ${log.stdout} ${lgo.stdout} ${repoo}"
    out = messages(doc)
    assert "$.nodes[0].params.command (node log): '${count.stdout}' refers to node 'count', which does not run before 'log'" in out
    assert "$.nodes[0].params.command (node log): '${log.stdout}' refers to the node itself" in out
    assert any("'${lgo.stdout}' refers to 'lgo', which is neither an input nor a node; did you mean 'log'?" in m for m in out)
    assert any("'${repoo}' refers to 'repoo'" in m and "did you mean 'repo'?" in m for m in out)


def test_unknown_output_key_of_a_known_node_type():
    doc = wf()
    doc["nodes"][1]["params"]["stdin"] = "${log.stdot}"
    assert messages(doc) == ["$.nodes[1].params.stdin (node count): '${log.stdot}': shell node 'log' has no output 'stdot'; did you mean 'stdout'?"]


def test_cycle_is_reported():
    doc = wf(edges=[{"from": "log", "to": "count"}, {"from": "count", "to": "log"}])
    assert any(m.startswith("$.edges (node log): cycle: log -> count -> log") for m in messages(doc))


def test_edges_to_unknown_nodes_and_unknown_start_node():
    doc = wf(edges=[{"from": "log", "to": "cuont"}], start_node="lg")
    out = messages(doc)
    assert "$.edges[0].to: unknown node 'cuont'; did you mean 'count'?" in out
    assert "$.start_node: unknown node 'lg'; did you mean 'log'?" in out


def test_unreachable_node():
    doc = wf()
    doc["nodes"].append({"id": "orphan", "type": "shell", "params": {"command": "true"}})
    diagnostics = check(doc, inputs={"repo": "."})
    assert [str(d) for d in diagnostics] == ["$.nodes[2] (node orphan): warning: node 'orphan' is never reached from start node 'log' and will not run"]
    load_workflow(doc)  # a warning does not stop the run, as in pflow


def test_output_sources_must_resolve():
    doc = wf(outputs={"n": {"source": "${cuont.stdout}"}, "m": {"description": "no source"}, "k": "${log.stdout}"})
    out = messages(doc)
    assert any(m.startswith("$.outputs.n.source: '${cuont.stdout}' refers to 'cuont'") for m in out)
    assert "$.outputs.m: output has no 'source'" in out
    assert len(out) == 2


def test_input_values_missing_unknown_and_mistyped():
    out = messages(wf(), inputs={"limit": "five", "rpo": "."})
    assert "$.inputs.limit: input 'limit': expected integer, got str \"five\"" in out
    assert "$.inputs.rpo: unknown input 'rpo'; did you mean 'repo'?" in out
    assert "$.inputs.repo: missing required input 'repo'" in out


def test_template_syntax_error_in_params():
    doc = wf()
    doc["nodes"][0]["params"]["command"] = "echo ${repo"
    assert any(m.startswith("$.nodes[0].params.command (node log): template error: unclosed") for m in messages(doc))


def test_everything_is_reported_at_once():
    doc = copy.deepcopy(wf(bogus=1))
    doc["nodes"][0]["type"] = "shel"
    doc["nodes"][1]["params"]["stdin"] = "${nope}"
    doc["outputs"]["x"] = {"source": "${zzz}"}
    assert len(check(doc, inputs={})) == 5


def test_mcp_types_are_checked_against_configured_servers():
    doc = wf(nodes=[{"id": "t", "type": "mcp-time-get_current_time", "params": {"timezone": "UTC"}}], edges=[], outputs={}, inputs={})
    assert check(doc, inputs={}) == []
    assert check(doc, inputs={}, mcp_servers=["time"]) == []
    assert messages(doc, inputs={}, mcp_servers=["git"]) == ["$.nodes[0].type (node t): no MCP server for 'mcp-time-get_current_time' (servers: git)"]


@pytest.mark.parametrize("doc", [[], "x", None, {"ir_version": "0.1.0", "nodes": "x"}, {"ir_version": 1, "nodes": [{}]}])
def test_garbage_documents_give_diagnostics_not_exceptions(doc):
    assert check(doc)


def test_load_workflow_raises_with_every_diagnostic():
    with pytest.raises(InvalidWorkflow) as err:
        load_workflow(wf(bogus=1, edgez=1), source="wf.json")
    assert len(err.value.diagnostics) == 2
    assert str(err.value).startswith("wf.json: $.bogus")


def test_declared_inputs_no_template_uses_are_errors():
    doc = wf()
    doc["nodes"][0]["params"]["command"] = "git -C ${repo} log"
    assert messages(doc) == ["$.inputs.limit: input 'limit' is declared but no template uses it"]


def test_a_whole_node_reference_in_params_is_an_error_but_allowed_in_outputs():
    doc = wf(outputs={"everything": "${count}"})
    doc["nodes"][1]["params"]["stdin"] = "${log}"
    assert messages(doc) == ["$.nodes[1].params.stdin (node count): '${log}' is a whole node; name one of its outputs, e.g. '${log.<key>}'"]


def test_a_loop_needs_one_condition_and_a_batch_is_read_through_its_results():
    doc = wf()
    doc["nodes"][1]["loop"] = {"max_iterations": 3}
    assert messages(doc) == ["$.nodes[1].loop (node count): give exactly one of 'while' (go on while it holds) and 'until' (stop once it holds)"]
    doc = wf()
    doc["nodes"][1]["batch"] = {"items": "${log.stdout}"}  # a batch's output is results, count, ...: not stdout
    assert messages(doc) == ["$.outputs.n.source: '${count.stdout}': batch node 'count' has no output 'stdout' (each item's output is in results[i])"]


def test_a_nodes_inputs_param_names_values_for_its_other_params():
    doc = wf()
    doc["nodes"][1]["params"] = {"inputs": {"text": "${log.stdout}"}, "command": "wc -l", "stdin": "${text}"}
    assert check(doc) == []


def test_bare_path_output_source_is_a_reference():
    assert check(wf(outputs={"n": {"source": "count.stdout"}})) == []
    assert any("'${cuont.stdout}'" in m for m in messages(wf(outputs={"n": {"source": "cuont.stdout"}})))


def test_empty_required_input_is_an_error():
    assert messages(wf(), inputs={"repo": ""}) == ["$.inputs.repo: required input 'repo' is empty"]


def test_a_back_edge_with_its_own_action_is_a_loop_not_a_cycle():
    doc = wf(edges=[{"from": "log", "to": "count"}, {"from": "count", "to": "log", "action": "error"}])
    assert check(doc, inputs={"repo": "."}) == []


def test_a_cycle_upstream_of_other_nodes_is_reported_as_the_cycle():
    doc = wf(edges=[{"from": "log", "to": "count"}, {"from": "count", "to": "log"}, {"from": "count", "to": "tail"}])
    doc["nodes"].append({"id": "tail", "type": "shell", "params": {"command": "true"}})
    assert [m for m in messages(doc) if "cycle" in m] == ["$.edges (node log): cycle: log -> count -> log"]


def test_a_long_chain_validates_without_recursion():
    nodes = [{"id": f"n{i}", "type": "shell", "params": {"command": f"echo ${{n{i - 1}.stdout}}" if i else "echo"}} for i in range(3000)]
    assert check(wf(nodes=nodes, edges=[{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(2999)], inputs={}, outputs={})) == []


def test_an_output_named_like_a_node_that_a_later_output_reads_is_a_warning():
    assert check(wf(outputs={"count": "${count.stdout}"}), inputs={"repo": "."}) == []
    diagnostics = check(wf(outputs={"count": "${count.stdout}", "again": "${count.exit_code}"}), inputs={"repo": "."})
    assert [str(d) for d in diagnostics] == ["$.outputs.count: warning: output 'count' has the name of a node, so output 'again' reads this output instead of it (as in pflow)"]


def test_a_node_id_that_is_not_a_string_is_a_diagnostic_and_hints_skip_it():
    from runner._hints import did_you_mean

    doc = wf()
    doc["nodes"][0]["id"] = 0
    assert "$.nodes[0].id: Input should be a valid string" in messages(doc)
    assert did_you_mean("lgo", [0, "log", None]) == "; did you mean 'log'?" and did_you_mean(0, ["log"]) == ""


def test_a_workflow_or_inputs_nested_too_deep_is_one_diagnostic():
    deep = []
    for _ in range(1_000):
        deep = [deep]
    assert messages(wf(mappings={"x": deep})) == ["$: the workflow nests arrays and objects deeper than 100 levels"]
    assert messages(wf(), inputs={"repo": deep}) == ["$.inputs: input values nest arrays and objects deeper than 100 levels"]


@pytest.mark.parametrize(
    ("node_type", "params", "message"),
    [
        ("shell", {"command": ["echo", "hi"]}, "param 'command' of shell must be a string, not a list"),
        ("shell", {"command": "echo", "timeout": "soon"}, "param 'timeout' of shell must be a number, not a string"),
        ("shell", {"command": "echo", "timeout": True}, "param 'timeout' of shell must be a number, not a boolean"),
        ("shell", {"command": "echo", "env": ["A=1"]}, "param 'env' of shell must be an object, not a list"),
        ("shell", {"command": "echo", "ignore_errors": "yes"}, "param 'ignore_errors' of shell must be true or false, not a string"),
        ("shell", {"command": "echo", "timeout": "${repo}s"}, "param 'timeout' of shell must be a number; text around a template makes a string"),
        ("workflow", {"workflow": "c.json", "max_depth": 2.5}, "param 'max_depth' of workflow must be an integer, not the number 2.5"),
        ("http", {"url": 7}, "param 'url' of http must be a string, not the number 7"),
    ],
)
def test_params_are_checked_against_their_declared_types(node_type, params, message):
    doc = wf(nodes=[{"id": "n", "type": node_type, "params": {**params, "inputs": {"r": "${repo}"}}}], edges=[], outputs={})
    assert [m for m in messages(doc) if "param" in m] == [f"$.nodes[0].params.{next(iter(params.keys() - {'workflow', 'command'}), 'command') if len(params) > 1 else next(iter(params))} (node n): {message}"]


@pytest.mark.parametrize("params", [
    {"command": "${repo}", "timeout": "${limit}", "env": "${limit}", "ignore_errors": "${repo}"},
    {"command": "echo", "timeout": 2, "strip_newline": False, "env": {"A": "1"}, "stdin": ["any", 1]},
    {"command": "echo", "timeout": 2.5},
])
def test_values_of_the_declared_type_and_whole_templates_pass(params):
    doc = wf(nodes=[{"id": "n", "type": "shell", "params": params}], edges=[], outputs={})
    assert not [m for m in messages(doc) if "param" in m]


def test_a_coalesce_chain_with_a_fallback_may_read_later_nodes_and_undeclared_keys():
    # pflow's loops seed a read of a node that runs later with `??`; and a path into JSON text a
    # node printed is walked at run time. With a fallback there when the node runs, both are fine.
    doc = {"nodes": [{"id": "init", "type": "shell", "params": {"command": "echo start"}},
                     {"id": "work", "type": "shell", "params": {"command": "echo ${check.stdout ?? init.stdout} ${init.deep.key ?? 'none'}"}},
                     {"id": "check", "type": "shell", "params": {"command": "echo again"}}],
           "edges": [{"from": "init", "to": "work"}, {"from": "work", "to": "check"}, {"from": "check", "to": "work", "action": "again"}]}
    assert check(doc) == []
    # without a fallback that is there, the read is still an error
    doc["nodes"][1]["params"]["command"] = "echo ${check.stdout ?? check.stderr}"
    assert messages(doc)[0] == "$.nodes[1].params.command (node work): '${check.stdout}' refers to node 'check', which does not run before 'work'"


def test_keys_starting_with_an_underscore_are_annotations_and_ignored():
    # pflow's markdown parser adds `_source_line` and the like to what it emits
    doc = wf()
    doc["_source_file"] = "flow.pflow.md"
    doc["nodes"][0]["_source_line"] = 12
    doc["edges"][0]["_source_line"] = 20
    assert check(doc) == []
    doc["nodes"][0]["source_line"] = 12
    assert messages(doc)[0] == "$.nodes[0].source_line (node log): unknown key 'source_line'"
