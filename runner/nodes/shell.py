"""`shell`: run a command with `sh -c`; outputs stdout, stderr, exit_code.

Templated values never become shell syntax: each `${...}` in `command` is passed to the shell in
an environment variable and the command refers to it (see `_shellquote`), so

    {"command": "grep -c ${pattern} notes.txt"}   with pattern = "x; rm -rf ~"

runs `grep -c "${__ft_0}" notes.txt` with `__ft_0='x; rm -rf ~'` in its environment. The step's
`command` (params and output) is the text as run; `command_values` holds the values it names.
Large or structured data belongs in `stdin`.
"""

from __future__ import annotations

import errno
import heapq
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from runner import templates
from runner.nodes import _shellquote
from runner.nodes._base import NodeContext, NodeFailure, NodeResult, NodeType, ParamSpec

DEFAULT_TIMEOUT = 30.0
# Commands whose exit code 1 with nothing on stderr means "no match", not failure (as pflow).
_NO_MATCH_OK = ("grep", "egrep", "fgrep", "rg", "which")


def render_command(command: str, scope: dict[str, Any]) -> _shellquote.Rendered:
    """Resolve the templates in `command`: the text as run, referring to each value by the name
    of the environment variable that carries it."""
    template = templates.parse(command)
    try:
        return _shellquote.render(template.segments, lambda expr: templates.to_text(templates.resolve_expr(expr, scope, command)))
    except _shellquote.QuoteError as err:
        raise templates.TemplateError(str(err), command) from None


def command_problem(command: str) -> str | None:
    """Why `command`'s templates cannot run whatever their values (a template inside `eval` or
    `sh -c`, a here-document delimiter that cannot carry one), or None. For validation."""
    try:
        _shellquote.render(templates.parse(command).segments, lambda expr: "0")
    except templates.TemplateSyntaxError:
        return None  # reported as a template error by validation
    except _shellquote.QuoteError as err:
        return str(err)
    return None


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
        "strip_newline": ParamSpec("boolean", False, "remove trailing newlines from stdout (default true)"),
    }
    outputs = ("stdout", "stderr", "exit_code", "stdout_is_binary", "stderr_is_binary")

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        command = params.get("command")
        problem = command_problem(command) if isinstance(command, str) and "${" in command else None
        return [("command", problem)] if problem else []

    def resolve(self, raw: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
        params = templates.resolve_value({k: v for k, v in raw.items() if k != "command"}, scope)
        command = raw.get("command")
        params["command"] = command
        if isinstance(command, str):
            rendered = render_command(command, scope)
            params["command"] = rendered.command
            if rendered.values:
                params["command_values"] = rendered.values
        return params

    def run(self, params: dict[str, Any], ctx: NodeContext) -> NodeResult:
        command = params["command"]
        if not isinstance(command, str):
            raise NodeFailure(f"'command' must be a string, got {type(command).__name__}", retryable=False)
        stdin = _stdin_text(params.get("stdin"))
        cwd = Path(ctx.base_dir, params["cwd"]) if params.get("cwd") else ctx.base_dir
        values = params.get("command_values") or {}
        env = {**os.environ, **{str(k): templates.to_text(v) for k, v in (params.get("env") or {}).items()}, **values}
        timeout = float(params.get("timeout") or DEFAULT_TIMEOUT)
        try:
            proc, timed_out = _run(command, stdin, cwd, env, timeout)
        except OSError as err:
            if err.errno == errno.E2BIG:
                raise NodeFailure("the command and its templated values are too large to pass to a process; pass large data on stdin", retryable=False) from None
            raise NodeFailure(f"cannot run command in {cwd}: {err.strerror}", retryable=False) from None
        if timed_out:
            output = {"stdout": proc.stdout, "stderr": proc.stderr, "exit_code": -1}
            raise NodeFailure(f"Command timed out after {timeout:g} seconds", output)
        stdout = proc.stdout if params.get("strip_newline") is False else proc.stdout.rstrip("\n")
        output = {"stdout": stdout, "stderr": proc.stderr, "exit_code": proc.returncode, "stdout_is_binary": False, "stderr_is_binary": False, "command": command}
        if values:
            output["command_values"] = dict(values)
        if proc.returncode != 0 and not params.get("ignore_errors") and not _no_match(command, proc.returncode, proc.stderr):
            tail = _tail(proc.stderr)  # as pflow says it: the stderr after a colon, nothing when there is none
            # Not retried (as in pflow): the command ran and said no, and running it again would
            # repeat whatever it did first. A timeout is retried.
            raise NodeFailure(f"Command failed with exit code {proc.returncode}" + (f": {tail}" if tail else ""), output, retryable=False)
        return NodeResult(output)


class _Watchdog:
    """One thread that runs each armed callback at its deadline unless disarmed first: a
    `threading.Timer` per command started a thread per shell node (13% of a 200-node run)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Any]] = []
        self._live: set[int] = set()
        self._seq = 0
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, callback: Any) -> int:
        with self._cond:
            while self._heap and self._heap[0][1] not in self._live:
                heapq.heappop(self._heap)  # disarmed
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + seconds, self._seq, callback))
            self._live.add(self._seq)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="flowtape-shell-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0][1] == self._seq:
                # The thread sleeps until the earliest deadline; it is woken only when this one
                # comes first (waking it for every command cost a thread switch per node).
                self._cond.notify()
            return self._seq

    def disarm(self, token: int) -> None:
        with self._cond:
            self._live.discard(token)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)  # disarmed
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                _, token, callback = heapq.heappop(self._heap)
                self._live.discard(token)
            callback()


_WATCHDOG = _Watchdog()


def _run(command: str, stdin: str | None, cwd: Path, env: dict[str, str], timeout: float) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run `sh -c command` in its own process group; on timeout kill the whole group.

    The watchdog does the killing, so `communicate` blocks instead of polling (subprocess's own
    timeout polls with sleeps, which costs milliseconds per command)."""
    proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd, env=env, start_new_session=True)
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    token = _WATCHDOG.arm(timeout, kill)
    try:
        stdout, stderr = proc.communicate(stdin if stdin is not None else "")
    finally:
        _WATCHDOG.disarm(token)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), fired.is_set()


def _tail(stderr: str, limit: int = 500) -> str:
    """The end of stderr, where the error is (a traceback's last line names the exception)."""
    text = stderr.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def _stdin_text(value: Any) -> str | None:
    """stdin as pflow feeds it: text as is, booleans as JSON, structures as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _no_match(command: str, code: int, stderr: str) -> bool:
    """True for `grep`-like commands (last in a pipeline) that exit 1 quietly: no match found."""
    if code != 1 or stderr.strip():
        return False
    last = command.rsplit("|", 1)[-1].split()
    return bool(last) and last[0] in _NO_MATCH_OK


