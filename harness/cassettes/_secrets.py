"""Secrets never reach disk: redaction of the places secrets live, and a last scan for the
secret values flowtape knows, over cassettes and traces alike.

What is known to be secret (`known_secrets`, `server_credentials`):
- the value of an environment variable whose name says so (KEY, TOKEN, SECRET, PASSWORD), of
  this process or given to an MCP server in its config;
- credentials flowtape was handed: `--llm-api-key`, an MCP server's secret header values
  (`Authorization: Bearer ...`, `X-Api-Key: ...`; the token alone too), the secret-named query
  parameters and the password of its URL, the value of a secret-named flag in its args
  (`--api-key=...`, `--token ...`), and passwords in URLs in its args and env.

What is redacted by shape, wherever it appears (`redact_text`): the password of a URL
(`postgres://user:pw@host` -> `postgres://user:<redacted>@host`, or the whole user of an
`https://TOKEN@host`), and the values of secret-named query parameters (`?api_key=...`). By
name or value (`is_secret_name`, `secret_header`): secret-named fields and headers (`auth_token`,
`X-Api-Key`, `Cookie`; not `author` or `max_tokens`) and `Bearer <token>` / `Basic ...` values,
in a cassette's `meta.servers` and anywhere in a trace.

A known value is looked for in every form it can take in a file: raw, JSON-escaped, YAML-escaped
and URL-encoded (`secret_forms`), both in the document's string values (a tool result that is
itself JSON text holds the escaped form) and in the text that is written. A cassette that still
holds one is refused (`find_leaks`); a trace has it replaced by `<redacted>` (`redact_trace`).

Not covered: a secret the workflow passes around as ordinary data under a name that does not
look secret, whose value flowtape was never told.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote_plus, urlencode, urlsplit, urlunsplit

import yaml

if TYPE_CHECKING:
    from runner.live.mcp import ServerConfig
    from runner.trace import Trace

REDACTED = "<redacted>"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.I)
_ENV_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.I)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie", "x-goog-api-key", "anthropic-api-key", "openai-organization"})
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would match everywhere and protect nothing


class LeakedSecretError(ValueError):
    """A known secret value appears in what would be written; nothing is written."""


# -- names that say "secret" --------------------------------------------------------------------

_SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "token", "credential", "credentials",
                           "authorization", "auth", "cookie", "apikey", "signature"})
_KEY_OWNERS = frozenset({"api", "access", "private", "secret", "signing", "client", "encryption", "master", "session"})
# A name ending so is about a secret, not one: api_key_header, token_count, auth_url, secret_name.
_NOT_SECRET_ENDINGS = frozenset({"header", "name", "names", "env", "var", "file", "path", "dir", "type", "count", "limit",
                                 "url", "uri", "endpoint", "length", "len", "usage", "budget", "max", "min", "kind", "format"})


@functools.lru_cache(maxsize=8192)  # the same few field names, on every step of every case
def is_secret_name(name: str) -> bool:
    """Whether a field, header, flag or query parameter named `name` holds a secret, judged by
    whole words: `api_key`, `X-Api-Key`, `authToken`, `--password`, `set-cookie` do; `author`,
    `keywords`, `max_tokens`, `prompt_tokens`, `api_key_header` do not."""
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = [w for w in re.split(r"[^a-z0-9]+", snake.lower()) if w]
    if not words or words[-1] in _NOT_SECRET_ENDINGS:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(a in _KEY_OWNERS and b == "key" for a, b in zip(words, words[1:]))


# -- known secret values --------------------------------------------------------------------------


def known_secrets(*envs: Mapping[str, str]) -> dict[str, str]:
    """value -> variable name, for every secret-named variable of the given environments
    (this process's environment is always included)."""
    found: dict[str, str] = {}
    for env in (os.environ, *envs):
        for name, value in env.items():
            if _ENV_NAME.search(name) and isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
                found.setdefault(value, name)
    return found


def server_credentials(config: ServerConfig) -> dict[str, str]:
    """value -> where it came from (`mcpServers.<name>.headers.Authorization`), for every
    credential in one MCP server's config: secret-named env values, secret header values (and
    the token after `Bearer `, and the password in `Basic ` ones), URL passwords and
    secret-named query values, secret-named flags' values in args, URL passwords in args/env."""
    place = f"mcpServers.{config.name}"
    found: dict[str, str] = {}

    def add(value: Any, label: str) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value != REDACTED:
            found.setdefault(value, label)

    for name, value in config.env.items():
        if _ENV_NAME.search(name) or is_secret_name(name):
            add(value, f"{place}.env.{name}")
        for secret in url_credentials(value):
            add(secret, f"{place}.env.{name}")
    for name, value in config.headers.items():
        if secret_header(name, value):
            add(value, f"{place}.headers.{name}")
            for secret in _auth_parts(value):
                add(secret, f"{place}.headers.{name}")
    if config.url:
        for secret in url_credentials(config.url):
            add(secret, f"{place}.url")
    for i, secret in _flag_values(config.args):
        add(secret, f"{place}.args[{i}]")
    for i, arg in enumerate(config.args):
        for secret in url_credentials(arg):
            add(secret, f"{place}.args[{i}]")
    return found


_BEARER = re.compile(r"\s*bearer\s+(?=\S*[0-9._~+/=-])\S{8,}\s*", re.I)  # a token, not "Bearer authentication"
_BASIC = re.compile(r"\s*basic\s+([A-Za-z0-9+/]{6,}={0,2})\s*", re.I)


def secret_header(name: str, value: Any = None) -> bool:
    """Whether a header (or any field) holds a credential: by its name (`Authorization`,
    `X-Api-Key`, `Cookie`, any secret-looking name) or by its value (`Bearer <token>`, `Basic
    <base64 of user:password>`)."""
    return _secret_key(name) or (isinstance(value, str) and _credential(value))


@functools.lru_cache(maxsize=4096)
def _secret_key(name: str) -> bool:
    """`secret_header`'s judgement by name alone."""
    return name.lower() in SECRET_HEADERS or is_secret_name(name)


def _credential(value: str) -> bool:
    """`secret_header`'s judgement by value alone: `Bearer <token>`, `Basic <user:password>`."""
    if _BEARER.fullmatch(value):
        return True
    basic = _BASIC.fullmatch(value)
    return basic is not None and ":" in _b64(basic[1])


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def secrets_of(configs: Iterable[ServerConfig], given: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """value -> name of every secret a run with these MCP servers must not write: secret-named
    variables (of this process and the servers' env), the servers' credentials, and the
    credentials flowtape was given (`given`: name -> value, e.g. {"--llm-api-key": key})."""
    configs = list(configs)
    found = known_secrets(*(c.env for c in configs))
    for config in configs:
        for value, label in server_credentials(config).items():
            found.setdefault(value, label)
    for label, value in (given or {}).items():
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            found.setdefault(value, label)
    return found


def _auth_parts(value: str) -> Iterator[str]:
    """The credential inside an Authorization-style value: `Bearer TOKEN` -> TOKEN; `Basic
    b64(user:pw)` -> the base64 text, `user:pw` and pw."""
    scheme, _, rest = value.strip().partition(" ")
    if not rest:
        return
    rest = rest.strip()
    yield rest
    if scheme.lower() == "basic" and (decoded := _b64(rest)):
        yield decoded
        yield decoded.partition(":")[2]


def _flag_values(args: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(index, value) of every secret-named flag's value: `--api-key=V` (the same arg) and
    `--token V` (the next one, when it is not itself a flag)."""
    args = list(args)
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if not is_secret_name(name):
            continue
        if eq:
            yield i, value
        elif i + 1 < len(args) and not args[i + 1].startswith("-"):
            yield i + 1, args[i + 1]


# -- shapes: credentials in URLs, anywhere in a string -----------------------------------------------

# scheme://user:password@ -- the password may hold anything but whitespace, '@', '?' and '#'
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:\"'<>]*):[^\s?#@]+@")
# http(s)://TOKEN@ -- a user with no password is the token (https://ghp_...@github.com)
_URL_USER = re.compile(r"(\bhttps?://)[^\s/?#@:\"'<>]+@", re.I)
_QUERY_PARAM = re.compile(r"([?&]([^=&#\s\"'<>?]+)=)([^&#\s\"'<>]*)")


def redact_text(text: str) -> str:
    """`text` with URL credentials redacted wherever they appear in it: the password of any
    URL, the user of an http(s) URL that has no password (a token), and secret-named query
    parameters' values."""
    if "://" not in text and "=" not in text:
        return text
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m[1]}:{REDACTED}@", text)
        text = _URL_USER.sub(lambda m: f"{m[1]}{REDACTED}@", text)
    if "=" in text:
        text = _QUERY_PARAM.sub(lambda m: m[1] + (REDACTED if m[3] and is_secret_name(unquote_plus(m[2])) else m[3]), text)
    return text


def url_credentials(text: str) -> list[str]:
    """The secrets `redact_text` would take out of `text` (URL passwords, token users, secret
    query values), decoded as well as written."""
    found: list[str] = []
    for match in re.finditer(r"\b[A-Za-z][A-Za-z0-9+.\-]*://\S+", text):
        url = match[0]
        rest = url.split("://", 1)[1]
        if m := re.match(r"([^\s/?#@:]*):([^\s?#@]+)@", rest):
            found += [m[2], unquote_plus(m[2])]
        elif url.lower().startswith(("http://", "https://")) and (m := re.match(r"([^\s/?#@:]+)@", rest)):
            found += [m[1], unquote_plus(m[1])]
    for m in _QUERY_PARAM.finditer(text):
        if m[3] and is_secret_name(unquote_plus(m[2])):
            found += [m[3], unquote_plus(m[3])]
    return list(dict.fromkeys(found))


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


def redact_server_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """One MCP server's entry as a cassette's `meta.servers` records it: every env value, the
    secret header values and secret flags' values in args redacted; URL credentials redacted
    in every string (the url, args, the rest)."""
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "env" and isinstance(value, Mapping):
            out[key] = {k: REDACTED for k in value}
        elif key == "headers" and isinstance(value, Mapping):
            out[key] = {k: (REDACTED if secret_header(str(k), v) else _redact_strings(v)) for k, v in value.items()}
        elif key == "args" and isinstance(value, list) and all(isinstance(a, str) for a in value):
            args = list(value)
            for i, _ in _flag_values(args):
                args[i] = f"{args[i].partition('=')[0]}={REDACTED}" if args[i].startswith("-") else REDACTED
            out[key] = [redact_text(a) for a in args]
        else:
            out[key] = _redact_strings(value)
    return out


def _redact_strings(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v) for v in value]
    return value


def redact_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A cassette's meta with URL credentials redacted everywhere and each `servers` entry
    redacted as `redact_server_spec` does (idempotent: saving twice changes nothing)."""
    out = _redact_strings(dict(meta))
    servers = out.get("servers")
    if isinstance(servers, dict):
        out["servers"] = {name: redact_server_spec(spec) if isinstance(spec, Mapping) else spec for name, spec in servers.items()}
    return out


# -- the forms a value takes in a file, and the scan -------------------------------------------------


@functools.lru_cache(maxsize=1024)
def secret_forms(secret: str) -> tuple[str, ...]:
    """Every form `secret` takes in a file flowtape writes, longest first: raw, JSON-escaped
    (ASCII or not, and escaped twice, for JSON text inside a JSON string), YAML double- and
    single-quoted, URL-encoded."""
    forms = {secret, secret.replace("'", "''"), quote(secret, safe=""), quote(secret), quote_plus(secret)}
    for ascii_only in (True, False):
        once = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        forms |= {once, json.dumps(once, ensure_ascii=ascii_only)[1:-1]}
        dumped = yaml.safe_dump(secret, default_style='"', width=1 << 30, allow_unicode=not ascii_only).strip()
        forms.add(dumped.removesuffix("...").strip()[1:-1])
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


def _needles(secrets: Mapping[str, str]) -> dict[str, str]:
    """form -> the name of the secret it is a form of, longest forms first."""
    pairs = [(form, name) for secret, name in secrets.items() for form in secret_forms(secret)]
    needles: dict[str, str] = {}
    for form, name in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
        needles.setdefault(form, name)
    return needles


def find_leaks(document: Any, secrets: Mapping[str, str], *, written: str | None = None) -> list[str]:
    """Where a known secret appears in `document` — in any of its forms, in any string value or
    key or number — as JSON paths naming the secret (`$.a[0].b (value of DB_PASSWORD)`); and,
    when `written` (the text that would be written) is given, in that text too."""
    if not secrets:
        return []
    needles = _needles(secrets)
    joined = "\x00".join(_strings(document))
    in_document = any(n in joined for n in needles)
    leaks = list(dict.fromkeys(_walk(document, "$", needles))) if in_document else []
    if written is not None:
        named = {leak.rsplit("(value of ", 1)[1][:-1] for leak in leaks}
        for name in dict.fromkeys(name for n, name in needles.items() if n in written):
            if name not in named:
                leaks.append(f"the written text (value of {name})")
    return leaks


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


def _walk(value: Any, path: str, needles: Mapping[str, str]) -> Iterator[str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        for name in _names_in(value, needles):
            yield f"{path} (value of {name})"
    elif isinstance(value, dict):
        for i, (k, v) in enumerate(value.items()):
            key_names = _names_in(str(k), needles)
            where = f"{path}.<key {i}>" if key_names else f"{path}.{k}"  # a path never spells a secret
            yield from (f"{where} (value of {name})" for name in key_names)
            yield from _walk(v, where, needles)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]", needles)


def _names_in(text: str, needles: Mapping[str, str]) -> list[str]:
    return list(dict.fromkeys(name for needle, name in needles.items() if needle in text))


# -- traces -----------------------------------------------------------------------------------------


def scrub(value: Any, secrets: Mapping[str, str]) -> Any:
    """`value` with every known secret (in any form) replaced by `<redacted>`, the values of
    secret-named fields and headers redacted (whole objects under them too; and any field whose
    value is `Bearer <token>` or `Basic <user:password>`), and URL credentials redacted in every
    string. Numbers stay: `prompt_tokens: 12` is a count, not a secret."""
    return _scrub(value, tuple(_needles(secrets)))


def _scrub(value: Any, needles: tuple[str, ...]) -> Any:
    # Written for speed (every string of every trace passes here): the checks of `scrub_text`
    # and `secret_header`, with their cheap negative answers taken inline.
    if isinstance(value, str):
        return _text(value, needles)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            name = k if type(k) is str else str(k)
            if v and isinstance(v, (str, dict, list)) and (_secret_key(name) or (isinstance(v, str) and _credential(v))):
                out[_text(name, needles)] = REDACTED
            elif isinstance(v, str):
                out[_text(name, needles)] = _text(v, needles)
            elif isinstance(v, (dict, list)):
                out[_text(name, needles)] = _scrub(v, needles)
            else:
                out[_text(name, needles)] = v
        return out
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    return value


def _text(text: str, needles: tuple[str, ...]) -> str:
    """`scrub_text`, with the common case (no secret, no URL, no `=`) answered first."""
    if "://" not in text and "=" not in text and (not needles or not any(needle in text for needle in needles)):
        return text
    return scrub_text(text, needles)


def scrub_text(text: str, needles: Iterable[str]) -> str:
    """`text` with each of `needles` (known secrets' forms, longest first) and URL credentials
    replaced by `<redacted>`."""
    for needle in needles:
        if needle in text:
            text = text.replace(needle, REDACTED)
    return redact_text(text)


def redact_trace(trace: Trace, secrets: Mapping[str, str]) -> Trace:
    """A copy of `trace` fit to write: `scrub` over everything it holds (params, outputs,
    errors, warnings, inputs). Redacting in place rather than refusing: a trace is a report,
    nothing replays from it, and a run's evidence is worth more than a masked value costs."""
    from runner.trace import Trace

    return Trace.model_validate(scrub(trace.model_dump(mode="json"), secrets))
