"""`read-file` and `write-file`: text files, paths relative to the workflow file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner import templates
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec
from runner.trace import write_atomic


def _path(params: dict[str, Any], ctx: NodeContext) -> Path:
    raw = params.get("file_path")
    if not isinstance(raw, str) or not raw:
        raise NodeFailure("'file_path' must be a non-empty string", retryable=False)
    return Path(ctx.base_dir, Path(raw).expanduser()).resolve()


class ReadFileNode(NodeType):
    name = "read-file"
    kind = "file"
    params = {
        "file_path": ParamSpec("string", True, "file to read"),
        "encoding": ParamSpec("string", False, "text encoding (default utf-8)"),
    }
    outputs = ("content", "content_is_binary", "file_path")

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        path = _path(params, ctx)
        try:
            content = path.read_text(encoding=params.get("encoding") or "utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise NodeFailure(f"cannot read {path}: {getattr(err, 'strerror', None) or err}", retryable=False) from None
        return NodeResult({"content": content, "content_is_binary": False, "file_path": str(path)})


class WriteFileNode(NodeType):
    name = "write-file"
    kind = "file"
    params = {
        "file_path": ParamSpec("string", True, "file to write (parent folders are created)"),
        "content": ParamSpec("any", True, "text to write; structured values are written as JSON"),
        "encoding": ParamSpec("string", False, "text encoding (default utf-8)"),
        "append": ParamSpec("boolean", False, "append instead of replacing"),
    }
    outputs = ("written", "file_path", "bytes_written")

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        path = _path(params, ctx)
        content = params.get("content")
        # pflow writes structured content as JSON with ASCII escapes (its param is typed str).
        content = json.dumps(content) if isinstance(content, (dict, list)) else templates.to_text(content)
        encoding = params.get("encoding") or "utf-8"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if params.get("append"):
                with path.open("a", encoding=encoding) as handle:
                    handle.write(content)
            else:
                write_atomic(path, content) if encoding == "utf-8" else path.write_text(content, encoding=encoding)
        except OSError as err:
            raise NodeFailure(f"cannot write {path}: {err.strerror or err}", retryable=False) from None
        verb = "appended to" if params.get("append") else "wrote to"
        return NodeResult({"written": f"Successfully {verb} '{path}'", "file_path": str(path), "bytes_written": len(content.encode(encoding))})
