"""What a node type is: declared params and outputs, and one `run`.

Like PocketFlow's prep → exec → post, but with the template resolution done by the executor:
a node type receives resolved params and returns a `NodeResult` whose `action` picks the edge.
A failure raises `NodeFailure`; the executor retries it per the node's policy and then routes
it along an `error` edge or fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from runner import templates
from runner.trace import LLMUsage, ModelCall, Review, StepKind, StepRecord, ToolUsage

if TYPE_CHECKING:
    from runner.clients import LLMClient, MCPClient, ReviewClient


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int, float), "boolean": (bool,), "object": (dict,), "array": (list,),
}
_WHAT = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "true or false",
         "object": "an object", "array": "an array"}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter a node type takes. `type` is a JSON type name or `any`."""

    type: str = "any"
    required: bool = False
    description: str = ""

    def type_problem(self, value: Any) -> str | None:
        """What the value should be ("a string, not a list") when it cannot be of `type`, or
        None. A template that is the whole string may resolve to any type; text around a
        template makes a string. Null means "not given".

            >>> ParamSpec("number").type_problem("soon")
            'a number, not a string'
        """
        if self.type not in _JSON_TYPES or value is None:
            return None
        if isinstance(value, str) and "${" in value:
            try:
                template = templates.parse(value)
            except templates.TemplateSyntaxError:
                return None  # reported with the template's references
            if template.is_whole or not template.refs() or self.type == "string":
                return None
            return f"{_WHAT[self.type]}; text around a template makes a string"
        ok = isinstance(value, _JSON_TYPES[self.type]) and not (isinstance(value, bool) and self.type != "boolean")
        if ok and self.type == "integer" and isinstance(value, float):
            ok = value.is_integer()
        if ok:
            return None
        got = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), f"the number {value}")
        return f"{_WHAT[self.type]}, not {got}"


@dataclass
class NodeResult:
    output: dict[str, Any]
    action: str = "default"
    llm: LLMUsage | None = None
    tool: ToolUsage | None = None
    calls: list[ModelCall] = field(default_factory=list)  # an llm node's model calls, under a contract or fallback policy
    review: Review | None = None  # a review checkpoint's decision


class NodeFailure(RuntimeError):
    """A node could not do its job. `output` keeps what it produced before failing (e.g. a
    shell command's stderr), so an error edge and the trace can see it. `route` names the action
    the node takes instead of failing when the workflow declares that edge (`contract_failed`)."""

    def __init__(
        self,
        message: str,
        output: dict[str, Any] | None = None,
        *,
        retryable: bool = True,
        llm: LLMUsage | None = None,
        tool: ToolUsage | None = None,
        route: str | None = None,
    ) -> None:
        super().__init__(message)
        self.output = output or {}
        self.retryable = retryable
        self.llm = llm
        self.tool = tool
        self.route = route
        self.calls: list[ModelCall] = []


@dataclass
class NodeContext:
    """What a node may use besides its params."""

    step_id: str
    base_dir: Path
    llm: LLMClient | None = None
    mcp: MCPClient | None = None
    run_workflow: Callable[..., Any] | None = None
    depth: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    review: ReviewClient | None = None
    add_step: Callable[[StepRecord], None] | None = None  # steps of the node's own (an agent's turns), before its step


class NodeType:
    """Base of the built-in node types. Subclasses set the class attributes and `run`."""

    name: ClassVar[str]
    kind: ClassVar[StepKind]
    params: ClassVar[dict[str, ParamSpec]] = {}
    outputs: ClassVar[tuple[str, ...] | None] = None  # None: any key may be referenced
    open_params: ClassVar[bool] = False  # True: params are not checked by name (mcp tool args)

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems a node type sees in its raw params before anything runs, as (param key,
        message); checked by `runner.validate` besides names and declared types."""
        return []

    def resolve(self, raw: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
        """Resolve the node's templated params against `scope` (inputs and earlier outputs)."""
        return templates.resolve_value(raw, scope)

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:  # pragma: no cover - abstract
        raise NotImplementedError
