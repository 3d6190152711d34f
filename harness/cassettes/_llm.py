"""LLM calls recorded and replayed at the HTTP level, with vcrpy under litellm (replayed
straight from the cassette where that gives the same answer: see `_replay_without_litellm`).

Why HTTP rather than the `LLMResponse`: the cassette then holds the provider's exact answer, its
`usage` block included, and a replayed call goes through litellm's own parsing and cost
accounting just as the live one did, so it reports the recorded usage.

Why vcrpy never owns a file: the `Cassette` keys, normalises, redacts and saves every MCP and LLM
interaction in one place. A custom persister hands vcrpy only the current step's recordings and
gives each new interaction back to the Cassette; a custom matcher compares method + path + the
normalised body, never host or port, which change between machines and runs.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness._litellm_files import in_price_map
from harness.cassettes._secrets import redact_fields, redact_headers, redact_url
from harness.cassettes._store import Cassette, CassetteMiss, StoredInteraction
from runner.clients import LLMClient, LLMRequest, LLMResponse

if TYPE_CHECKING:
    from vcr.request import Request

__all__ = ["CassetteLLMClient"]

KIND = "llm"
ERROR_METHOD = "error"  # a provider error kept because a fallback model followed it (LLMRequest.error_is_answer)
KEPT_HEADERS = ("content-type",)  # the openai SDK needs it to parse JSON; the rest varies per call


class CassetteLLMClient:
    """An `LLMClient` that answers from the cassette where it can and records where it may.

    Each call runs `inner.complete` inside a fresh vcrpy cassette: vcrpy patches httpx, which
    the openai SDK under litellm's sync `completion` uses (aiohttp is only litellm's async
    transport). The record mode comes from the Cassette. vcrpy patches globally while a call
    runs, so this is not for concurrent calls; the runner makes one at a time."""

    def __init__(self, inner: LLMClient, cassette: Cassette) -> None:
        if getattr(inner, "max_retries", 0):
            # A miss surfaces as a connection error to the SDK, which would retry it with backoff.
            raise ValueError("CassetteLLMClient needs an inner client with max_retries=0: "
                             "retries would turn a cassette miss into seconds of backoff")
        self.inner = inner
        self.cassette = cassette
        self._tape = _Persister(cassette)
        self._vcr: Any = None

    def _recorder(self) -> Any:
        """The vcrpy recorder, built on the first call: importing vcrpy (and the clients it
        patches) takes ~0.4 s, which a run with no llm node should not pay. Built once; only
        the record mode changes per call. A call that fails is not recorded
        (record_on_exception=False): a transient provider error must not replay forever."""
        if self._vcr is None:
            import vcr

            self._vcr = vcr.VCR(match_on=("flowtape",), decode_compressed_response=True, record_on_exception=False)
            self._vcr.register_persister(self._tape)
            self._vcr.register_matcher("flowtape", self._tape.match)
        return self._vcr

    def complete(self, request: LLMRequest) -> LLMResponse:
        if request.error_is_answer and self.cassette.replays:
            # A provider error a fallback model followed is part of the recording: replay it.
            found = self.cassette.lookup(KIND, request.model, request.step_id, ERROR_METHOD, _error_body(request))
            if found is not None and isinstance(found.response, dict):
                from runner.live.llm import LLMError

                raise LLMError(str(found.response.get("error")))
        replayed = self._replay_without_litellm(request)
        if replayed is not None:
            return replayed
        recorder = self._recorder()
        from vcr.errors import CannotOverwriteExistingCassetteException

        self._tape.step = request.step_id
        label = f"{self.cassette.path}#llm/{request.step_id}"  # only named in vcrpy's own messages
        try:
            with recorder.use_cassette(label, record_mode=self._record_mode()) as tape:
                response = self.inner.complete(request)
        except Exception as exc:
            miss = _in_chain(exc, CannotOverwriteExistingCassetteException)
            if miss is None or miss.failed_request is None:
                if request.error_is_answer and not self.cassette.write_protected:
                    # Recorded only because a fallback model follows and the run goes on: the
                    # error is then what was measured (a run that still fails is not saved).
                    self.cassette.record(KIND, request.model, request.step_id, ERROR_METHOD, _error_body(request), {"error": str(exc)})
                raise
            # It arrives wrapped by httpx, openai, litellm and the inner client; say it plainly.
            raise self._tape.miss(miss.failed_request) from None
        for index, count in tape.play_counts.items():
            if index < self._tape.loaded:
                self._tape.mark_used(tape.data[index][0], count)
        return response

    def _replay_without_litellm(self, request: LLMRequest) -> LLMResponse | None:
        """The recorded answer read straight from the cassette, without litellm or vcrpy
        (importing litellm costs ~4.5 s of CPU per process, most of a replayed case), or None
        when that cannot give exactly what the litellm path gives; then the litellm path runs.

        It applies to an OpenAI-compatible call (`openai/<model>`, no extra provider params, no
        `options`):
        the body litellm sends is then the model without its prefix, the messages and the
        optional fields that are set, which is compared with the recorded body whole. The
        recorded response must carry the provider's usage, and the model must be one litellm's
        price map does not know (its cost is then None either way); a priced model goes through
        litellm, whose cost rules (cached tokens, tiers) are not repeated here."""
        if not self.cassette.replays or getattr(self.inner, "extra", None) or request.options or not request.model.startswith("openai/"):
            return None
        model = request.model.split("/", 1)[1]
        body: dict[str, Any] = {"model": model, "messages": request.messages}
        for name in ("temperature", "max_tokens", "response_format"):
            if getattr(request, name) is not None:
                body[name] = getattr(request, name)
        try:
            stored = self.cassette.normalizer.to_stored(redact_fields(json.loads(json.dumps(body))))
        except (TypeError, ValueError):
            return None
        live_stored = self.cassette.first_candidate(
            KIND, request.step_id, lambda item: item.method.endswith("/chat/completions") and item.server == model and item.request == stored)
        if live_stored is None:
            return None
        answer = _answer(live_stored.response)
        if answer is None or in_price_map(model, str(answer.get("model") or "")):
            return None
        if body == stored:  # nothing was normalised or redacted (the usual case): not normalised again
            self.cassette.lookup_stored(KIND, model, request.step_id, live_stored.method, stored)  # marks it used, in order
        else:
            self.cassette.lookup(KIND, model, request.step_id, live_stored.method, body)
        usage = answer["usage"]
        details = usage.get("prompt_tokens_details") or {}
        return LLMResponse(text=answer["choices"][0]["message"].get("content") or "", model=answer.get("model") or request.model,
                           prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"),
                           cached_tokens=details.get("cached_tokens") if isinstance(details, dict) else None,
                           cost_usd=None, usage_source="provider")

    def _record_mode(self) -> str:
        # The Cassette decides; vcrpy's `once` would also refuse a step's second new request.
        if not self.cassette.replays:
            return "all"
        return "none" if self.cassette.write_protected else "new_episodes"


class _Persister:
    """vcrpy's storage, backed by the Cassette, for one step at a time (`step` is set per call)."""

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette
        self.step: str | None = None
        self.loaded = 0

    def load_cassette(self, path: Any, serializer: Any) -> tuple[list[Request], list[dict[str, Any]]]:
        items = self.cassette.candidates(KIND, self.step)
        self.loaded = len(items)
        return [self._vcr_request(item) for item in items], [_vcr_response(item.response) for item in items]

    def save_cassette(self, path: Any, cassette_dict: dict[str, Any], serializer: Any) -> None:
        # vcrpy hands back everything it holds: the loaded recordings first, then the new ones.
        new = zip(cassette_dict["requests"][self.loaded:], cassette_dict["responses"][self.loaded:], strict=True)
        for vcr_request, vcr_response in new:
            server, method, body = self.describe(vcr_request)
            self.cassette.record(KIND, server, self.step, method, body, _stored_response(vcr_response))

    def match(self, live: Request, recorded: Request) -> None:
        """vcrpy's matcher: raises AssertionError when the requests differ."""
        (_, m1, b1), (_, m2, b2) = self.describe(live), self.describe(recorded)
        if m1 != m2:
            raise AssertionError(f"{m1} != {m2}")
        if self.cassette.normalizer.to_stored(b1) != self.cassette.normalizer.to_stored(b2):
            raise AssertionError("normalised bodies differ")

    def describe(self, request: Request) -> tuple[str, str, Any]:
        """(server, method, body) as the Cassette keys them: the model the body names, the
        method and path (+ redacted query; no scheme, host or port), the body with secret
        fields redacted. Request headers are never stored."""
        raw = request.body or b""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        try:
            body: Any = redact_fields(json.loads(text))
        except ValueError:
            body = text
        parts = urlsplit(redact_url(request.uri))
        method = f"{request.method} {parts.path}" + (f"?{parts.query}" if parts.query else "")
        server = body.get("model") if isinstance(body, dict) else None
        return str(server or "unknown"), method, body

    def mark_used(self, recorded: Request, count: int) -> None:
        """Tell the Cassette which recording vcrpy replayed (its bookkeeping: order, `unused`)."""
        server, method, body = self.describe(recorded)
        for _ in range(count):
            self.cassette.lookup(KIND, server, self.step, method, body)

    def miss(self, request: Request) -> CassetteMiss:
        server, method, body = self.describe(request)
        return self.cassette.miss(KIND, server, self.step, method, body)

    def _vcr_request(self, item: StoredInteraction) -> Request:
        from vcr.request import Request

        verb, _, target = item.method.partition(" ")
        body = json.dumps(self.cassette.normalizer.to_live(item.request), ensure_ascii=False)
        return Request(verb, target, body.encode(), {})


def _error_body(request: LLMRequest) -> dict[str, Any]:
    """What a recorded provider error is keyed by: the request as the model would have seen it."""
    body: dict[str, Any] = {"model": request.model, "messages": request.messages}
    for name in ("temperature", "max_tokens", "response_format"):
        if getattr(request, name) is not None:
            body[name] = getattr(request, name)
    body.update(request.options or {})
    return redact_fields(json.loads(json.dumps(body)))


def _stored_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy's recorded response -> the Cassette's: status code, stable redacted headers, and
    the body as JSON when it is a JSON document (readable and diffable in review)."""
    headers = {k.lower(): (v[0] if isinstance(v, list) else v) for k, v in response["headers"].items()}
    headers = redact_headers({k: headers[k] for k in KEPT_HEADERS if k in headers})
    raw = response["body"]["string"] or b""
    body: Any = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if "json" in str(headers.get("content-type", "")):
        try:
            parsed = json.loads(body)
            body = redact_fields(parsed) if isinstance(parsed, (dict, list)) else body
        except ValueError:
            pass
    return {"status": response["status"]["code"], "headers": headers, "body": body}


def _vcr_response(stored: dict[str, Any]) -> dict[str, Any]:
    """The Cassette's response -> what vcrpy's httpx stub plays back."""
    code = int(stored.get("status", 200))
    body = stored.get("body")
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    headers = {k: [str(v)] for k, v in (stored.get("headers") or {}).items()}
    return {"status": {"code": code, "message": phrase}, "headers": headers, "body": {"string": text.encode()}}


def _answer(response: dict[str, Any]) -> dict[str, Any] | None:
    """A recorded 200 chat completion with one text choice and the provider's usage, or None."""
    body = response.get("body")
    if int(response.get("status", 0)) != 200 or not isinstance(body, dict):
        return None
    choices, usage = body.get("choices"), body.get("usage")
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict) and isinstance(choices[0].get("message"), dict)):
        return None
    message = choices[0]["message"]
    if message.get("tool_calls") or not isinstance(message.get("content"), (str, type(None))):
        return None
    if not isinstance(usage, dict) or not (usage.get("prompt_tokens") or usage.get("completion_tokens")):
        return None  # litellm would count tokens itself
    return body


def _in_chain(exc: BaseException, kind: type[BaseException]) -> Any:
    """The first `kind` among the causes and contexts of `exc` (wrappers set either)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop(0)
        if cur is None or any(cur is s for s in seen):
            continue
        if isinstance(cur, kind):
            return cur
        seen.append(cur)
        todo += [cur.__cause__, cur.__context__]
    return None
