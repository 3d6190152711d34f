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


def test_missing_ir_version_and_nodes():
    doc = wf()
    del doc["ir_version"], doc["nodes"]
    out = messages(doc)
    assert "$.ir_version: missing required key 'ir_version'" in out
    assert "$.nodes: missing required key 'nodes'" in out


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
    assert "$.nodes[2] (node orphan): node 'orphan' is never reached from start node 'log'" in messages(doc)


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
    doc = wf(nodes=[{"id": "t", "type": "mcp-time-get_current_time", "params": {"timezone": "UTC"}}], edges=[], outputs={})
    assert check(doc, inputs={"repo": "."}) == []
    assert check(doc, inputs={"repo": "."}, mcp_servers=["time"]) == []
    assert messages(doc, inputs={"repo": "."}, mcp_servers=["git"]) == ["$.nodes[0].type (node t): no MCP server for 'mcp-time-get_current_time' (servers: git)"]


@pytest.mark.parametrize("doc", [[], "x", None, {"ir_version": "0.1.0", "nodes": "x"}, {"ir_version": 1, "nodes": [{}]}])
def test_garbage_documents_give_diagnostics_not_exceptions(doc):
    assert check(doc)


def test_load_workflow_raises_with_every_diagnostic():
    with pytest.raises(InvalidWorkflow) as err:
        load_workflow(wf(bogus=1, edgez=1), source="wf.json")
    assert len(err.value.diagnostics) == 2
    assert str(err.value).startswith("wf.json: $.bogus")
