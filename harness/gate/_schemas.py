"""What each MCP server's tool definitions cost a model that is shown them, from the cassettes.

A server's schema tokens are its recorded `tools/list` answer counted the way
`harness.accounting.context` counts schemas: the compact JSON of `[{"name", "description",
"inputSchema"}]` (`schema_text`), with the run's tokenizer. Each (case, approach) of the run has
its cassette `<cassettes>/<task>/<case>.<approach>.yaml`; a server seen in several is taken at its
largest, and the cassette it came from is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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
    from harness.accounting import count_tokens
    from harness.accounting.context import schema_text
    from harness.cassettes import CassetteError
    from harness.compare import schemas_from_cassette

    found: dict[str, ServerSchema] = {}
    read = 0
    for task, case, approach in sorted({tuple(k[:3]) for k in keys}):
        path = cassettes / task / f"{case}.{approach}.yaml"
        if not path.is_file():
            continue
        try:
            servers = schemas_from_cassette(path)
        except CassetteError as err:
            raise GateError(str(err).splitlines()[0]) from None
        read += 1
        for server, tools in servers.items():
            by_name: dict[str, dict] = {}
            for tool in tools:  # a server listed twice in one cassette counts once
                by_name.setdefault(tool["name"], tool)
            unique = list(by_name.values())
            tokens = count_tokens(schema_text(unique), tokenizer)
            if server not in found or tokens > found[server].tokens:
                found[server] = ServerSchema(server, tokens, len(unique), path)
    if not read:
        raise GateError(f"{cassettes}: no cassette of this run's cases (expected <task>/<case>.<approach>.yaml); pass --cassettes")
    return found
