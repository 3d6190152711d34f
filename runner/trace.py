"""The one data model every part of flowtape shares: a `Trace` of `StepRecord`s.

The runner writes traces; evaluators, the ledger, the gate and reports only read them. A trace
is a versioned JSON document, so a stored run can be re-evaluated without running anything:

    trace = Trace.model_validate_json(path.read_text())
    [s.step_id for s in trace.steps if s.error]
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TRACE_VERSION = 1
# Values nested deeper than this (a tool's or a command's output can be anything) are stored cut
# off at this depth, a marker string in place of the rest, so writing a trace never fails
# (pydantic's serializer gives up at about 255 levels; a trace adds a few of its own).
MAX_VALUE_DEPTH = 100


class RunStatus(str, Enum):
    """Outcome of one run: `passed` (every step succeeded or was routed around), `failed` (a
    node failed with no error edge), `error` (the run could not start or the runner broke)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


StepKind = Literal["shell", "llm", "mcp", "http", "file", "workflow", "code", "batch", "loop", "agent", "route", "review"]  # batch, loop, agent: the node's collected result


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMUsage(_Strict):
    """What one model call cost. `usage_source` says where the token counts come from:
    `provider` (the response's usage block) or `tokenizer` (counted locally)."""

    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None
    usage_source: Literal["provider", "tokenizer"] = "provider"


class ToolUsage(_Strict):
    """What one MCP tool call moved. Bytes are of the JSON-RPC `params` sent and `result`
    received; `result_tokens` is filled by accounting, with the tokenizer it used named."""

    server: str
    tool: str
    request_bytes: int = 0
    result_bytes: int = 0
    result_tokens: int | None = None
    tokenizer: str | None = None
    is_error: bool = False


class ModelCall(_Strict):
    """One model call an llm step made, when its policy made it call again: which `model`, which
    `attempt` at that model (from 1), why the call was made (`reason`: `primary`, a contract
    retry, a fallback after a provider error or a broken contract), how it came out
    (`answered`, `contract_failed`, `provider_error`), the `error`, the rejected `reply`, and the
    call's own usage."""

    model: str
    attempt: int = 1
    reason: str = "primary"
    outcome: Literal["answered", "contract_failed", "provider_error"]
    error: str | None = None
    reply: str | None = None
    llm: LLMUsage | None = None


class Review(_Strict):
    """A human's decision at a review checkpoint (a `review` node or an `approval: required`
    gate): who decided what, when, with an optional note."""

    decision: str
    reviewer: str
    decided_at: str
    note: str = ""


class StepRecord(_Strict):
    """One executed step. `step_id` is the IR node id (for a code baseline
    `call-<n>:<server>.<tool>`); `params` are the values after template resolution."""

    step_id: str
    kind: StepKind
    node_type: str
    params: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] | None = None
    action: str | None = None
    error: str | None = None
    attempts: int = 1
    started_at: datetime | None = None
    duration_ms: float = 0.0
    llm: LLMUsage | None = None
    tool: ToolUsage | None = None
    calls: list[ModelCall] = Field(default_factory=list)  # an llm step that retried a contract or fell back: every call
    review: Review | None = None  # a review checkpoint's decision


class Trace(_Strict):
    """One execution of one case under one approach."""

    version: Literal[1] = TRACE_VERSION
    run_id: str
    task: str | None = None
    case: str | None = None
    approach: str = "ir"
    model: str | None = None  # the model the run used where a step names none (llm nodes, llm(), direct's orchestrator)
    workflow: str | None = None
    workflow_hash: str
    status: RunStatus
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    started_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    duration_ms: float = 0.0
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepRecord] = Field(default_factory=list)

    def step(self, step_id: str) -> StepRecord:
        """The last record of `step_id` (a node inside a loop back-edge may run twice)."""
        for record in reversed(self.steps):
            if record.step_id == step_id:
                return record
        raise KeyError(step_id)

    def write(self, directory: Path) -> Path:
        """Write the trace as `<directory>/<run_id>.json`, atomically, and return the path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.run_id}.json"
        write_atomic(path, self.clipped().model_dump_json(indent=2))
        return path

    def clipped(self) -> Trace:
        """A copy whose free-form values (inputs, outputs, each step's params and output) are
        cut off at `MAX_VALUE_DEPTH`; the trace itself is left as it is."""
        steps = [s.model_copy(update={"params": clip(s.params), "output": clip(s.output)}) for s in self.steps]
        return self.model_copy(update={"inputs": clip(self.inputs), "outputs": clip(self.outputs), "steps": steps})


def clip(value: Any, limit: int = MAX_VALUE_DEPTH) -> Any:
    """`value` with every array or object deeper than `limit` replaced by a marker string.

    Iterative, so a value of any depth is safe to pass:

        >>> clip([[["x"]]], limit=2)
        [['<truncated: nested deeper than 2 levels>']]
    """
    if not isinstance(value, (dict, list)):
        return value
    marker = f"<truncated: nested deeper than {limit} levels>"
    root: list[Any] = [None]
    stack: list[tuple[Any, list[Any] | dict[Any, Any], Any, int]] = [(value, root, 0, 1)]
    while stack:
        item, parent, key, depth = stack.pop()
        if not isinstance(item, (dict, list)):
            parent[key] = item
        elif depth > limit:
            parent[key] = marker
        elif isinstance(item, dict):
            copy: dict[Any, Any] = dict.fromkeys(item)
            parent[key] = copy
            stack.extend((v, copy, k, depth + 1) for k, v in item.items())
        else:
            items: list[Any] = [None] * len(item)
            parent[key] = items
            stack.extend((v, items, i, depth + 1) for i, v in enumerate(item))
    return root[0]


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so a reader never sees half a file (temp file + rename).

    The temp file beside the target, `.<name>.flowtape-<pid>.<random>.tmp`, names the process
    writing it. A process killed mid-save leaves it behind; the first save of a later process
    into the same folder removes every such file whose process is gone
    (`remove_stale_temp_files`), so leftovers cannot pile up."""
    folder = path.parent
    if (os.getpid(), folder) not in _SWEPT:
        remove_stale_temp_files(folder)
        _SWEPT.add((os.getpid(), folder))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.flowtape-{os.getpid()}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600; the result gets the mode a plain open() would give it (the
        # user's umask), or keeps the mode of the file it replaces.
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_UMASK
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_UMASK = os.umask(0o022)  # read once, at import (os.umask can only be read by setting it)
os.umask(_UMASK)
_SWEPT: set[tuple[int, Path]] = set()  # (pid, folder): folders this process has swept once
_TEMP_NAME = re.compile(r"\..+\.flowtape-(\d+)\.[a-z0-9_]{8}\.tmp")  # mkstemp adds 8 of [a-z0-9_]


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Remove the temp files `write_atomic` left in `folder` when its process was killed (their
    process is gone); files of live processes stay. Returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        found = _TEMP_NAME.fullmatch(entry.name)
        if found and not _alive(int(found.group(1))):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True  # another user's process, or no pid we can ask about: keep its file
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether `pid` has exited and waits to be reaped (a killed worker whose parent died too
    stays one until init reaps it, which can take a second): it writes nothing more."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return False
