"""`flowtape run` as pflow users run workflows: `--approve STEP` for a step with `approval: required`; an input declared `stdin: true` read from piped standard input."""

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


def test_an_input_declared_stdin_reads_piped_standard_input(tmp_path, cli):
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps({"inputs": {"text": {"type": "string", "stdin": True}},
                              "nodes": [{"id": "count", "type": "shell", "params": {"command": "wc -w", "stdin": "${text}"}}],
                              "outputs": {"words": {"source": "${count.stdout}"}}}))
    piped = cli("run", wf, "--trace-dir", tmp_path / "t", "--format", "json", input="one two three\n")
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["outputs"]["words"] == 3  # "3", printed as pflow prints JSON text
    given = cli("run", wf, "--trace-dir", tmp_path / "t", "--format", "json", "-i", "text=a b", input="one two three\n")
    assert json.loads(given.stdout)["outputs"]["words"] == 2  # -i wins over the pipe
    assert "missing required input 'text'" in cli("run", wf, "--trace-dir", tmp_path / "t", input="").stderr


def test_a_workflow_without_declared_outputs_prints_its_last_nodes_output(tmp_path, cli):
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps({"nodes": [{"id": "a", "type": "shell", "params": {"command": "echo first"}},
                                        {"id": "b", "type": "shell", "params": {"command": "echo last"}}],
                              "edges": [{"from": "a", "to": "b"}]}))
    result = cli("run", wf, "--trace-dir", tmp_path / "t", "--format", "json")
    assert result.exit_code == 0, result.output
    outputs = json.loads(result.stdout)["outputs"]
    assert outputs["stdout"] == "last" and outputs["exit_code"] == 0
