"""pflow's `batch`: a node run once per item, each item a step of its own in the trace, the
collected result (`results`, `count`, `errors`, ...) the node's output; a failing item fails
the node (`fail_fast`) and takes its error edge, or is listed (`continue`)."""

from __future__ import annotations

import pytest

from runner import InvalidWorkflow, RunStatus, check, execute


def workflow(batch: dict, command: str = "test ${item} -ne 2 && echo ok-${item}", error_edge: bool = True) -> dict:
    nodes = [{"id": "each", "type": "shell", "params": {"command": command}, "batch": batch},
             {"id": "after", "type": "shell", "params": {"command": "echo done"}},
             {"id": "handler", "type": "shell", "params": {"command": "echo handled"}}]
    edges = [{"from": "each", "to": "after"}] + ([{"from": "each", "to": "handler", "action": "error"}] if error_edge else [])
    return {"inputs": {"xs": {"type": "array"}}, "nodes": nodes, "edges": edges,
            "outputs": {"each": {"source": "${each ?? 'none'}"}, "done": {"source": "${after.stdout ?? handler.stdout}"}}}


def test_a_failing_item_fails_the_node_and_takes_its_error_edge(tmp_path):
    trace = execute(workflow({"items": "${xs}"}), {"xs": [1, 2, 3]}, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED  # the error edge handled it
    assert [(s.step_id, s.action) for s in trace.steps] == [("each[0]", "default"), ("each[1]", "error"), ("each", "error"), ("handler", "default")]
    item, batch = trace.steps[1], trace.steps[2]
    assert item.error == "Command failed with exit code 1" and item.params["command_values"] == {"__ft_0": "2", "__ft_1": "2"}
    assert batch.kind == "batch" and batch.error == "Batch 'each' failed at item [1]: Command failed with exit code 1"
    # the batch's output so far is kept in the trace: one result, one error; item 3 never ran
    assert [r["item"] for r in batch.output["results"]] == [1] and [e["index"] for e in batch.output["errors"]] == [1]
    assert trace.outputs == {"each": "none", "done": "handled"}


def test_without_an_error_edge_the_run_fails_naming_the_item(tmp_path):
    trace = execute(workflow({"items": "${xs}"}, error_edge=False), {"xs": [1, 2]}, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "node 'each' failed: Batch 'each' failed at item [1]: Command failed with exit code 1"


def test_continue_lists_the_failures_and_goes_on(tmp_path):
    trace = execute(workflow({"items": "${xs}", "error_handling": "continue", "as": "n"}, command="test ${n} -ne 2 && echo ok-${n}:${__index__}"),
                    {"xs": [1, 2, 3]}, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED
    out = trace.outputs["each"]
    assert [r["stdout"] for r in out["results"]] == ["ok-1:0", "ok-3:2"] and [r["original_index"] for r in out["results"]] == [0, 2]
    assert (out["count"], out["success_count"], out["error_count"]) == (3, 2, 1)
    assert out["errors"][0]["item"] == 2 and out["errors"][0]["error"] == "Command failed with exit code 1"
    assert trace.outputs["done"] == "done"
    assert [s.step_id for s in trace.steps] == ["each[0]", "each[1]", "each[2]", "each", "after"]


def test_parallel_items_keep_their_order(tmp_path):
    doc = workflow({"items": "${xs}", "parallel": True, "max_concurrent": 2}, command="sleep 0.0${item}; echo ${item}")
    trace = execute(doc, {"xs": [3, 1, 4, 1, 5]}, base_dir=tmp_path)
    out = trace.outputs["each"]
    assert [r["stdout"] for r in out["results"]] == ["3", "1", "4", "1", "5"]
    assert out["batch_metadata"]["execution_mode"] == "parallel" and out["batch_metadata"]["max_concurrent"] == 2
    assert [s.step_id for s in trace.steps[:5]] == [f"each[{i}]" for i in range(5)]


def test_items_that_are_not_a_list_fail_the_node(tmp_path):
    doc = workflow({"items": "${name}"}, error_edge=False)
    doc["inputs"] = {"name": {"type": "string"}}
    trace = execute(doc, {"name": "abc"}, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and trace.error == "node 'each' failed: batch.items must be a list, got str"


@pytest.mark.parametrize(("batch", "command", "message"), [
    ({"items": "${xs}", "paralel": True}, "echo ${item}", ("$.nodes[0].batch.paralel", "unknown key 'paralel'")),
    ({"items": "${xz}"}, "echo ${item}", ("$.nodes[0].batch.items", "'${xz}' refers to 'xz', which is neither an input nor a node")),
    ({"items": "${xs}", "as": "row"}, "echo ${item}", ("$.nodes[0].params.command", "'${item}' refers to 'item', which is neither an input nor a node")),
    ({"items": "${xs}", "error_handling": "skip"}, "echo ${item}", ("$.nodes[0].batch.error_handling", "Input should be 'fail_fast' or 'continue'")),
])
def test_a_bad_batch_is_a_validation_error_at_its_place(batch, command, message):
    found = [(d.path, d.message) for d in check(workflow(batch, command=command))]
    assert message in found, found


def test_a_batch_nodes_output_is_read_through_results(tmp_path):
    doc = workflow({"items": "${xs}"}, command="echo ${item}")
    doc["nodes"][1]["params"]["command"] = "echo ${each.stdout}"
    with pytest.raises(InvalidWorkflow, match=r"batch node 'each' has no output 'stdout' \(each item's output is in results\[i\]\)"):
        execute(doc, {"xs": [1]}, base_dir=tmp_path)
    doc["nodes"][1]["params"]["command"] = "echo ${each.results[1].stdout} of ${each.count}"
    trace = execute(doc, {"xs": [7, 8]}, base_dir=tmp_path)
    assert trace.outputs["done"] == "8 of 2"
