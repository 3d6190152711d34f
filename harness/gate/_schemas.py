"""What each MCP server's tool definitions cost a model that is shown them, from the cassettes.

A server's schema tokens are its recorded `tools/list` answer counted the way
`harness.accounting.context` counts schemas: the compact JSON of `[{"name", "description",
"inputSchema"}]` (`schema_text`), with the run's tokenizer. Each (case, approach) of the run has
its cassette `<cassettes>/<task>/<case>.<approach>.yaml`; a server seen in several is taken at its
largest, and the cassette it came from is named.

Reading every cassette of a run (YAML) and loading the tokenizer take seconds; the figures of one
cassette depend only on its bytes and the tokenizer, so they are kept in the user's cache
(`harness._cache`, `schema-tokens.json`) by the sha256 of the file, and a gate on cassettes it has
seen reads only their bytes. Identical schema texts are counted once per call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness._cache import JsonCache, digest
from harness.gate._policy import GateError

__all__ = ["ServerSchema", "schema_tokens"]


@dataclass(frozen=True)
class ServerSchema:
    server: str
    tokens: int
    tools: int
    cassette: Path


def schema_tokens(cassettes: Path, keys: Iterable[tuple[str, ...]], tokenizer: str = "o200k_base") -> dict[str, ServerSchema]:
    """`{server: ServerSchema}` over the cassettes of `keys` ((task, case, approach[, model]):
    the task's own model's cassettes, which list the same servers as any other's); a key with no
    cassette is passed over.

    Raises:
        GateError: no cassette at all for `keys`, or one that cannot be read.
    """
    store = JsonCache("schema-tokens")
    counted: dict[str, int] = {}  # schema text -> tokens, for this call
    found: dict[str, ServerSchema] = {}
    read = 0
    for task, case, approach in sorted({tuple(k[:3]) for k in keys}):
        path = cassettes / task / f"{case}.{approach}.yaml"
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        except OSError as err:
            raise GateError(f"{path}: cannot read cassette: {err.strerror or err}") from None
        read += 1
        key = f"{tokenizer}:{digest(data)}"
        servers = store.get(key)
        if not _well_formed(servers):
            servers = _count(path, tokenizer, counted)
            store.put(key, servers)
        for server, (tokens, tools) in servers.items():
            if server not in found or tokens > found[server].tokens:
                found[server] = ServerSchema(server, tokens, tools, path)
    store.save()
    if not read:
        raise GateError(f"{cassettes}: no cassette of this run's cases (expected <task>/<case>.<approach>.yaml); pass --cassettes")
    return found


def _count(path: Path, tokenizer: str, counted: dict[str, int]) -> dict[str, list[int]]:
    """`{server: [tokens, tools]}` of one cassette, read and counted."""
    from harness.accounting import count_tokens
    from harness.accounting.context import schema_text
    from harness.cassettes import CassetteError
    from harness.compare import schemas_from_cassette

    try:
        servers = schemas_from_cassette(path)
    except CassetteError as err:
        raise GateError(str(err).splitlines()[0]) from None
    figures: dict[str, list[int]] = {}
    for server, tools in servers.items():
        by_name: dict[str, dict] = {}
        for tool in tools:  # a server listed twice in one cassette counts once
            by_name.setdefault(tool["name"], tool)
        text = schema_text(list(by_name.values()))
        if text not in counted:
            counted[text] = count_tokens(text, tokenizer)
        figures[server] = [counted[text], len(by_name)]
    return figures


def _well_formed(entry: Any) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(v, list) and len(v) == 2 and all(type(n) is int for n in v) for v in entry.values())
