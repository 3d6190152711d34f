"""Secrets never reach a cassette: redaction of the places secrets live, and a last scan that
refuses to save a cassette in which a known secret value still appears anywhere.

A known secret is the value of any environment variable (of this process, or given to an MCP
server in its config) whose name contains KEY, TOKEN, SECRET or PASSWORD.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "<redacted>"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.I)
_ENV_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.I)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie", "x-goog-api-key", "anthropic-api-key", "openai-organization"})
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would match everywhere and protect nothing


class LeakedSecretError(ValueError):
    """A known secret value appears in what would be written; nothing is written."""


def known_secrets(*envs: Mapping[str, str]) -> dict[str, str]:
    """value -> variable name, for every secret-named variable of the given environments
    (this process's environment is always included)."""
    found: dict[str, str] = {}
    for env in (os.environ, *envs):
        for name, value in env.items():
            if _ENV_NAME.search(name) and isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
                found.setdefault(value, name)
    return found


def redact_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """Redact secret-named query parameters and any password in the URL."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.split('@', 1)[1]}"
    query = urlencode([(k, REDACTED if SECRET_NAME.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_fields(value: Any) -> Any:
    """Redact JSON object fields whose names look secret (api_key, token, password, ...),
    leaving token *counts* (`prompt_tokens`, `max_tokens`) alone."""
    if isinstance(value, dict):
        return {k: (REDACTED if _secret_field(k) and isinstance(v, str) else redact_fields(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_fields(v) for v in value]
    return value


def _secret_field(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not re.search(r"tokens|_token_|token_count|max_token", name, re.I)


def find_leaks(document: Any, secrets: Mapping[str, str]) -> list[str]:
    """JSON paths (with the variable whose value leaked) where a secret appears in `document`."""
    if not secrets:
        return []
    text = json.dumps(document, ensure_ascii=False)
    if not any(s in text for s in secrets):  # the common case: one pass over the whole text
        return []
    return list(_walk(document, "$", secrets))


def _walk(value: Any, path: str, secrets: Mapping[str, str]) -> Iterable[str]:
    if isinstance(value, str):
        for secret, name in secrets.items():
            if secret in value:
                yield f"{path} (value of {name})"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(k, f"{path}.<key {k[:20]}>", secrets) if isinstance(k, str) and any(s in k for s in secrets) else ()
            yield from _walk(v, f"{path}.{k}", secrets)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]", secrets)
