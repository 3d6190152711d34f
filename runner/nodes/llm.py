"""`llm`: one chat completion through the `LLMClient`; outputs response and llm_usage.

With `output_schema` (a JSON schema) the request asks for schema-constrained JSON, and the reply
must parse and validate, or the node fails loudly: the contract lives in the IR, not the prompt.
"""

from __future__ import annotations

import json
import re
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
        "timeout": ParamSpec("number", False, "seconds (the client's default when absent)"),
    }
    outputs = ("response", "llm_usage", "prompt", "system")

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        if ctx.llm is None:
            raise NodeFailure("no LLM client configured", retryable=False)
        schema = params.get("output_schema")
        messages = []
        if params.get("system"):
            messages.append({"role": "system", "content": str(params["system"])})
        prompt = _text(params["prompt"])
        messages.append({"role": "user", "content": prompt})
        request = LLMRequest(
            model=str(params.get("model") or ctx.extra.get("default_model") or DEFAULT_MODEL),
            messages=messages,
            temperature=params.get("temperature"),
            max_tokens=params.get("max_tokens"),
            response_format=_response_format(schema) if schema else None,
            timeout=float(params["timeout"]) if params.get("timeout") else None,
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
        llm_usage = _llm_usage(reply)
        extra = {"prompt": prompt, **({"system": str(params["system"])} if params.get("system") else {})}
        response: Any = reply.text
        if schema:
            try:
                response = _check_contract(reply.text, schema)
            except NodeFailure as err:
                err.output, err.llm = {"response": reply.text, "llm_usage": llm_usage, **extra}, usage
                raise
        return NodeResult({"response": response, "llm_usage": llm_usage, **extra}, llm=usage)


def _text(value: Any) -> str:
    # pflow's prompt param is typed str: structured values become JSON with ASCII escapes.
    return value if isinstance(value, str) else json.dumps(value)


def _llm_usage(reply: Any) -> dict[str, Any]:
    """The `llm_usage` output in pflow's shape (the fields a non-Anthropic provider fills)."""
    if reply.prompt_tokens is None and reply.completion_tokens is None:
        return {}
    cached = reply.cached_tokens or 0
    usage = {
        "model": reply.model,
        "input_tokens": reply.prompt_tokens or 0,
        "uncached_input_tokens": (reply.prompt_tokens or 0) - cached,
        "output_tokens": reply.completion_tokens or 0,
        "total_tokens": (reply.prompt_tokens or 0) + (reply.completion_tokens or 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }
    if reply.cost_usd is not None:
        usage["cost_usd"] = reply.cost_usd
    return usage


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)


def _response_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": True}}


def _check_contract(text: str, schema: dict[str, Any]) -> Any:
    import jsonschema

    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as err:
        raise NodeFailure(f"output_schema: reply is not JSON ({err.msg} at char {err.pos})") from None
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise NodeFailure(f"output_schema: reply violates the schema at {where}: {errors[0].message}")
    return value
