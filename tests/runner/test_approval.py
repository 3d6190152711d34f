"""`approval: required` is never passed over silently: such a step runs only when approved
(`Runtime.approved`, `flowtape run --approve STEP`); otherwise it does not run, its side effect
does not happen, and the node fails saying how to approve it (its error edge, if any, is taken)."""

from __future__ import annotations

import json

from runner import RunStatus, execute
from runner.executor import Runtime


def workflow(target: str) -> dict:
    return {"nodes": [{"id": "prepare", "type": "shell", "params": {"command": "echo ready"}},
                      {"id": "wipe", "type": "shell", "params": {"command": f"touch {target}"}, "approval": "required"}],
            "edges": [{"from": "prepare", "to": "wipe"}],
            "outputs": {"done": {"source": "${wipe.exit_code}"}}}


def test_an_unapproved_step_does_not_run(tmp_path):
    target = tmp_path / "side-effect"
    trace = execute(workflow(str(target)), {}, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.error == "node 'wipe' failed: needs approval (approval: required); not run. Approve it with --approve wipe"
    assert not target.exists()
    assert [(s.step_id, s.action) for s in trace.steps] == [("prepare", "default"), ("wipe", "error")]


def test_an_approved_step_runs(tmp_path):
    target = tmp_path / "side-effect"
    trace = execute(workflow(str(target)), {}, base_dir=tmp_path, runtime=Runtime(approved=frozenset({"wipe"})))
    assert trace.status is RunStatus.PASSED and target.exists() and trace.outputs == {"done": 0}

