"""The executor: edges and actions, error edges, retries, outputs, nested workflows."""

import json

import pytest

from runner import InvalidWorkflow, RunStatus, Runtime, Trace, execute
from runner.nodes import BUILTIN_NODES, NodeFailure, NodeResult, NodeType, ParamSpec


def shell(node_id, command, **params):
    return {"id": node_id, "type": "shell", "params": {"command": command, **params}}


def chain(*ids):
    return [{"from": a, "to": b} for a, b in zip(ids, ids[1:])]


def doc(nodes, edges=(), outputs=None, inputs=None):
    return {"ir_version": "0.1.0", "inputs": inputs or {}, "nodes": nodes, "edges": list(edges), "outputs": outputs or {}}


def test_runs_along_edges_and_resolves_outputs(tmp_path):
    d = doc(
        [shell("a", "printf '%s' ${who}"), shell("b", "tr a-z A-Z", stdin="${a.stdout}")],
        chain("a", "b"),
        {"shout": {"source": "${b.stdout}"}, "code": "${b.exit_code}"},
        {"who": {"type": "string"}},
    )
    trace = execute(d, {"who": "ada lovelace"}, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED
    assert trace.outputs == {"shout": "ADA LOVELACE", "code": 0}
    assert [s.step_id for s in trace.steps] == ["a", "b"]
    assert trace.steps[0].params == {"command": "printf '%s' \"${__ft_0}\"", "command_values": {"__ft_0": "ada lovelace"}}
    assert trace.steps[1].output["stdout"] == "ADA LOVELACE"
    assert trace.workflow_hash.startswith("sha256:")


def test_order_comes_from_edges_not_from_the_node_list(tmp_path):
    d = doc([shell("second", "echo 2 ${first.stdout}"), shell("first", "echo 1")], chain("first", "second"), {"x": "${second.stdout}"})
    d["start_node"] = "first"
    assert execute(d, base_dir=tmp_path).outputs == {"x": "2 1"}


def test_without_edges_only_the_start_node_runs_as_in_pflow(tmp_path):
    d = doc([shell("one", "echo 1"), shell("two", "echo 2")], outputs={"x": "${one.stdout}", "y": "${two.stdout ?? \"skipped\"}"})
    trace = execute(d, base_dir=tmp_path)
    assert [s.step_id for s in trace.steps] == ["one"]
    assert trace.outputs == {"x": "1", "y": "skipped"}


def test_failure_takes_the_error_edge(tmp_path):
    d = doc(
        [shell("try", "echo oops >&2; exit 3"), shell("ok", "echo fine"), shell("fallback", "echo recovered: ${try.stderr ?? \"no output\"}")],
        [{"from": "try", "to": "ok"}, {"from": "try", "to": "fallback", "action": "error"}],
        {"result": "${fallback.stdout}", "skipped": "${ok.stdout ?? ok.stderr}"},
    )
    trace = execute(d, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED
    # A failed node's outputs are not readable afterwards (pflow); the trace keeps them.
    assert trace.outputs == {"result": "recovered: no output"}
    first = trace.step("try")
    assert first.action == "error" and first.error == "Command failed with exit code 3: oops"
    assert first.output["stderr"] == "oops\n"
    assert [s.step_id for s in trace.steps] == ["try", "fallback"]


def test_failure_without_error_edge_fails_the_run_naming_the_node(tmp_path):
    d = doc([shell("a", "echo start"), shell("boom", "exit 7"), shell("never", "echo no")], chain("a", "boom", "never"))
    trace = execute(d, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "node 'boom' failed: Command failed with exit code 7"
    assert [s.step_id for s in trace.steps] == ["a", "boom"]


class Flaky(NodeType):
    """A test node type that fails (retryably) until its `n`-th attempt."""

    name = "flaky"
    kind = "code"
    params = {"succeed_on": ParamSpec("integer", True)}

    def __init__(self):
        self.calls = 0

    def run(self, params, ctx):
        self.calls += 1
        if self.calls < params["succeed_on"]:
            raise NodeFailure(f"attempt {self.calls} failed")
        return NodeResult({"attempt": self.calls})


@pytest.fixture
def flaky(monkeypatch):
    node_type = Flaky()
    monkeypatch.setitem(BUILTIN_NODES, "flaky", node_type)
    return node_type


def test_retries_count_every_attempt_and_wait_with_backoff(flaky, tmp_path):
    node = {"id": "f", "type": "flaky", "params": {"succeed_on": 3}, "retry": {"max": 5, "wait": 0.5, "backoff": "exponential"}}
    slept = []
    trace = execute(doc([node]), runtime=Runtime(sleep=slept.append), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED
    assert trace.step("f").attempts == 3
    assert slept == [0.5, 1.0]


def test_an_exponential_wait_stops_growing_at_60_seconds_and_backoff_takes_only_pflows_words(flaky, tmp_path):
    node = {"id": "f", "type": "flaky", "params": {"succeed_on": 9}, "retry": {"max": 4, "wait": 40, "backoff": "exponential"}}
    slept = []
    execute(doc([node]), runtime=Runtime(sleep=slept.append), base_dir=tmp_path)
    assert slept == [40, 60, 60]
    for backoff in (2, 1.5, "linear"):  # pflow rejects each of them
        node["retry"]["backoff"] = backoff
        with pytest.raises(InvalidWorkflow, match="backoff"):
            execute(doc([node]), runtime=Runtime(sleep=slept.append), base_dir=tmp_path)


def test_retries_stop_at_max_and_then_fail(flaky, tmp_path):
    node = {"id": "f", "type": "flaky", "params": {"succeed_on": 9}, "retry": {"max": 2, "wait": 1}}
    slept = []
    trace = execute(doc([node]), runtime=Runtime(sleep=slept.append), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and trace.step("f").attempts == 2 and slept == [1]


def test_a_shell_command_that_exits_non_zero_is_not_run_again(tmp_path):
    # as in pflow: the command ran and said no; running it again would repeat its side effects
    counter = tmp_path / "n"
    node = shell("once", f"echo x >> {counter}; exit 1")
    node["retry"] = {"max": 3, "wait": 0}
    trace = execute(doc([node]), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and trace.step("once").attempts == 1
    assert counter.read_text() == "x\n"


def test_a_shell_command_that_times_out_is_retried(tmp_path):
    counter = tmp_path / "n"
    node = shell("slow", f"echo x >> {counter}; sleep 5", timeout=0.2)
    node["retry"] = {"max": 2, "wait": 0}
    trace = execute(doc([node]), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and trace.step("slow").attempts == 2
    assert counter.read_text() == "x\nx\n"


class Classify(NodeType):
    """A test node type that returns the action it is given (like pflow's code node `next`)."""

    name = "classify"
    kind = "code"
    params = {"next": ParamSpec("string", True)}

    def run(self, params, ctx):
        return NodeResult({"label": params["next"]}, action=params["next"])


@pytest.fixture
def classify(monkeypatch):
    monkeypatch.setitem(BUILTIN_NODES, "classify", Classify())


def routed(label):
    return doc(
        [{"id": "c", "type": "classify", "params": {"next": label}}, shell("big", "echo big"), shell("small", "echo small")],
        [{"from": "c", "to": "big", "action": "big"}, {"from": "c", "to": "small"}],
        {"ran": "${big.stdout ?? small.stdout}"},
    )


def test_the_returned_action_picks_the_edge(classify, tmp_path):
    assert execute(routed("big"), base_dir=tmp_path).outputs == {"ran": "big"}
    assert execute(routed("default"), base_dir=tmp_path).outputs == {"ran": "small"}


def test_an_output_from_a_node_that_did_not_run_fails_the_run_unless_a_chain(classify, tmp_path):
    d = routed("big")
    d["outputs"]["small"] = "${small.stdout}"
    trace = execute(d, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and trace.error == "output 'small': '${small.stdout}' does not resolve"


def test_an_action_no_edge_takes_fails_the_run(classify, tmp_path):
    trace = execute(routed("huge"), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "node 'c' returned action 'huge' but no edge takes it (edges: big, default)"


def test_invalid_workflow_or_inputs_raise_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    d = doc([shell("a", f"touch {marker} ${{x}}")], inputs={"x": {"type": "integer"}})
    with pytest.raises(InvalidWorkflow, match="missing required input 'x'"):
        execute(d, {}, base_dir=tmp_path)
    assert not marker.exists()


def test_defaults_apply_and_types_are_kept(tmp_path):
    d = doc([shell("a", "echo ${n} ${items} ${flag}")], outputs={"n": "${n}", "items": "${items}", "echo": "${a.stdout}"},
            inputs={"n": {"type": "integer", "required": False, "default": 4}, "items": {"type": "array", "required": False, "default": [1, "two"]},
                    "flag": {"type": "boolean", "required": False, "default": True}})
    out = execute(d, base_dir=tmp_path).outputs
    assert out == {"n": 4, "items": [1, "two"], "echo": '4 [1, "two"] True'}


def test_outputs_leave_out_nulls_and_fail_on_unresolvable_paths(tmp_path):
    d = doc([shell("a", "echo '{\"k\": 1}'")], outputs={"k": "a.stdout.k", "none": "${opt}", "bad": "${a.stdout.missing}"},
            inputs={"opt": {"type": "string", "required": False}})
    trace = execute(d, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "output 'bad': '${a.stdout.missing}' does not resolve"
    del d["outputs"]["bad"]
    assert execute(d, base_dir=tmp_path).outputs == {"k": 1}


def test_a_nodes_inputs_param_names_values_for_its_other_params(tmp_path):
    d = doc([shell("a", "echo hi"), shell("b", "printf '%s!' ${greeting}", inputs={"greeting": "${a.stdout}"})], chain("a", "b"), {"x": "${b.stdout}"})
    assert execute(d, base_dir=tmp_path).outputs == {"x": "hi!"}


def test_nested_workflow_runs_with_its_own_inputs(tmp_path):
    child = doc([shell("up", "printf %s ${word} | tr a-z A-Z")], outputs={"upper": "${up.stdout}"}, inputs={"word": {"type": "string"}})
    (tmp_path / "child.json").write_text(json.dumps(child))
    parent = doc(
        [shell("pick", "printf hello"), {"id": "sub", "type": "workflow", "params": {"workflow": "child.json", "inputs": {"word": "${pick.stdout}"}}}],
        chain("pick", "sub"),
        {"result": "${sub.upper}"},
    )
    trace = execute(parent, base_dir=tmp_path)
    assert trace.outputs == {"result": "HELLO"}
    assert [s.step_id for s in trace.steps] == ["pick", "sub/up", "sub"]


def test_nested_workflow_failure_fails_the_parent_node(tmp_path):
    child = doc([shell("bad", "exit 2")])
    parent = doc([{"id": "sub", "type": "workflow", "params": {"workflow": child}}])
    trace = execute(parent, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "node 'sub' failed: node 'sub/bad' failed: Command failed with exit code 2"


def test_nested_workflow_with_bad_inputs_fails_with_the_childs_diagnostics(tmp_path):
    child = doc([shell("x", "echo ${need}")], inputs={"need": {"type": "string"}})
    parent = doc([{"id": "sub", "type": "workflow", "params": {"workflow": child, "inputs": {"nede": "1"}}}])
    trace = execute(parent, base_dir=tmp_path)
    assert "unknown input 'nede'; did you mean 'need'?" in trace.error
    assert "missing required input 'need'" in trace.error


def test_trace_round_trips_through_json(tmp_path):
    trace = execute(doc([shell("a", "echo hi")], outputs={"o": "${a.stdout}"}), base_dir=tmp_path)
    path = trace.write(tmp_path / "traces")
    again = Trace.model_validate_json(path.read_text())
    assert again == trace and again.version == 1
    assert json.loads(path.read_text())["steps"][0]["kind"] == "shell"


def test_a_nested_workflow_file_that_is_not_there_is_rejected_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    d = doc([shell("first", f"touch {marker}"), {"id": "child", "type": "workflow", "params": {"workflow": "children/missing.json"}}],
            chain("first", "child"))
    with pytest.raises(InvalidWorkflow, match=r"\$\.nodes\[1\]\.params\.workflow \(node child\): no such workflow file: .*children/missing\.json"):
        execute(d, base_dir=tmp_path)
    assert not marker.exists()


def test_a_back_edge_that_names_its_action_is_a_loop_and_a_node_runs_at_most_100_times(tmp_path):
    # pflow's markdown writes `- next: <earlier step>` as an edge with `"action": "default"`: a
    # loop, not a cycle. One that never ends stops when a node would run a 101st time.
    d = doc([shell("a", "echo a"), shell("b", "echo b")], [{"from": "a", "to": "b"}, {"from": "b", "to": "a", "action": "default"}], {"o": "${b.stdout}"})
    trace = execute(d, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert "node 'a' would run more than 100 times" in trace.error
    assert [s.step_id for s in trace.steps].count("a") == 100
    # the same edge without an action is a cycle, rejected before anything runs (as pflow does)
    del d["edges"][1]["action"]
    with pytest.raises(InvalidWorkflow, match="cycle: "):
        execute(d, base_dir=tmp_path)


def test_a_chain_output_fails_when_a_node_it_names_failed_and_is_left_out_when_none_ran(tmp_path):
    nodes = [shell("x", "exit 1"), shell("y", "echo y"), shell("z", "echo done")]
    edges = [{"from": "x", "to": "y"}, {"from": "x", "to": "z", "action": "error"}]
    failed = execute(doc(nodes, edges, {"got": "${x.stdout ?? y.stdout}", "fin": "${z.stdout}"}), base_dir=tmp_path)
    assert failed.status is RunStatus.FAILED and "output 'got'" in failed.error
    skipped = execute(doc(nodes, edges, {"got": "${y.stdout ?? y.stderr}", "fin": "${z.stdout}"}), base_dir=tmp_path)
    assert skipped.status is RunStatus.PASSED and skipped.outputs == {"fin": "done"}


def test_permissive_mode_leaves_what_does_not_resolve_as_text_and_warns(tmp_path):
    d = doc([shell("a", "echo '{\"x\": 1}'"), shell("b", "printf '%s' 'got=${a.stdout.y} ok=${a.stdout.x}'")], chain("a", "b"), {"b": "${b.stdout}"})
    assert execute(d, base_dir=tmp_path).status is RunStatus.FAILED  # strict, the default
    d["template_resolution_mode"] = "permissive"
    trace = execute(d, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED and trace.outputs == {"b": "got=${a.stdout.y} ok=1"}
    assert trace.warnings == ["node 'b': ${a.stdout.y} did not resolve and was left as text (template_resolution_mode: permissive)"]
    # the text left in place is a value like any other: it reaches the shell as data
    assert trace.step("b").params["command_values"]["__ft_0"] == "${a.stdout.y}"


def test_a_workflow_validated_before_is_checked_again_when_a_node_type_comes_or_goes(tmp_path, monkeypatch):
    """Validation is remembered per document, inputs, servers and the node types in use: a type
    registered (or removed) since is seen."""
    d = doc([{"id": "a", "type": "later", "params": {}}], outputs={"x": "${a.value}"})
    with pytest.raises(InvalidWorkflow, match="unknown node type 'later'"):
        execute(d, base_dir=tmp_path)

    class Later(NodeType):
        name = "later"
        kind = "shell"
        params = {}

        def run(self, params, ctx):
            return NodeResult({"value": 7})

    monkeypatch.setitem(BUILTIN_NODES, "later", Later())
    assert execute(d, base_dir=tmp_path).outputs == {"x": 7}
    monkeypatch.delitem(BUILTIN_NODES, "later")
    with pytest.raises(InvalidWorkflow, match="unknown node type 'later'"):
        execute(d, base_dir=tmp_path)


def test_a_document_that_is_not_plain_json_is_validated_each_time(tmp_path):
    """A tuple where a list goes reads back as a list from JSON text: such a document is never
    matched with the one it looks like, so its own problem is reported."""
    nodes = [shell("a", "echo 1")]
    assert execute(doc(nodes), base_dir=tmp_path).status is RunStatus.PASSED
    with pytest.raises(InvalidWorkflow, match="non-empty list"):
        execute(doc(tuple(nodes)), base_dir=tmp_path)
