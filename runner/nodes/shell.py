"""`shell`: run a command with `sh -c`; outputs stdout, stderr, exit_code.

Templated values never become shell syntax. Each `${...}` in `command` is quoted for the
quoting context it appears in (bare, inside "double" or inside 'single' quotes), so

    {"command": "grep -c ${pattern} notes.txt"}   with pattern = "x; rm -rf ~"

runs `grep -c 'x; rm -rf ~' notes.txt`. Large or structured data belongs in `stdin`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from runner import templates
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec

DEFAULT_TIMEOUT = 60.0


def quote_for_context(text: str, context: str) -> str:
    """Quote `text` so the shell reads it as data inside `context` ('', '"' or "'")."""
    if context == '"':
        return "".join("\\" + ch if ch in '"\\$`' else ch for ch in text)
    if context == "'":
        return text.replace("'", "'\\''")
    return shlex.quote(text)


def render_command(command: str, scope: dict[str, Any]) -> str:
    """Resolve the templates in `command`, quoting each value for where it stands."""
    template = templates.parse(command)
    out: list[str] = []
    context = ""
    for seg in template.segments:
        if isinstance(seg, str):
            out.append(seg)
            context = _scan_quotes(seg, context)
        else:
            value = templates.resolve_expr(seg, scope, command)
            out.append(quote_for_context(templates.to_text(value), context))
    return "".join(out)


def _scan_quotes(text: str, context: str) -> str:
    """The quoting context after reading `text` from `context` (POSIX sh rules)."""
    i = 0
    while i < len(text):
        ch = text[i]
        if context == "'":
            if ch == "'":
                context = ""
        elif ch == "\\":
            i += 1
        elif context == '"':
            if ch == '"':
                context = ""
        elif ch in "'\"":
            context = ch
        i += 1
    return context


class ShellNode(NodeType):
    name = "shell"
    kind = "shell"
    params = {
        "command": ParamSpec("string", True, "the command, run with sh -c"),
        "stdin": ParamSpec("any", False, "text (or JSON for structured values) fed to the command"),
        "cwd": ParamSpec("string", False, "working directory, relative to the workflow file"),
        "env": ParamSpec("object", False, "extra environment variables"),
        "timeout": ParamSpec("number", False, f"seconds before the command is killed (default {DEFAULT_TIMEOUT:g})"),
        "ignore_errors": ParamSpec("boolean", False, "a non-zero exit code does not fail the node"),
    }
    outputs = ("stdout", "stderr", "exit_code")

    def resolve(self, raw: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
        params = templates.resolve_value({k: v for k, v in raw.items() if k != "command"}, scope)
        command = raw.get("command")
        params["command"] = render_command(command, scope) if isinstance(command, str) else command
        return params

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        command = params["command"]
        if not isinstance(command, str):
            raise NodeFailure(f"'command' must be a string, got {type(command).__name__}", retryable=False)
        stdin = params.get("stdin")
        if stdin is not None and not isinstance(stdin, str):
            stdin = templates.to_text(stdin)
        cwd = Path(ctx.base_dir, params["cwd"]) if params.get("cwd") else ctx.base_dir
        env = {**os.environ, **{str(k): templates.to_text(v) for k, v in (params.get("env") or {}).items()}}
        timeout = float(params.get("timeout") or DEFAULT_TIMEOUT)
        try:
            proc = subprocess.run(
                ["/bin/sh", "-c", command],
                input=stdin if stdin is not None else "",
                capture_output=True,
                text=True,
                cwd=cwd,
                env=env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as err:
            output = {"stdout": _text(err.stdout), "stderr": _text(err.stderr), "exit_code": -1}
            raise NodeFailure(f"command timed out after {timeout:g}s", output) from None
        except OSError as err:
            raise NodeFailure(f"cannot run command in {cwd}: {err.strerror}", retryable=False) from None
        output = {"stdout": proc.stdout, "stderr": proc.stderr, "exit_code": proc.returncode}
        if proc.returncode != 0 and not params.get("ignore_errors"):
            tail = proc.stderr.strip().splitlines()[-1:] or [""]
            raise NodeFailure(f"command exited with {proc.returncode}: {tail[0][:200]}", output)
        return NodeResult(output)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
