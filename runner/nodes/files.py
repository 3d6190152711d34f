"""pflow's file nodes: `read-file`, `write-file`, `copy-file`, `move-file`, `delete-file`. Paths
are relative to the workflow file. Each copies, moves or deletes one file, never a folder;
`delete-file` acts only when its `inputs` give `confirm_delete` the boolean true (as in pflow,
the flag cannot be a param, so a node's settings alone never delete anything)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from runner import templates
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec
from runner.trace import write_atomic


def _path(params: dict[str, Any], ctx: NodeContext, key: str = "file_path") -> Path:
    raw = params.get(key)
    if not isinstance(raw, str) or not raw:
        raise NodeFailure(f"'{key}' must be a non-empty string", retryable=False)
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


class _TransferNode(NodeType):
    """Copy or move one file; the destination's folders are created. An existing destination is
    replaced only with `overwrite: true`. The messages are pflow's."""

    kind = "file"
    verb, verbs, done = "", "", ""
    params = {
        "source_path": ParamSpec("string", True, "the file to take"),
        "dest_path": ParamSpec("string", True, "where it goes (its folders are created)"),
        "overwrite": ParamSpec("boolean", False, "replace a destination that exists (default false)"),
    }

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        source, dest = _path(params, ctx, "source_path"), _path(params, ctx, "dest_path")
        if not source.exists():
            raise NodeFailure(f"Error: Source file '{source}' does not exist. Please check the path.", retryable=False)
        if not source.is_file():
            raise NodeFailure(f"Error: Source path '{source}' is not a file. This node only {self.verbs} files, not directories.", retryable=False)
        if dest.exists() and not params.get("overwrite"):
            raise NodeFailure(f"Error: Destination file '{dest}' already exists. Set overwrite=True to replace it.", retryable=False)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.transfer(source, dest)
        except OSError as err:
            raise NodeFailure(f"Error: cannot {self.verb} '{source}' to '{dest}': {err.strerror or err}", retryable=False) from None
        return NodeResult({self.done: f"Successfully {self.done} '{source}' to '{dest}'"})

    def transfer(self, source: Path, dest: Path) -> None:
        raise NotImplementedError


class CopyFileNode(_TransferNode):
    name = "copy-file"
    verb, verbs, done = "copy", "copies", "copied"
    outputs = ("copied",)

    def transfer(self, source: Path, dest: Path) -> None:
        shutil.copy2(source, dest)


class MoveFileNode(_TransferNode):
    name = "move-file"
    verb, verbs, done = "move", "moves", "moved"
    outputs = ("moved",)

    def transfer(self, source: Path, dest: Path) -> None:
        shutil.move(source, dest)  # a rename on one filesystem, a copy and delete across two


class DeleteFileNode(NodeType):
    name = "delete-file"
    kind = "file"
    params = {"file_path": ParamSpec("string", True, "the file to delete (a file that is not there is already deleted)")}
    outputs = ("deleted",)

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        path = _path(params, ctx)
        given = params.get("inputs") if isinstance(params.get("inputs"), dict) else {}
        if "confirm_delete" not in given:
            raise NodeFailure("Missing 'confirm_delete': give it in the node's inputs (`inputs: {confirm_delete: ${confirm_delete}}`, "
                              "a boolean workflow input); it cannot be a param, so the node's settings alone never delete", retryable=False)
        confirm = given["confirm_delete"]
        if confirm is False:
            raise NodeFailure(f"Error: Deletion of '{path}' not confirmed: 'confirm_delete' is false. Pass confirm_delete=true to delete.", retryable=False)
        if confirm is not True:
            raise NodeFailure(f"Error: Deletion of '{path}' not confirmed: 'confirm_delete' must be the boolean true, got "
                              f"{type(confirm).__name__} {confirm!r}. Declare the confirm_delete workflow input with '- type: boolean'.", retryable=False)
        if path.is_dir():
            raise NodeFailure(f"Error: Path '{path}' is not a file. This node only deletes files, not directories.", retryable=False)
        try:
            path.unlink()
        except FileNotFoundError:
            return NodeResult({"deleted": f"Successfully deleted '{path}' (file did not exist)"})
        except OSError as err:
            raise NodeFailure(f"Error: cannot delete '{path}': {err.strerror or err}", retryable=False) from None
        return NodeResult({"deleted": f"Successfully deleted '{path}'"})
