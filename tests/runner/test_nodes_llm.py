"""`llm` nodes through the runner, against the real local model (SmolLM2-135M on llama.cpp)."""

import json

from runner import RunStatus, Runtime, execute
from runner.live.llm import LiteLLMClient

SENTIMENT = {"type": "object", "properties": {"sentiment": {"enum": ["positive", "negative"]}}, "required": ["sentiment"]}


def runtime(local_model):
    return Runtime(llm=LiteLLMClient(api_base=local_model.api_base, api_key=local_model.api_key, timeout=60), default_model=local_model.model)


def workflow(params, outputs=None):
    return {"ir_version": "0.1.0", "inputs": {"text": {"type": "string"}}, "nodes": [{"id": "ask", "type": "llm", "params": params}],
            "outputs": outputs or {"answer": "${ask.response}", "usage": "${ask.llm_usage}"}}


def test_llm_node_returns_response_and_usage_recorded_in_the_trace(local_model, tmp_path):
    params = {"prompt": "Repeat this word: ${text}", "system": "You are terse.", "temperature": 0, "max_tokens": 16}
    trace = execute(workflow(params), {"text": "banana"}, runtime=runtime(local_model), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED, trace.error
    step = trace.step("ask")
    assert step.kind == "llm" and step.params["prompt"] == "Repeat this word: banana"
    assert trace.outputs["answer"] == step.output["response"] and trace.outputs["answer"].strip()
    usage = trace.outputs["usage"]
    assert usage["model"] == "smollm2" and usage["input_tokens"] > 0 and 0 < usage["output_tokens"] <= 16
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert step.llm.prompt_tokens == usage["input_tokens"] and step.llm.usage_source == "provider"
    again = execute(workflow(params), {"text": "banana"}, runtime=runtime(local_model), base_dir=tmp_path)
    assert again.outputs["answer"] == trace.outputs["answer"]  # temperature 0 is deterministic


def test_output_schema_makes_the_response_parsed_json_that_satisfies_it(local_model, tmp_path):
    params = {"prompt": "Is this review positive or negative? ${text}", "temperature": 0, "max_tokens": 24, "output_schema": SENTIMENT}
    trace = execute(workflow(params, {"label": "${ask.response.sentiment}"}), {"text": "I loved it, wonderful."}, runtime=runtime(local_model), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED, trace.error
    assert trace.outputs["label"] in ("positive", "negative")
    assert json.loads(json.dumps(trace.step("ask").output["response"])) == {"sentiment": trace.outputs["label"]}


def test_a_reply_that_breaks_the_contract_fails_the_node_loudly(local_model, tmp_path):
    # The schema is sent to the server, so a real model cannot break it; a token limit too small
    # for the JSON to close can, and the node must fail rather than pass half an object on.
    params = {"prompt": "Describe ${text} at length.", "temperature": 0, "max_tokens": 3,
              "output_schema": {"type": "object", "properties": {"description": {"type": "string"}}, "required": ["description"]}}
    trace = execute(workflow(params, {}), {"text": "the sea"}, runtime=runtime(local_model), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert trace.step("ask").error.startswith("output_schema: reply is not JSON")
    assert trace.step("ask").llm.completion_tokens == 3


def test_an_unreachable_model_server_fails_the_node_with_a_plain_reason(tmp_path):
    rt = Runtime(llm=LiteLLMClient(api_base="http://127.0.0.1:9/v1", api_key="x", timeout=5), default_model="openai/none")
    trace = execute(workflow({"prompt": "${text}"}, {}), {"text": "hi"}, runtime=rt, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED
    assert "cannot reach http://127.0.0.1:9/v1" in trace.step("ask").error


class Capture:
    """An LLMClient that passes each request to the real one and keeps it."""

    def __init__(self, inner):
        self.inner, self.requests = inner, []

    def complete(self, request):
        self.requests.append(request)
        return self.inner.complete(request)


def test_model_options_and_reasoning_effort_are_passed_to_the_provider_as_they_are(local_model, tmp_path):
    live = Capture(runtime(local_model).llm)
    params = {"prompt": "Say ${text}", "temperature": 0, "max_tokens": 8, "model_options": {"seed": 7, "top_p": 0.5}}
    trace = execute(workflow(params), {"text": "hi"}, runtime=Runtime(llm=live, default_model=local_model.model), base_dir=tmp_path)
    assert trace.status is RunStatus.PASSED, trace.error  # the server took them
    assert live.requests[0].options == {"seed": 7, "top_p": 0.5}
    params = {**params, "reasoning_effort": "low"}
    captured = Capture(type("Refuse", (), {"complete": lambda self, request: (_ for _ in ()).throw(RuntimeError("no"))})())
    execute(workflow(params), {"text": "hi"}, runtime=Runtime(llm=captured, default_model="m"), base_dir=tmp_path)
    assert captured.requests[0].options == {"seed": 7, "top_p": 0.5, "reasoning_effort": "low"}


def test_images_go_with_the_prompt_as_image_parts_files_as_data_urls(tmp_path):
    (tmp_path / "dot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8)
    captured = []

    class Keep:
        def complete(self, request):
            captured.append(request)
            raise RuntimeError("no vision model here")

    params = {"prompt": "What is in ${text}?", "images": ["dot.png", "https://example.org/cat.jpg"]}
    trace = execute(workflow(params), {"text": "these"}, runtime=Runtime(llm=Keep(), default_model="m"), base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED  # the request was made; no model here can see images
    [message] = captured[0].messages
    assert message["content"][0] == {"type": "text", "text": "What is in these?"}
    assert message["content"][1]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert message["content"][2] == {"type": "image_url", "image_url": {"url": "https://example.org/cat.jpg"}}
    missing = execute(workflow({**params, "images": "nope.png"}), {"text": "x"}, runtime=Runtime(llm=Keep(), default_model="m"), base_dir=tmp_path)
    assert "images: cannot read" in missing.error and len(captured) == 1  # no call made for it
