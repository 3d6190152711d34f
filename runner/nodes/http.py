"""`http`: one HTTP request with httpx; outputs response (parsed JSON when it is JSON),
status_code and response_headers. A 4xx/5xx status fails the node (routable via `error`)."""

from __future__ import annotations

import json
from typing import Any

from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec


class HttpNode(NodeType):
    name = "http"
    kind = "http"
    params = {
        "url": ParamSpec("string", True, "absolute http(s) URL"),
        "method": ParamSpec("string", False, "GET (default), POST, PUT, PATCH, DELETE, HEAD"),
        "headers": ParamSpec("object", False, "request headers"),
        "params": ParamSpec("object", False, "query parameters"),
        "body": ParamSpec("any", False, "request body: objects and arrays are sent as JSON"),
        "timeout": ParamSpec("number", False, "seconds (default 30)"),
    }
    outputs = ("response", "status_code", "response_headers")

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        import httpx

        body = params.get("body")
        kwargs: dict[str, Any] = {"headers": params.get("headers") or {}, "params": params.get("params") or None}
        if isinstance(body, (dict, list)):
            kwargs["json"] = body
        elif body is not None:
            kwargs["content"] = str(body)
        method = str(params.get("method") or ("POST" if body is not None else "GET")).upper()
        try:
            resp = httpx.request(method, params["url"], timeout=float(params.get("timeout") or 30), **kwargs)
        except httpx.HTTPError as err:
            raise NodeFailure(f"{method} {params['url']}: {err}") from None
        try:
            payload: Any = resp.json() if "json" in resp.headers.get("content-type", "") else resp.text
        except json.JSONDecodeError:
            payload = resp.text
        output = {"response": payload, "status_code": resp.status_code, "response_headers": dict(resp.headers)}
        if resp.status_code >= 400:
            raise NodeFailure(f"{method} {params['url']}: HTTP {resp.status_code}", output)
        return NodeResult(output)
