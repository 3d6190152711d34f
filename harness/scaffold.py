"""`flowtape init`: a new task folder that loads, records and replays as it stands, so a team's
first task starts from something that runs rather than from the file formats.

Given an MCP server (and optionally one of its tools), the task calls that tool: the workflow
has one `mcp-<server>-<tool>` node whose params are the tool's required arguments, taken from
workflow inputs; the baseline script makes the same call through the typed stubs; the one case
fills the inputs with placeholders from the tool's schema (its defaults, examples or enum values
where it has them) for you to replace. Without a server the task is a single shell step.

    files = scaffold(Path("goldens"), "clock", ServerSpec.parse("time=${BIN}/mcp-server-time"), tool)

Every file is written atomically; nothing is overwritten unless `force` is given.
"""

from __future__ import annotations

import json
import keyword
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runner.clients import ToolInfo
from runner.trace import write_atomic

__all__ = ["ScaffoldError", "ServerSpec", "scaffold", "starter_policy"]

STARTER_POLICY = """\
# This folder is a flowtape project: `flowtape` finds it from any folder below. Paths are
# relative to this folder (README: "Project settings"); uncomment to change a default.
# suite = "goldens"
# cassettes = "cassettes"
# ledger = "reports/ledger.duckdb"
# reports = "reports"
# traces = "reports/traces"
# workers = 1

# [places]          # your own ${NAME} places for task.yaml and cases; ${ROOT} is this folder
# DATA = "data"

# The release gate `flowtape gate` applies (README: "The release gate"): thresholds on pass rate,
# tokens, cost and regressions against a baseline. Written by `flowtape init`; tighten it.
[gate]
min_pass_rate = {ir = 1.0, code = 1.0}
"""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TASK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "object": "object", "array": "array"}
_PLACEHOLDERS: dict[str, Any] = {"string": "TODO", "integer": 0, "number": 0, "boolean": False, "object": {}, "array": []}


class ScaffoldError(ValueError):
    """The task cannot be scaffolded as asked (bad name, folder exists, unknown tool)."""


@dataclass(frozen=True)
class ServerSpec:
    """`NAME=COMMAND ARGS...` as given on the command line (places such as `${BIN}` kept)."""

    name: str
    command: str
    args: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ServerSpec:
        name, sep, command = text.partition("=")
        if not sep or not command.strip():
            raise ScaffoldError(f"--server {text!r}: expected NAME=COMMAND [ARGS...], e.g. time='${{BIN}}/mcp-server-time --local-timezone UTC'")
        if not _NAME.match(name) or keyword.iskeyword(name):
            raise ScaffoldError(f"--server {text!r}: the name {name!r} must be lower-case letters, digits and _ (it names nodes mcp-{name}-<tool> and the stub module tools.{name})")
        try:
            words = shlex.split(command)
        except ValueError as err:
            raise ScaffoldError(f"--server {text!r}: {err}") from None
        return cls(name, words[0], tuple(words[1:]))


def scaffold(suite: Path, task: str, server: ServerSpec | None = None, tool: ToolInfo | None = None, *, force: bool = False) -> list[Path]:
    """Write `<suite>/<task>/` (task.yaml, workflow.json, baseline.py, cases/example.yaml) and the
    editor schemas under `<suite>/.schema/`. Returns the task's files, in the order written.

    Raises:
        ScaffoldError: a bad task name, or the folder exists and `force` is not given.
    """
    if not _TASK.match(task):
        raise ScaffoldError(f"task name {task!r}: use letters, digits, '-', '_' and '.' (it names the folder and the cassettes)")
    folder = suite / task
    if folder.exists() and not force:
        raise ScaffoldError(f"{folder}: already exists (pick another name, or --force to overwrite its scaffold files)")
    inputs = _inputs(tool)
    files = {
        folder / "task.yaml": _task_yaml(task, server, tool),
        folder / "workflow.json": json.dumps(_workflow(server, tool, inputs), indent=2) + "\n",
        folder / "baseline.py": _baseline(task, server, tool, inputs),
        folder / "cases" / "example.yaml": _case_yaml(server, tool, inputs),
    }
    _write_schemas(suite / ".schema")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    return list(files)


def _inputs(tool: ToolInfo | None) -> dict[str, dict[str, Any]]:
    """The tool's required arguments as workflow inputs (all of them when it marks none)."""
    if tool is None:
        return {"message": {"type": "string", "description": "what the shell step prints"}}
    schema = tool.input_schema or {}
    props = schema.get("properties") or {}
    names = schema.get("required") or list(props)
    inputs = {}
    for name in names:
        prop = props.get(name) or {}
        spec: dict[str, Any] = {"type": _JSON_TYPES.get(prop.get("type"), "string") if isinstance(prop.get("type"), str) else "string"}
        if prop.get("description"):
            spec["description"] = str(prop["description"]).strip()
        inputs[name] = spec
    return inputs


def _placeholder(tool: ToolInfo | None, name: str, spec: dict[str, Any]) -> Any:
    prop = ((tool.input_schema or {}).get("properties") or {}).get(name) or {} if tool else {}
    for key in ("default", "examples", "enum"):
        if key in prop:
            value = prop[key]
            return value[0] if key != "default" and isinstance(value, list) and value else value
    return "hello from flowtape" if tool is None else _PLACEHOLDERS[spec["type"]]


def _workflow(server: ServerSpec | None, tool: ToolInfo | None, inputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if server is None or tool is None:
        node = {"id": "call", "type": "shell", "params": {"command": "printf '%s' ${message}"}}
        source = "${call.stdout}"
    else:
        node = {"id": "call", "type": f"mcp-{server.name}-{tool.name}", "params": {name: f"${{{name}}}" for name in inputs}}
        source = "${call.result}"
    return {"ir_version": "0.1.0", "inputs": inputs, "nodes": [node], "edges": [],
            "outputs": {"result": {"source": source, "description": "what the call returned"}}}


def _task_yaml(task: str, server: ServerSpec | None, tool: ToolInfo | None) -> str:
    what = f"calls {server.name}.{tool.name}" if server and tool else "runs one shell step"
    doc: dict[str, Any] = {"version": 1, "description": f"{task}: {what}. Say here what the task is for and what its cases check."}
    if server is not None:
        doc["servers"] = {server.name: {"command": server.command, **({"args": list(server.args)} if server.args else {})}}
    # direct (a model calling the tools itself) needs a request only a person can write: it is
    # left out, and the header says how to add it.
    doc["approaches"] = ["ir", "code"] if server else ["ir"]
    header = ("# yaml-language-server: $schema=../.schema/task.json\n"
              "# Places: ${ROOT} (the project folder), your own from [places] in flowtape.toml, ${BIN} (this\n"
              "# Python's console scripts), ${TOOLS} (the npm servers), ${FIXTURES}, ${WORKDIR} (a fresh folder\n"
              "# per run). Timestamps that change every run: add `normalize: {timestamps: true}`.\n"
              + ("# Direct tool calling (a model calling the tools itself): add `direct` to approaches and\n"
                 "# `direct: {prompt: \"... ${<input>} ...\"}`, the request over the case inputs.\n" if server else ""))
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None)


def _case_yaml(server: ServerSpec | None, tool: ToolInfo | None, inputs: dict[str, dict[str, Any]]) -> str:
    values = {name: _placeholder(tool, name, spec) for name, spec in inputs.items()}
    checks = {"steps": {"call": ["StepRan"]},
              "outputs": {"result": [{"JsonSchema": {"type": "object"}} if server else {"Equals": values.get("message")}]}}
    header = ("# yaml-language-server: $schema=../../.schema/golden.json\n"
              "# Replace the placeholder inputs, then say what each step and output must be: Equals, DeepEquals,\n"
              "# Contains, Regex, JsonSchema, NumberRange, MaxResultTokens, MaxDuration, LLMJudge, ...\n"
              "# (README: \"Golden cases and `flowtape test`\"; `flowtape schema golden` lists them all).\n")
    body = yaml.safe_dump({"version": 1, "inputs": values}, sort_keys=False, allow_unicode=True, width=100)  # block style: one input a line
    rest = yaml.safe_dump(checks, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None)
    return header + body + rest


def _baseline(task: str, server: ServerSpec | None, tool: ToolInfo | None, inputs: dict[str, dict[str, Any]]) -> str:
    if server is None or tool is None:
        return (f'"""Code mode for {task}: the script an agent would write. (This task lists only the ir\n'
                'approach; add `code` to its approaches once it calls a server.)"""\n\n'
                "import json\n\nimport flowtape_tools as tools\n\n"
                'print(json.dumps({"result": tools.inputs["message"]}))\n')
    call = _stub_call(server.name, tool, list(inputs))
    return (f'"""Code mode for {task}: the script an agent would write. It calls the tools through typed\n'
            "stubs (`flowtape_tools`), and prints the task's outputs as one JSON object.\"\"\"\n\n"
            "import json\n\nimport flowtape_tools as tools\n\n"
            f"result = {call}\n"
            'print(json.dumps({"result": result}))\n')


def _stub_call(server: str, tool: ToolInfo, names: list[str]) -> str:
    """The stub call for `tool` with each argument from `tools.inputs`: required arguments go by
    position (their order in the stub's signature), others by their stub identifier."""
    from harness.codeexec._stubs import identifier

    required = [p for p in (tool.input_schema or {}).get("required", []) if isinstance(p, str)]
    args = [f"tools.inputs[{n!r}]" for n in required if n in names]
    args += [f"{identifier(n)}=tools.inputs[{n!r}]" for n in names if n not in required]
    fn = f"{tool.name}" if identifier(tool.name) == tool.name else f"TOOLS[{tool.name!r}]"
    return f"tools.{server}.{fn}({', '.join(args)})"


def _write_schemas(folder: Path) -> None:
    from harness.goldens import golden_schema, task_schema

    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "golden.json", json.dumps(golden_schema(), indent=2) + "\n")
    write_atomic(folder / "task.json", json.dumps(task_schema(), indent=2) + "\n")


def starter_policy(folder: Path) -> Path | None:
    """Write `folder/flowtape.toml` (commented settings and a starter gate policy) when `folder`
    belongs to no project yet (no flowtape.toml, or pyproject.toml with [tool.flowtape], there
    or above: harness.settings.find_root); returns the file written."""
    from harness.settings import find_root

    if find_root(folder) is not None:
        return None
    path = folder / "flowtape.toml"
    write_atomic(path, STARTER_POLICY)
    return path
