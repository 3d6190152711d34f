"""`http`: one HTTP request with httpx; outputs response (parsed JSON when the content type says
JSON, base64 when binary, else text), status_code, response_headers, response_time and
response_is_binary. A 4xx/5xx status fails the node (routable via `error`)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec

_TEXT_TYPES = ("text/", "json", "xml", "javascript", "x-www-form-urlencoded")


class HttpNode(NodeType):
    name = "http"
    kind = "http"
    params = {
        "url": ParamSpec("string", True, "absolute http(s) URL"),
        "method": ParamSpec("string", False, "GET (default; POST when there is a body), PUT, PATCH, DELETE, HEAD"),
        "headers": ParamSpec("object", False, "request headers"),
        "params": ParamSpec("object", False, "query parameters"),
        "body": ParamSpec("any", False, "request body: objects and arrays are sent as JSON"),
        "timeout": ParamSpec("number", False, "seconds (default 30)"),
        "auth_token": ParamSpec("string", False, "sent as Authorization: Bearer <token>"),
        "api_key": ParamSpec("string", False, "sent in the header named by api_key_header"),
        "api_key_header": ParamSpec("string", False, "header for api_key (default X-API-Key)"),
    }
    outputs = ("response", "status_code", "response_headers", "response_time", "response_is_binary")

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        import httpx

        url = str(params["url"])
        body = params.get("body")
        headers = {str(k): str(v) for k, v in (params.get("headers") or {}).items()}
        if params.get("auth_token"):
            headers["Authorization"] = f"Bearer {params['auth_token']}"
        if params.get("api_key"):
            headers[str(params.get("api_key_header") or "X-API-Key")] = str(params["api_key"])
        kwargs: dict[str, Any] = {"headers": headers, "params": params.get("params") or None}
        if isinstance(body, (dict, list)):
            # JSON as pflow sends it (", " and ": " separators), so recorded bodies match.
            kwargs["content"] = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        elif body is not None:
            kwargs["content"] = str(body)
        method = str(params.get("method") or ("POST" if body is not None else "GET")).upper()
        started = time.perf_counter()
        try:
            resp = httpx.request(method, url, timeout=float(params.get("timeout") or 30), **kwargs)
        except httpx.HTTPError as err:
            raise NodeFailure(f"{method} {url}: {err or type(err).__name__}") from None
        ctype = resp.headers.get("content-type", "")
        binary = bool(ctype) and not any(t in ctype for t in _TEXT_TYPES)
        payload: Any
        if binary:
            payload = base64.b64encode(resp.content).decode()
        elif "json" in ctype:
            try:
                payload = resp.json()
            except (json.JSONDecodeError, RecursionError):  # not JSON, or too deep to parse: text
                payload = resp.text
        else:
            payload = resp.text
        output = {
            "response": payload,
            "status_code": resp.status_code,
            "response_headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in resp.headers.raw},  # names as sent
            "response_time": round(time.perf_counter() - started, 3),
            "response_is_binary": binary,
        }
        if not 200 <= resp.status_code < 300:
            raise NodeFailure(f"HTTP {resp.status_code}", output)
        return NodeResult(output)
