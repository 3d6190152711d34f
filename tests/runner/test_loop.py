"""pflow's `loop`: a node that runs again while (or until) a condition read from its own latest
output holds, carrying values into its `inputs`, up to `max_iterations` rounds; each round a step
`<node>#<k>`, the node's step holding the last round's output and why the loop stopped."""

from __future__ import annotations

import pytest

from runner import RunStatus, check, execute


def counting(loop: dict, command: str = "n=$((${total} + 1)); echo \"{\\\"total\\\": $n, \\\"done\\\": $([ $n -ge 3 ] && echo true || echo false)}\"") -> dict:
    return {
        "inputs": {"start": {"type": "integer"}},
        "nodes": [{"id": "count", "type": "shell", "params": {"inputs": {"total": "${start}"}, "command": command}, "loop": loop},
                  {"id": "after", "type": "shell", "params": {"command": "echo ${count.stdout.total} after ${count.iterations}: ${count.loop_stopped}"}},
                  {"id": "handler", "type": "shell", "params": {"command": "echo handled"}}],
        "edges": [{"from": "count", "to": "after"}, {"from": "count", "to": "handler", "action": "error"}],
        "outputs": {"said": {"source": "${after.stdout ?? handler.stdout}"}},
    }


def test_a_carried_value_runs_rounds_until_the_condition(tmp_path):
    trace = execute(counting({"carry": {"total": "${count.stdout.total}"}, "until": "${count.stdout.done}", "max_iterations": 10}),
                    {"start": 0}, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED, trace.error
    assert [s.step_id for s in trace.steps] == ["count#1", "count#2", "count#3", "count", "after"]
    assert [s.params["command_values"]["__ft_0"] for s in trace.steps[:3]] == ["0", "1", "2"]  # the carried total, round by round
    assert trace.steps[3].kind == "loop" and trace.steps[3].output["loop_stopped"] == "condition"
    assert trace.outputs == {"said": "3 after 3: condition"}


def test_while_keeps_going_while_it_holds_and_the_cap_is_not_a_failure(tmp_path):
    # `while` done: done is false at first, so the loop stops after the first round
    once = execute(counting({"carry": {"total": "${count.stdout.total}"}, "while": "${count.stdout.done}"}), {"start": 0}, base_dir=tmp_path)
    assert once.outputs == {"said": "1 after 1: condition"}
    # a cap below what the condition needs: the run goes on, and says the cap stopped it
    capped = execute(counting({"carry": {"total": "${count.stdout.total}"}, "until": "${count.stdout.done}", "max_iterations": "${start}"}),
                     {"start": 1}, base_dir=tmp_path)  # the cap, 1 round, from a template
    assert capped.status is RunStatus.PASSED and capped.outputs == {"said": "2 after 1: max_iterations"}


def test_a_round_that_fails_fails_the_node_and_takes_its_error_edge(tmp_path):
    command = "[ ${__iteration__} -lt 2 ] || exit 9; echo '{\"total\": 1, \"done\": false}'"
    trace = execute(counting({"until": "${count.stdout.done}", "max_iterations": 5}, command=command), {"start": 0}, base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED and trace.outputs == {"said": "handled"}
    assert [(s.step_id, s.action) for s in trace.steps] == [("count#1", "default"), ("count#2", "error"), ("count", "error"), ("handler", "default")]
    assert trace.steps[2].error == "loop round 2 failed: Command failed with exit code 9"


@pytest.mark.parametrize(("loop", "path", "message"), [
    ({"until": "${count.stdout.done}", "while": "${count.stdout.done}"}, "$.nodes[0].loop",
     "give exactly one of 'while' (go on while it holds) and 'until' (stop once it holds)"),
    ({"until": "${count.stdout.total} > 3"}, "$.nodes[0].loop.until", "the condition is one reference, like '${count.done}', not '${count.stdout.total} > 3'"),
    ({"until": "${count.stdout.done}", "carry": {"totl": "${count.stdout.total}"}}, "$.nodes[0].loop.carry.totl",
     "'totl' is not one of the node's inputs, which give the first round its value; did you mean 'total'?"),
    ({"until": "${cuont.stdout.done}"}, "$.nodes[0].loop.until",
     "'${cuont.stdout.done}' refers to 'cuont': a loop reads its own node's output ('${count.<key>}'), an input or a node that ran before; did you mean 'count'?"),
    ({"until": "${count.stdout.done}", "max_iteration": 3}, "$.nodes[0].loop.max_iteration", "unknown key 'max_iteration'"),
])
def test_a_bad_loop_is_a_validation_error_at_its_place(loop, path, message):
    found = [(d.path, d.message) for d in check(counting(loop))]
    assert (path, message) in found, found
