"""`flowtape run --approve STEP`: a step with `approval: required` runs only when approved."""

from __future__ import annotations

import json

from tests.runner.test_approval import workflow


def test_the_cli_approves_by_step(tmp_path, cli):
    target = tmp_path / "side-effect"
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(workflow(str(target))))
    refused = cli("run", wf, "--trace-dir", tmp_path / "t")
    assert refused.exit_code == 1 and "Approve it with --approve wipe" in refused.stderr and not target.exists()
    approved = cli("run", wf, "--trace-dir", tmp_path / "t", "--approve", "wipe")
    assert approved.exit_code == 0 and target.exists()
