"""The `agent` node recorded from the real local model (SmolLM2 on llama.cpp) and a real MCP
server (mcp-server-time) with `flowtape run --cassette`, then replayed offline: no model, no
server, the same turns, tool calls and outputs."""

import json
import sys
from pathlib import Path


def test_an_agent_node_records_from_the_local_model_and_replays_offline(cli, tmp_path, local_model, monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # CI forbids recording; this test records on purpose
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"time": {"command": str(Path(sys.executable).with_name("mcp-server-time")), "args": ["--local-timezone", "UTC"]}}}))
    wf = tmp_path / "agent.json"
    wf.write_text(json.dumps({"ir_version": "0.1.0", "inputs": {"zone": {"type": "string"}}, "nodes": [{
        "id": "ask", "type": "agent", "params": {
            "backend": "claude", "prompt": "What time is it now in ${zone}? Use the tool.", "allowed_tools": ["time.get_current_time"],
            "max_turns": 2, "output_schema": {"type": "object", "properties": {"time": {"type": "string"}}, "required": ["time"]}}},
        # a 135M model may not answer within two turns: the error edge keeps the run (and so its recording) whole
        {"id": "none", "type": "shell", "params": {"command": "echo no answer"}}],
        "edges": [{"from": "ask", "to": "none", "action": "error"}],
        "outputs": {"said": "${ask.result.time ?? none.stdout}"}}))
    tape, traces = tmp_path / "agent.yaml", tmp_path / "traces"
    live = cli("run", wf, "-i", "zone=Asia/Tokyo", "--mcp-config", config, "--cassette", tape, "--model", local_model.model,
               "--llm-api-base", local_model.api_base, "--llm-api-key", local_model.api_key, "--format", "json", "--trace-dir", traces)
    assert live.exit_code == 0, live.output
    recorded = json.loads(Path(json.loads(live.stdout)["trace"]).read_text())
    turns = [s for s in recorded["steps"] if s["step_id"].startswith("ask/turn-")]
    assert turns and turns[0]["kind"] == "llm" and turns[0]["llm"]["prompt_tokens"] > 0  # measured by the server
    assert local_model.api_key not in tape.read_text()

    monkeypatch.setenv("CI", "true")  # replay only: a miss fails instead of recording
    replayed = cli("run", wf, "-i", "zone=Asia/Tokyo", "--cassette", tape, "--format", "json", "--trace-dir", traces)
    assert replayed.exit_code == 0, replayed.output
    again = json.loads(Path(json.loads(replayed.stdout)["trace"]).read_text())
    assert [(s["step_id"], s["kind"], s["output"]) for s in again["steps"]] == [(s["step_id"], s["kind"], s["output"]) for s in recorded["steps"]]
    assert json.loads(replayed.stdout)["outputs"] == json.loads(live.stdout)["outputs"]
