"""The two seams through which the runner reaches the outside world.

`llm` nodes call an `LLMClient`, `mcp-*` nodes an `MCPClient`. The runner ships live
implementations (`runner.live`: litellm, the official mcp SDK); the harness plugs recording and
replaying ones into the same protocols, so the runner never knows whether a call is live.
Both protocols are synchronous: the runner executes one node at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "MCPClient",
    "MCPError",
    "ToolCallResult",
    "ToolInfo",
]


@dataclass(frozen=True)
class LLMRequest:
    """One chat completion. `response_format` is an OpenAI JSON-schema response format
    (grammar-constrained output on servers that support it), built from an `output_schema`;
    `tools` are OpenAI function tools (`{"type": "function", "function": {...}}`)."""

    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    timeout: float | None = None
    step_id: str | None = None
    tools: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class LLMResponse:
    """The model's text, the tool calls it asked for (OpenAI's shape: `{"id", "type": "function",
    "function": {"name", "arguments": <JSON text>}}`), and the usage the provider reported (None
    where it reported none)."""

    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None
    usage_source: str = "provider"
    tool_calls: list[dict[str, Any]] | None = None


@runtime_checkable
class LLMClient(Protocol):
    def complete(self, request: LLMRequest) -> LLMResponse: ...


@dataclass(frozen=True)
class ToolInfo:
    """One tool from a server's `tools/list`."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolCallResult:
    """A `tools/call` result as JSON (`content` blocks, `structured_content`), plus the sizes
    of the JSON-RPC params sent and result received, for accounting."""

    content: list[dict[str, Any]]
    structured_content: dict[str, Any] | None = None
    is_error: bool = False
    request_bytes: int = 0
    result_bytes: int = 0


class MCPError(RuntimeError):
    """A server could not be started, reached, or answered with a protocol error."""


@runtime_checkable
class MCPClient(Protocol):
    def servers(self) -> list[str]:
        """Names of the configured servers (used to split `mcp-<server>-<tool>`)."""
        ...

    def list_tools(self, server: str) -> list[ToolInfo]: ...

    def call_tool(self, server: str, tool: str, arguments: dict[str, Any], *, step_id: str | None = None) -> ToolCallResult: ...

    def close(self) -> None: ...
