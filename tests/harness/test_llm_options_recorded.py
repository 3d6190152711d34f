"""An llm node's `model_options` reach the provider and the recording: recorded from the real
local model with `flowtape run --cassette`, replayed offline, and a changed option is a miss."""

import json

import yaml


def test_model_options_are_in_the_recorded_request_and_a_changed_one_misses(cli, tmp_path, local_model, monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # this test records on purpose
    def workflow(seed):
        return {"ir_version": "0.1.0", "nodes": [{"id": "ask", "type": "llm", "params": {
            "prompt": "Name a colour.", "temperature": 0, "max_tokens": 8, "model_options": {"seed": seed, "top_p": 0.5}}}],
            "outputs": {"said": "${ask.response}"}}
    wf, tape, traces = tmp_path / "wf.json", tmp_path / "tape.yaml", tmp_path / "traces"
    wf.write_text(json.dumps(workflow(3)))
    live = cli("run", wf, "--cassette", tape, "--model", local_model.model, "--llm-api-base", local_model.api_base,
               "--llm-api-key", local_model.api_key, "--format", "json", "--trace-dir", traces)
    assert live.exit_code == 0, live.output
    [call] = [i for i in yaml.safe_load(tape.read_text())["interactions"] if i["kind"] == "llm"]
    assert call["request"]["seed"] == 3 and call["request"]["top_p"] == 0.5

    monkeypatch.setenv("CI", "true")
    replayed = cli("run", wf, "--cassette", tape, "--format", "json", "--trace-dir", traces)
    assert replayed.exit_code == 0 and json.loads(replayed.stdout)["outputs"] == json.loads(live.stdout)["outputs"]
    wf.write_text(json.dumps(workflow(4)))
    miss = cli("run", wf, "--cassette", tape, "--trace-dir", traces)
    assert miss.exit_code != 0 and "seed" in miss.output
