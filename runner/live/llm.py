"""The live `LLMClient`: one chat completion through litellm (any provider, or an
OpenAI-compatible server such as the local llama.cpp one, as `openai/<name>` + `api_base`)."""

from __future__ import annotations

import os
import re
from typing import Any

from runner.clients import LLMRequest, LLMResponse

__all__ = ["LLMError", "LiteLLMClient"]


class LLMError(RuntimeError):
    """A completion failed: provider unreachable, timed out, or answered with an error."""


def _litellm() -> Any:
    # Imported on first use: the import takes seconds, and without this variable it fetches
    # the model price map over the network.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


class LiteLLMClient:
    def __init__(
        self,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 120,
        max_retries: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.api_base = api_base
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.extra = dict(extra or {})

    def complete(self, request: LLMRequest) -> LLMResponse:
        litellm = _litellm()
        optional = {
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "response_format": request.response_format,
            "tools": request.tools,
            "api_base": request.api_base or self.api_base,
            "api_key": self.api_key,
        }
        kwargs = {**self.extra, **(request.options or {}), **{k: v for k, v in optional.items() if v is not None}}
        try:
            response = litellm.completion(
                model=request.model,
                messages=request.messages,
                timeout=request.timeout or self.timeout,
                max_retries=self.max_retries,
                **kwargs,
            )
        except Exception as exc:
            raise LLMError(self._describe(exc, request.model, request.api_base)) from exc

        message = response.choices[0].message
        text = message.content or ""
        tool_calls = [_tool_call(c) for c in getattr(message, "tool_calls", None) or []] or None
        usage = getattr(response, "usage", None)
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        # litellm substitutes an all-zero Usage when the provider sent none.
        if prompt or completion:
            details = getattr(usage, "prompt_tokens_details", None)
            cached = getattr(details, "cached_tokens", None)
            source = "provider"
            cost = _quiet(lambda: litellm.completion_cost(completion_response=response))
        else:
            cached, source = None, "tokenizer"
            prompt = litellm.token_counter(model=request.model, messages=request.messages)
            completion = litellm.token_counter(model=request.model, text=text, count_response_tokens=True)
            cost = _quiet(lambda: sum(litellm.cost_per_token(
                model=request.model, prompt_tokens=prompt, completion_tokens=completion)))
        return LLMResponse(
            text=text,
            model=getattr(response, "model", None) or request.model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            cost_usd=float(cost) if cost is not None else None,
            usage_source=source,
            tool_calls=tool_calls,
        )

    def _describe(self, exc: BaseException, model: str, api_base: str | None = None) -> str:
        """One line naming the real cause. litellm wraps everything (a refused connection
        becomes an InternalServerError with a made-up status and URL), so read the chain
        below its own exceptions: openai, httpx, OS errors."""
        chain: list[BaseException] = []
        cur: BaseException | None = exc
        while cur is not None and cur not in chain:
            chain.append(cur)
            cur = cur.__cause__ or cur.__context__
        real = [e for e in chain if not type(e).__module__.startswith("litellm")]
        names = {c.__name__ for e in real for c in type(e).__mro__}
        url = next((str(u) for e in real if (u := getattr(getattr(e, "request", None), "url", None))), None)
        where = api_base or self.api_base or url or model
        root = chain[-1]
        if names & {"APITimeoutError", "TimeoutException"} or isinstance(root, TimeoutError):
            msg = f"timed out after {self.timeout:g}s waiting for {where}"
        elif names & {"APIConnectionError", "ConnectError"} or isinstance(root, OSError):
            reason = getattr(root, "strerror", None) or str(root) or type(root).__name__
            msg = f"cannot reach {where}: {reason[:1].lower()}{reason[1:]}"
        elif status := next((e for e in real if isinstance(getattr(e, "status_code", None), int)), None):
            body = getattr(status, "body", None)
            detail = body.get("message", body) if isinstance(body, dict) else body or status
            msg = f"{where} answered HTTP {status.status_code} for {model}: {detail}"
        else:
            inner = real[0] if real else exc
            text = re.sub(r"^(litellm\.\w+:\s*)+(\w+:\s*)?(\w+Exception - )?", "", str(inner))
            msg = f"{model}: {text or type(inner).__name__}"
        return " ".join(msg.split())[:500]


def _tool_call(call: Any) -> dict[str, Any]:
    """One of litellm's tool calls in OpenAI's JSON shape (arguments stay JSON text)."""
    function = getattr(call, "function", None)
    return {"id": getattr(call, "id", None), "type": "function",
            "function": {"name": getattr(function, "name", None), "arguments": getattr(function, "arguments", None) or "{}"}}


def _quiet(fn: Any) -> Any:
    """litellm raises for models it has no price for; that is 'unknown', not an error."""
    try:
        return fn()
    except Exception:
        return None
