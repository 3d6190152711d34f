"""`llm`: one chat completion through the `LLMClient`; outputs response and llm_usage.

With `output_schema` (a JSON schema) the request asks for schema-constrained JSON, and the reply
must parse and validate, or the node fails loudly: the contract lives in the IR, not the prompt.
"""

from __future__ import annotations

import json
from typing import Any

from runner.clients import LLMRequest
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec
from runner.trace import LLMUsage

DEFAULT_MODEL = "gpt-4o-mini"


class LLMNode(NodeType):
    name = "llm"
    kind = "llm"
    params = {
        "prompt": ParamSpec("string", True, "the user message"),
        "system": ParamSpec("string", False, "the system message"),
        "model": ParamSpec("string", False, f"litellm model name (default: --model, else {DEFAULT_MODEL})"),
        "temperature": ParamSpec("number", False, "sampling temperature"),
        "max_tokens": ParamSpec("integer", False, "completion limit"),
        "output_schema": ParamSpec("object", False, "JSON schema the reply must satisfy; response is then parsed JSON"),
    }
    outputs = ("response", "llm_usage")

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        if ctx.llm is None:
            raise NodeFailure("no LLM client configured", retryable=False)
        schema = params.get("output_schema")
        messages = []
        if params.get("system"):
            messages.append({"role": "system", "content": str(params["system"])})
        messages.append({"role": "user", "content": _text(params["prompt"])})
        request = LLMRequest(
            model=str(params.get("model") or ctx.extra.get("default_model") or DEFAULT_MODEL),
            messages=messages,
            temperature=params.get("temperature"),
            max_tokens=params.get("max_tokens"),
            response_format=_response_format(schema) if schema else None,
            step_id=ctx.step_id,
        )
        try:
            reply = ctx.llm.complete(request)
        except Exception as err:  # a provider error of any kind is this node's failure
            raise NodeFailure(f"model call failed: {err}") from err
        usage = LLMUsage(
            model=reply.model,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cached_tokens=reply.cached_tokens,
            cost_usd=reply.cost_usd,
            usage_source=reply.usage_source,  # type: ignore[arg-type]
        )
        llm_usage = {
            "model": reply.model,
            "input_tokens": reply.prompt_tokens,
            "output_tokens": reply.completion_tokens,
            "total_tokens": (reply.prompt_tokens or 0) + (reply.completion_tokens or 0),
            "cache_read_input_tokens": reply.cached_tokens or 0,
        }
        response: Any = reply.text
        if schema:
            try:
                response = _check_contract(reply.text, schema)
            except NodeFailure as err:
                err.output, err.llm = {"response": reply.text, "llm_usage": llm_usage}, usage
                raise
        return NodeResult({"response": response, "llm_usage": llm_usage}, llm=usage)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _response_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": True}}


def _check_contract(text: str, schema: dict[str, Any]) -> Any:
    import jsonschema

    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise NodeFailure(f"output_schema: reply is not JSON ({err.msg} at char {err.pos})") from None
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise NodeFailure(f"output_schema: reply violates the schema at {where}: {errors[0].message}")
    return value
