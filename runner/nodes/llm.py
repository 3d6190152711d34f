"""`llm`: one chat completion through the `LLMClient`; outputs response and llm_usage.

With `output_schema` (a JSON schema) the request asks for schema-constrained JSON, and the reply
must parse and validate, or the node fails loudly: the contract lives in the IR, not the prompt.

Policy the workflow owns (flowtape's extension; a pflow file never needs it):

- contract retries: with the node's `retry: {on: contract, max: N, feedback: true}` (the executor
  puts it in `ctx.extra["contract_retry"]`) a reply that breaks the contract is asked for again,
  up to N calls per model, each a call of its own; with `feedback` the next call is the first
  one's messages plus a user turn with the validation error (the rejected reply is kept in the
  trace, not sent back: SmolLM2 shown its own reply repeats it). When the last fails the failure carries
  `route="contract_failed"`, which the executor takes when the workflow declares that edge.
- `fallback_models`: tried in order after the model fails with a provider error or has used up
  its contract attempts. Every call is in the step's `calls` (model, attempt, outcome, why it
  was made); `step.llm` adds their usage up and names the model that answered.
- `evidence`: fields of the reply whose values must be found, by code, in the step's inputs
  (`runner.evidence`); a claim without evidence makes the action `missing_evidence`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from runner.clients import LLMRequest
from runner.evidence import check_evidence, evidence_problems
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec
from runner.trace import LLMUsage, ModelCall

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
        "api_base": ParamSpec("string", False, "this node's endpoint, when not the run's (flowtape)"),
        "fallback_models": ParamSpec("array", False, "models tried in order after a provider error or a used-up contract: a name, or {model, api_base} (flowtape)"),
        "evidence": ParamSpec("object", False, "reply fields whose values must be found in the inputs (flowtape; see runner.evidence)"),
        "images": ParamSpec("any", False, "an image or a list of them sent with the prompt: a file (relative to the workflow), an http(s) URL or a data: URL"),
        "model_options": ParamSpec("object", False, "provider parameters passed through as they are (seed, top_p, ...)"),
        "reasoning_effort": ParamSpec("string", False, "the provider's reasoning effort (low, medium, high)"),
    }
    outputs = ("response", "llm_usage", "prompt", "system", "evidence", "contract_errors")

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        fallback = params.get("fallback_models")
        if isinstance(fallback, list) and not all(_endpoint(m) is not None for m in fallback):
            problems.append(("fallback_models", "each fallback is a model name, or {\"model\": name, \"api_base\": url}"))
        if isinstance(params.get("evidence"), dict):
            problems += [("evidence", p) for p in evidence_problems(params["evidence"])]
        return problems

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        if ctx.llm is None:
            raise NodeFailure("no LLM client configured", retryable=False)
        schema = params.get("output_schema")
        base: list[dict[str, Any]] = []
        if params.get("system"):
            base.append({"role": "system", "content": str(params["system"])})
        prompt = _text(params["prompt"])
        images = _images(params.get("images"), ctx)
        base.append({"role": "user", "content": [{"type": "text", "text": prompt}, *images] if images else prompt})
        options = {**(params.get("model_options") or {}), **({"reasoning_effort": params["reasoning_effort"]} if params.get("reasoning_effort") else {})}
        extra = {"prompt": prompt, **({"system": str(params["system"])} if params.get("system") else {})}
        contract = ctx.extra.get("contract_retry") or {}
        per_model = int(contract.get("max", 1)) if schema else 1
        feedback = bool(contract.get("feedback")) and schema is not None
        primary = (str(params.get("model") or ctx.extra.get("default_model") or DEFAULT_MODEL), params.get("api_base") or None)
        models = [primary, *[e for m in params.get("fallback_models") or [] if (e := _endpoint(m)) is not None]]
        calls: list[ModelCall] = []
        usages: list[LLMUsage] = []
        why = "primary"
        last: NodeFailure | None = None
        for index, (model, api_base) in enumerate(models):
            messages = list(base)
            for attempt in range(1, per_model + 1):
                reason = why if attempt == 1 else f"contract retry {attempt} of {per_model}" + (" with the errors fed back" if feedback else "")
                request = LLMRequest(
                    model=model,
                    messages=messages,
                    temperature=params.get("temperature"),
                    max_tokens=params.get("max_tokens"),
                    response_format=_response_format(schema) if schema else None,
                    timeout=float(params["timeout"]) if params.get("timeout") else None,
                    step_id=ctx.step_id,
                    api_base=api_base,
                    error_is_answer=index + 1 < len(models),
                    options=options or None,
                )
                try:
                    reply = ctx.llm.complete(request)
                except Exception as err:  # a provider error of any kind: this model is done
                    if getattr(err, "no_fallback", False):  # not the provider's answer (a replay with no recording): fail now
                        raise NodeFailure(f"model call failed: {err}", retryable=False) from err
                    calls.append(ModelCall(model=model, attempt=attempt, reason=reason, outcome="provider_error", error=str(err)))
                    last = NodeFailure(f"model call failed: {err}")
                    why = f"fallback after a provider error from {model}"
                    break
                usage = LLMUsage(
                    model=reply.model,
                    prompt_tokens=reply.prompt_tokens,
                    completion_tokens=reply.completion_tokens,
                    cached_tokens=reply.cached_tokens,
                    cost_usd=reply.cost_usd,
                    usage_source=reply.usage_source,  # type: ignore[arg-type]
                )
                usages.append(usage)
                llm_usage = _llm_usage(reply)
                response: Any = reply.text
                if schema:
                    try:
                        response = _check_contract(reply.text, schema)
                    except NodeFailure as err:
                        calls.append(ModelCall(model=model, attempt=attempt, reason=reason, outcome="contract_failed", error=str(err), reply=reply.text, llm=usage))
                        errors = [c.error for c in calls if c.outcome == "contract_failed"]
                        last = NodeFailure(str(err), {"response": reply.text, "llm_usage": llm_usage, **extra, **({"contract_errors": errors} if contract else {})},
                                           retryable=not contract, llm=_total(usages), route="contract_failed" if contract else None)
                        why = f"fallback after {model} broke the contract {attempt} time{'s' * (attempt != 1)}"
                        if feedback:
                            # The error, not the rejected reply: a small model shown its own reply copies it.
                            messages = [*base, {"role": "user", "content": _feedback(str(err))}]
                        continue
                calls.append(ModelCall(model=model, attempt=attempt, reason=reason, outcome="answered", llm=usage))
                output: dict[str, Any] = {"response": response, "llm_usage": llm_usage, **extra}
                action = "default"
                if params.get("evidence"):
                    found = check_evidence(params["evidence"], response, params)
                    output["evidence"] = found
                    if not all(item["found"] for item in found.values()):
                        action = "missing_evidence"
                return NodeResult(output, action=action, llm=_total(usages), calls=calls if contract or len(models) > 1 else [])
        assert last is not None
        last.calls = calls if contract or len(models) > 1 else []
        last.llm = _total(usages) if usages else None
        if len(models) > 1:
            tried = "; ".join(f"{c.model}: {c.error}" for c in calls if c.outcome != "answered")
            failure = NodeFailure(f"every model failed ({tried})", last.output, retryable=last.retryable, llm=last.llm, route=last.route)
            failure.calls = last.calls
            raise failure
        raise last


def _images(value: Any, ctx: NodeContext) -> list[dict[str, Any]]:
    """The `images` param as OpenAI image parts: a URL (http, https, data) as it is, a file read
    and sent as a data URL (its type from its name)."""
    import base64
    import mimetypes
    from pathlib import Path

    if value in (None, "", []):
        return []
    parts = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str) or not item:
            raise NodeFailure(f"images: each image is a file path or a URL, not {type(item).__name__}", retryable=False)
        if item.startswith(("http://", "https://", "data:")):
            url = item
        else:
            path = Path(ctx.base_dir, Path(item).expanduser())
            kind = mimetypes.guess_type(path.name)[0]
            if not kind or not kind.startswith("image/"):
                raise NodeFailure(f"images: {path} is not an image file (by its name)", retryable=False)
            try:
                url = f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"
            except OSError as err:
                raise NodeFailure(f"images: cannot read {path}: {err.strerror or err}", retryable=False) from None
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


def _endpoint(entry: Any) -> tuple[str, str | None] | None:
    """A fallback entry as (model, api_base), or None when it is neither a name nor {model, api_base}."""
    if isinstance(entry, str) and entry:
        return entry, None
    if isinstance(entry, dict) and isinstance(entry.get("model"), str) and entry["model"] and set(entry) <= {"model", "api_base"} \
            and isinstance(entry.get("api_base", ""), str):
        return entry["model"], entry.get("api_base") or None
    return None


def _total(usages: list[LLMUsage]) -> LLMUsage:
    """The step's usage: every call's tokens and cost added up, under the model that answered
    last (each call's own usage is in the step's `calls`)."""
    if len(usages) == 1:
        return usages[0]

    def add(name: str) -> Any:
        values = [getattr(u, name) for u in usages if getattr(u, name) is not None]
        return sum(values) if values else None

    cost = add("cost_usd") if all(u.cost_usd is not None for u in usages) else None  # a part unknown: the sum is unknown
    return LLMUsage(model=usages[-1].model, prompt_tokens=add("prompt_tokens"), completion_tokens=add("completion_tokens"),
                    cached_tokens=add("cached_tokens"), cost_usd=cost, usage_source=usages[-1].usage_source)


def _feedback(error: str) -> str:
    """The user turn that hands a broken contract back to the model."""
    return (f"Your reply does not satisfy the required JSON schema: {error}. "
            "Reply again with only the corrected JSON object.")


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
