"""Generate `flowtape_tools`: the MCP tools of a run as typed Python functions for a code baseline.

Code mode hands the agent real functions rather than JSON schemas. From each server's
`tools/list` (recorded in the cassette, so stubs are identical on replay) this writes:

    flowtape_tools/__init__.py   inputs, llm(), list_servers(), search_tools(), get_tool_schema(),
                                 call_tool(), ToolError, LLMError, and one module per server
    flowtape_tools/_rpc.py       the pipe client every call goes through (`_client.py`)
    flowtape_tools/<server>.py   one function per tool, e.g.

    def convert_time(source_timezone: str, time: str, target_timezone: str) -> _typing.Any:
        \"\"\"Convert time between timezones ... Args: ...\"\"\"

Names become identifiers (`get-env` -> `get_env`, `class` -> `class_`) but calls use the original
names. Required parameters come first; optional ones default to None and are left out of the
call when None, so the server applies its own default.
"""

from __future__ import annotations

import functools
import json
import keyword
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.clients import ToolInfo

__all__ = ["PACKAGE", "generate_stubs", "identifier", "python_type", "stub_files"]

PACKAGE = "flowtape_tools"
_CLIENT = Path(__file__).with_name("_client.py")
_TOP_LEVEL = {"inputs", "llm", "list_servers", "search_tools", "get_tool_schema", "call_tool",
              "ToolError", "LLMError", "SERVERS", "_rpc", "_json"}
_LOCALS = {"_ft", "_args", "_typing"}  # names a stub's body uses
_SIMPLE = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list",
           "object": "dict", "null": "None"}


def identifier(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """`name` as a Python identifier not in `taken`: `get-env` -> `get_env`, `3d` -> `_3d`."""
    ident = re.sub(r"\W", "_", name, flags=re.ASCII) or "_"
    if ident[0].isdigit():
        ident = "_" + ident
    if keyword.iskeyword(ident):
        ident += "_"
    while ident in taken:
        ident += "_"
    return ident


def python_type(schema: Any) -> str:
    """The annotation for a JSON schema: string -> str, array of strings -> list[str], a list of
    types -> a union; anything else -> _typing.Any."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        parts = [python_type({"type": k}) for k in kind]
        return "_typing.Any" if "_typing.Any" in parts else " | ".join(dict.fromkeys(parts))
    if kind == "array" and isinstance(schema.get("items"), dict) and schema["items"].get("type") in _SIMPLE:
        return f"list[{python_type(schema['items'])}]"
    return _SIMPLE.get(kind, "_typing.Any") if isinstance(kind, str) else "_typing.Any"


def generate_stubs(tools: Mapping[str, Sequence[ToolInfo]], dest: Path, *, inputs: Mapping[str, Any] | None = None) -> Path:
    """Write the `flowtape_tools` package into `dest` (an existing folder); return its path."""
    package = Path(dest) / PACKAGE
    package.mkdir()
    for name, text in stub_files(tools, inputs=inputs).items():
        (Path(dest) / name).write_text(text, encoding="utf-8")
    return package


def stub_files(tools: Mapping[str, Sequence[ToolInfo]], *, inputs: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The `flowtape_tools` package as {path relative to the stubs folder: text}."""
    files = {f"{PACKAGE}/_rpc.py": _client_text()}
    modules: dict[str, str] = {}
    for server, infos in tools.items():
        modules[server] = identifier(server, _TOP_LEVEL | set(modules.values()))
        key = (server, json.dumps([[i.name, i.description, i.input_schema] for i in infos], sort_keys=True, default=str))
        if key not in _modules:  # the same listing for every case of a task: made once
            if len(_modules) >= 64:
                _modules.pop(next(iter(_modules)))
            _modules[key] = _server_module(server, infos)
        files[f"{PACKAGE}/{modules[server]}.py"] = _modules[key]
    files[f"{PACKAGE}/__init__.py"] = _init_module(modules, dict(inputs or {}))
    return files


@functools.cache
def _client_text() -> str:
    return _CLIENT.read_text(encoding="utf-8")


_modules: dict[tuple[str, str], str] = {}  # (server, its tool listing as JSON) -> the module's text


def _init_module(modules: dict[str, str], inputs: dict[str, Any]) -> str:
    listing = "\n".join(f"    {mod}  (MCP server {server!r})" for server, mod in modules.items()) or "    (no MCP servers)"
    names = sorted(_TOP_LEVEL - {"_rpc", "_json"} | set(modules.values()))
    return "\n".join([
        _docstring(f"The tools of this run, as Python functions. Modules:\n\n{listing}\n\n"
                   "`inputs` holds the case's inputs. Every call goes through the harness; a failing tool "
                   "raises ToolError, a failing model call LLMError.", indent=""),
        "",
        "import json as _json",
        "",
        "from flowtape_tools._rpc import LLMError, ToolError, call_tool, get_tool_schema, list_servers, llm, search_tools",
        *(f"from flowtape_tools import {mod}" for mod in modules.values()),
        "",
        f"inputs = _json.loads({json.dumps(inputs, ensure_ascii=False, default=str)!r})",  # dates as in the trace's JSON
        "SERVERS = {" + ", ".join(f"{server!r}: {mod}" for server, mod in modules.items()) + "}",
        f"__all__ = {names!r}",
        "",
    ])


def _server_module(server: str, infos: Sequence[ToolInfo]) -> str:
    functions: dict[str, ToolInfo] = {}
    for info in infos:
        functions[identifier(info.name, _LOCALS | {"SERVER", "TOOLS"} | set(functions))] = info
    lines = [
        _docstring(f"Tools of MCP server {server!r}. Each call runs in the harness; a tool error raises "
                   "flowtape_tools.ToolError.", indent=""),
        "",
        "from __future__ import annotations",
        "",
        "import typing as _typing",
        "",
        "from flowtape_tools import _rpc as _ft",
        "",
        f"SERVER = {server!r}",
        f"__all__ = {sorted(functions)!r}",
    ]
    for name, info in functions.items():
        lines += ["", "", *_function(server, name, info)]
    lines += ["", "", "TOOLS = {" + ", ".join(f"{info.name!r}: {name}" for name, info in functions.items()) + "}", ""]
    return "\n".join(lines)


def _function(server: str, name: str, info: ToolInfo) -> list[str]:
    schema = info.input_schema if isinstance(info.input_schema, dict) else {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = [p for p in schema.get("required", []) if isinstance(p, str)]
    ordered = required + [p for p in props if p not in required]
    params: dict[str, str] = {}  # original name -> identifier
    for prop in ordered:
        params[prop] = identifier(prop, _LOCALS | set(params.values()))
    signature = [f"{params[p]}: {python_type(props.get(p))}" for p in required]
    signature += [f"{params[p]}: {python_type(props.get(p))} | None = None" for p in ordered if p not in required]
    body = ["    _args: dict[str, _typing.Any] = {" + ", ".join(f"{p!r}: {params[p]}" for p in required) + "}"]
    for prop in ordered[len(required):]:
        body += [f"    if {params[prop]} is not None:", f"        _args[{prop!r}] = {params[prop]}"]
    body.append(f"    return _ft.call_tool({server!r}, {info.name!r}, _args)")
    return [f"def {name}({', '.join(signature)}) -> _typing.Any:", _docstring(_describe(name, info, props, params, required), "    "), *body]


def _describe(name: str, info: ToolInfo, props: dict[str, Any], params: dict[str, str], required: list[str]) -> str:
    text = (info.description or f"MCP tool {info.name!r}.").strip()
    if name != info.name:
        text += f"\n\nMCP name: {info.name!r}."
    if params:
        text += "\n\nArgs:"
    for prop, ident in params.items():
        spec = props.get(prop) if isinstance(props.get(prop), dict) else {}
        notes = [" ".join(str(spec.get("description", "")).split())]
        if "enum" in spec:
            notes.append("One of: " + ", ".join(json.dumps(v) for v in spec["enum"]) + ".")
        if "default" in spec:
            notes.append(f"Server default: {json.dumps(spec['default'])}.")
        if prop not in required:
            notes.append("Optional.")
        if ident != prop:
            notes.append(f"MCP name: {prop!r}.")
        text += f"\n    {ident} ({python_type(spec).replace('_typing.', '')}): " + " ".join(n for n in notes if n)
    return text


def _docstring(text: str, indent: str) -> str:
    """`text` as a triple-quoted docstring that no content can break out of."""
    safe = text.replace("\\", "\\\\").replace('"', '\\"')
    body = "\n".join((indent + line) if line else "" for line in safe.splitlines())
    return f'{indent}"""{body.lstrip()}\n{indent}"""'
