"""The two seams through which the runner reaches the outside world.

`llm` nodes call an `LLMClient`, `mcp-*` nodes an `MCPClient`. The runner ships live
implementations (`runner.live`: litellm, the official mcp SDK); the harness plugs recording and
replaying ones into the same protocols, so the runner never knows whether a call is live.
A third, `ReviewClient`, is the human at a `review` checkpoint (or an `approval: required` gate):
live, the decisions given on the command line (`runner.review.GivenDecisions`); in a recorded
run, the decision the cassette holds.
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
    "ReviewClient",
    "ReviewDecision",
    "ReviewRequest",
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
    api_base: str | None = None  # this call's endpoint, when not the client's (an llm node's `api_base`, a fallback's)
    error_is_answer: bool = False  # a provider error is part of what the run measures (a fallback model follows): recorders keep it
    options: dict[str, Any] | None = None  # provider parameters passed through as they are (an llm node's model_options, reasoning_effort)


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
    def complete(self, request: LLMRequest) -> LLMResponse:
        """The model's answer. Any exception is a provider error (an llm node may then try its
        fallback models), except one with a true `no_fallback` attribute (a replay that has no
        recording), which fails the node at once."""
        ...


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


@dataclass(frozen=True)
class ReviewRequest:
    """What a human is asked to decide at a checkpoint: the step, what it shows them (`subject`,
    any JSON) and why it stopped (`reason`), and the decisions it accepts."""

    step_id: str
    subject: Any = None
    reason: str = ""
    decisions: tuple[str, ...] = ("approve", "reject")


@dataclass(frozen=True)
class ReviewDecision:
    """A human's decision: which one, who made it, when (ISO 8601, UTC) and an optional note."""

    decision: str
    reviewer: str
    decided_at: str
    note: str = ""


@runtime_checkable
class ReviewClient(Protocol):
    def decide(self, request: ReviewRequest) -> ReviewDecision | None:
        """The decision for this checkpoint, or None when nobody has made one (the case stops)."""
        ...
