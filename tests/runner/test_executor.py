"""The executor: edges and actions, error edges, retries, sequential order, nested outputs."""

import json

import pytest

from runner import InvalidWorkflow, RunStatus, Runtime, Trace, execute


def shell(node_id, command, **params):
    return {"id": node_id, "type": "shell", "params": {"command": command, **params}}


def doc(nodes, edges=(), outputs=None, inputs=None):
    return {"ir_version": "0.1.0", "inputs": inputs or {}, "nodes": nodes, "edges": list(edges), "outputs": outputs or {}}


def test_runs_along_edges_and_resolves_outputs(tmp_path):
    d = doc(
        [shell("a", "printf '%s' ${who}"), shell("b", "tr a-z A-Z", stdin="${a.stdout}")],
        [{"from": "a", "to": "b"}],
        {"shout": {"source": "${b.stdout}"}, "code": "${b.exit_code}"},
        {"who": {"type": "string"}},
    )
    trace = execute(d, {"who": "ada lovelace"}, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED
    assert trace.outputs == {"shout": "ADA LOVELACE", "code": 0}
    assert [s.step_id for s in trace.steps] == ["a", "b"]
    assert trace.steps[0].params == {"command": "printf '%s' 'ada lovelace'"}
    assert trace.steps[1].output == {"stdout": "ADA LOVELACE", "stderr": "", "exit_code": 0}
    assert trace.workflow_hash.startswith("sha256:")


def test_without_edges_nodes_run_in_listed_order(tmp_path):
    d = doc([shell("one", "echo 1"), shell("two", "echo ${one.stdout}2")], outputs={"x": "${two.stdout}"})
    assert execute(d, base_dir=tmp_path).outputs == {"x": "1\n2\n"}


def test_failure_takes_the_error_edge_and_the_fallback_sees_the_output(tmp_path):
    d = doc(
        [shell("try", "echo oops >&2; exit 3"), shell("ok", "echo fine"), shell("fallback", "echo recovered from ${try.exit_code}")],
        [{"from": "try", "to": "ok"}, {"from": "try", "to": "fallback", "action": "error"}],
        {"result": "${fallback.stdout}", "skipped": "${ok.stdout}"},
    )
    trace = execute(d, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED
    assert trace.outputs == {"result": "recovered from 3\n", "skipped": None}
    first = trace.step("try")
    assert first.action == "error" and first.error.startswith("command exited with 3: oops")
    assert [s.step_id for s in trace.steps] == ["try", "fallback"]


def test_failure_without_error_edge_fails_the_run_naming_the_node(tmp_path):
    d = doc([shell("a", "echo start"), shell("boom", "exit 7"), shell("never", "echo no")], [{"from": "a", "to": "boom"}, {"from": "boom", "to": "never"}])
    trace = execute(d, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "node 'boom' failed: command exited with 7: "
    assert [s.step_id for s in trace.steps] == ["a", "boom"]


def test_retries_count_every_attempt_and_wait_with_backoff(tmp_path):
    counter = tmp_path / "n"
    flaky = shell("flaky", f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; [ $n -ge 3 ]")
    flaky["retry"] = {"max": 5, "wait": 0.5, "backoff": 2}
    slept = []
    trace = execute(doc([flaky]), runtime=Runtime(sleep=slept.append), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED
    assert trace.step("flaky").attempts == 3
    assert slept == [0.5, 1.0]


def test_retries_stop_at_max_and_then_fail(tmp_path):
    node = shell("never", "exit 1")
    node["retry"] = {"max": 2}
    trace = execute(doc([node]), runtime=Runtime(sleep=lambda s: None), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and trace.step("never").attempts == 2


def test_a_node_may_return_a_named_action(tmp_path):
    # Built-in nodes return "default"; a custom action edge is followed when a node returns it,
    # and otherwise the default edge is taken.
    d = doc([shell("a", "true"), shell("b", "echo b"), shell("c", "echo c")], [{"from": "a", "to": "b"}, {"from": "a", "to": "c", "action": "special"}], {"b": "${b.stdout}"})
    assert execute(d, base_dir=tmp_path).outputs == {"b": "b\n"}


def test_invalid_workflow_or_inputs_raise_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    d = doc([shell("a", f"touch {marker}")], inputs={"x": {"type": "integer"}})
    with pytest.raises(InvalidWorkflow, match="missing required input 'x'"):
        execute(d, {}, base_dir=tmp_path)
    assert not marker.exists()


def test_defaults_apply_and_types_are_kept(tmp_path):
    d = doc([shell("a", "echo ${n} ${items}")], outputs={"n": "${n}", "items": "${items}", "echo": "${a.stdout}"},
            inputs={"n": {"type": "integer", "required": False, "default": 4}, "items": {"type": "array", "required": False, "default": [1, "two"]}})
    out = execute(d, base_dir=tmp_path).outputs
    assert out == {"n": 4, "items": [1, "two"], "echo": '4 [1, "two"]\n'}


def test_nested_workflow_runs_with_its_own_inputs(tmp_path):
    child = doc([shell("up", "printf %s ${word} | tr a-z A-Z")], outputs={"upper": "${up.stdout}"}, inputs={"word": {"type": "string"}})
    (tmp_path / "child.json").write_text(json.dumps(child))
    parent = doc(
        [shell("pick", "printf hello"), {"id": "sub", "type": "workflow", "params": {"workflow_ref": "child.json", "param_mapping": {"word": "${pick.stdout}"}}}],
        [{"from": "pick", "to": "sub"}],
        {"result": "${sub.upper}"},
    )
    trace = execute(parent, base_dir=tmp_path)
    assert trace.outputs == {"result": "HELLO"}
    assert [s.step_id for s in trace.steps] == ["pick", "sub/up", "sub"]


def test_nested_workflow_failure_fails_the_parent_node(tmp_path):
    child = doc([shell("bad", "exit 2")])
    parent = doc([{"id": "sub", "type": "workflow", "params": {"workflow_ir": child}}])
    trace = execute(parent, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "node 'sub' failed: node 'sub/bad' failed: command exited with 2: "


def test_trace_round_trips_through_json(tmp_path):
    trace = execute(doc([shell("a", "echo hi")], outputs={"o": "${a.stdout}"}), base_dir=tmp_path)
    path = trace.write(tmp_path / "traces")
    again = Trace.model_validate_json(path.read_text())
    assert again == trace and again.version == 1
    assert json.loads(path.read_text())["steps"][0]["kind"] == "shell"
