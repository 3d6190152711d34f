"""The pflow-compatible JSON IR, as pydantic models read strictly.

A workflow is a JSON document:

    {"ir_version": "0.1.0",
     "inputs":  {"repo": {"type": "string", "required": true}},
     "nodes":   [{"id": "log", "type": "shell", "params": {"command": "git -C ${repo} log"}}],
     "edges":   [],
     "outputs": {"log": {"source": "${log.stdout}"}}}

Unknown keys are errors at the top level and inside nodes, edges, inputs and outputs; `params`
is free-form here and checked per node type by `runner.validate`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

__all__ = ["BatchSpec", "Edge", "InputSpec", "LoopSpec", "Node", "OutputSpec", "RetryPolicy", "Workflow", "workflow_hash", "INPUT_TYPES"]

_BARE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+|\[\d+\])*$")
INPUT_TYPES = ("string", "number", "integer", "boolean", "array", "object", "any")
InputType = Literal["string", "number", "integer", "boolean", "array", "object", "any"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _annotations(cls, value: Any) -> Any:
        """Keys starting with `_` (pflow's markdown parser adds `_source_line` and the like) are
        annotations, not settings: accepted and ignored. Any other unknown key is an error."""
        if isinstance(value, dict) and any(isinstance(k, str) and k.startswith("_") for k in value):
            return {k: v for k, v in value.items() if not (isinstance(k, str) and k.startswith("_"))}
        return value


class InputSpec(_Strict):
    """A declared workflow input. `required` defaults to true, as in pflow; an input with a
    default is never missing."""

    type: InputType = "any"
    required: bool = True
    default: Any = None
    description: str = ""
    stdin: bool = False


class OutputSpec(_Strict):
    """A declared workflow output: `source` is a template, usually `${node.key}`; a bare path
    such as `node.key` means `${node.key}`. `stdout` marks the output a CLI prints (pflow)."""

    source: str | None = None
    type: InputType | None = None
    description: str = ""
    stdout: bool = False

    @property
    def template(self) -> str:
        src = self.source or ""
        return src if "${" in src or not _BARE_PATH.match(src) else "${" + src + "}"


class RetryPolicy(_Strict):
    """Retry a failing node: up to `max` attempts in all (1-10, as pflow), sleeping `wait`
    seconds before the second attempt; with `backoff: "exponential"` the sleep doubles each time
    after, up to `MAX_WAIT` seconds (pflow's cap). pflow takes no other `backoff` value (a number
    included), and neither does flowtape.

    flowtape's extension: `on: "contract"` (an llm node with `output_schema` only) retries a reply
    that breaks the contract instead, up to `max` calls per model, with the validation errors
    fed back to the model when `feedback` is true; when the last breaks it too, the node takes
    its `contract_failed` edge if the workflow has one (else it fails)."""

    MAX_WAIT: ClassVar[float] = 60.0

    max: int = Field(default=1, ge=1, le=10)
    wait: float = Field(default=0.0, ge=0)
    backoff: Literal["fixed", "exponential"] = "fixed"
    on: Literal["error", "contract"] = "error"
    feedback: bool = False

    def next_wait(self, wait: float) -> float:
        """The sleep after one of `wait` seconds."""
        return min(wait * 2.0, max(wait, self.MAX_WAIT)) if self.backoff == "exponential" else wait


class BatchSpec(_Strict):
    """pflow's `batch` on a node: run it once per item."""

    items: Any  # a list, or a template that resolves to one
    as_: str = Field("item", alias="as", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    parallel: bool = False
    max_concurrent: int | None = Field(None, ge=1)
    error_handling: Literal["fail_fast", "continue"] = "fail_fast"
    max_retries: int = Field(1, ge=1, le=10)  # attempts per item
    retry_wait: float | None = Field(None, ge=0)


class LoopSpec(_Strict):
    """pflow's `loop` on a node: a do-while. The node runs, then `while` (keep going while the
    value is truthy) or `until` (stop once it is) is read from its latest output; `carry` feeds
    that output into its `inputs` for the next round; `max_iterations` caps the rounds."""

    while_: str | None = Field(None, alias="while")
    until: str | None = None
    carry: dict[str, Any] = Field(default_factory=dict)
    max_iterations: int | str | None = None  # an integer or a template resolving to one

    @property
    def condition(self) -> str:
        return self.while_ if self.while_ is not None else self.until or ""


class Node(_Strict):
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    type: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    purpose: str = ""
    retry: RetryPolicy | None = None
    # pflow fields flowtape reads but does not act on: caching changes neither the outputs nor the
    # trace's meaning. `batch` (BatchSpec) and `loop` (LoopSpec) run; validation checks them. A
    # node with `approval: required` runs only when approved (Runtime.approved, `--approve`).
    batch: dict[str, Any] | None = None
    loop: dict[str, Any] | None = None
    cache: bool | None = None
    prompt_cache: Any = None
    prewarm: Any = None
    approval: Literal["required"] | None = None


class Edge(_Strict):
    from_: str = Field(alias="from")
    to: str
    action: str = "default"


class Workflow(_Strict):
    ir_version: str = Field(default="0.1.0", pattern=r"^\d+\.\d+\.\d+$")
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    nodes: list[Node] = Field(min_length=1)
    edges: list[Edge] = Field(default_factory=list)
    start_node: str | None = None
    outputs: dict[str, OutputSpec] = Field(default_factory=dict)
    mappings: dict[str, Any] = Field(default_factory=dict)
    cache: Any = None
    enable_namespacing: bool = True
    template_resolution_mode: Literal["strict", "permissive"] = "strict"

    @field_validator("outputs", mode="before")
    @classmethod
    def _output_shorthand(cls, value: Any) -> Any:
        # pflow also accepts `"name": "${node.key}"` as shorthand for {"source": ...}.
        if isinstance(value, dict):
            return {k: ({"source": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    _by_id: dict[str, Node] | None = PrivateAttr(default=None)

    def node(self, node_id: str) -> Node:
        """The node with this id (the first, if validation let a duplicate through): a dict
        lookup, built on first use (a linear scan cost 0.36 s over a 2,000-node run)."""
        if self._by_id is None or len(self._by_id) > len(self.nodes):
            by_id: dict[str, Node] = {}
            for node in self.nodes:
                by_id.setdefault(node.id, node)
            self._by_id = by_id
        return self._by_id[node_id]

    @property
    def first_node(self) -> str:
        return self.start_node or self.nodes[0].id


def workflow_hash(document: dict[str, Any]) -> str:
    """A stable hash of a workflow document (sorted keys, compact), the trace's `workflow_hash`."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
