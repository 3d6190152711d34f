"""The generated `flowtape_tools` package: typed functions from tool schemas whose calls arrive at
the harness with the tools' original names, optional arguments left out, and errors raised back."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import textwrap
from pathlib import Path

import pytest

from harness.codeexec import generate_stubs, run_script
from harness.codeexec._stubs import identifier, python_type
from runner.clients import ToolInfo

SCHEMA = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "description": "How many.", "default": 10},
        "name": {"type": "string", "description": "Which variable."},
        "ratio": {"type": "number"},
        "verbose": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "filter": {"type": "object"},
        "from": {"type": ["string", "null"], "description": "A keyword as a name."},
        "dry-run": {"type": "boolean", "enum": [True, False]},
        "anything": {},
    },
    "required": ["name", "limit"],
}
TOOLS = {
    "env-server": [
        ToolInfo("get-env", 'Read one variable.\n\nSays """hi""" and C:\\path\\ too.', SCHEMA),
        ToolInfo("class", "", {"type": "object", "properties": {}}),
        ToolInfo("fail", "Always fails.", {"type": "object", "properties": {}}),
    ],
    "llm": [ToolInfo("ping", "A server whose name is taken by flowtape_tools.llm.", {})],
}


@pytest.fixture
def package(tmp_path):
    """The generated package, imported in this process (no call is made by importing it)."""
    generate_stubs(TOOLS, tmp_path, inputs={"who": "Ada", "n": 3})
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("flowtape_tools")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "flowtape_tools" or m.startswith("flowtape_tools.")]:
            del sys.modules[name]


def test_names_become_identifiers_and_keep_their_mcp_name(package):
    env = package.SERVERS["env-server"]
    assert env.__name__ == "flowtape_tools.env_server" and env.SERVER == "env-server"
    assert env.TOOLS == {"get-env": env.get_env, "class": env.class_, "fail": env.fail}
    assert package.SERVERS["llm"].__name__ == "flowtape_tools.llm_"  # `llm` stays the model call
    assert callable(package.llm) and package.inputs == {"who": "Ada", "n": 3}


def test_signatures_are_typed_from_the_schema_required_first(package):
    sig = inspect.signature(package.env_server.get_env)
    assert list(sig.parameters) == ["name", "limit", "ratio", "verbose", "tags", "filter", "from_", "dry_run", "anything"]
    assert {n: p.annotation for n, p in sig.parameters.items()} == {
        "name": "str", "limit": "int", "ratio": "float | None", "verbose": "bool | None", "tags": "list[str] | None",
        "filter": "dict | None", "from_": "str | None | None", "dry_run": "bool | None", "anything": "_typing.Any | None"}
    assert [p.default for p in sig.parameters.values()][:3] == [inspect.Parameter.empty, inspect.Parameter.empty, None]


def test_the_docstring_is_the_description_with_parameters_and_cannot_break_out(package):
    doc = inspect.getdoc(package.env_server.get_env)
    assert doc.startswith('Read one variable.\n\nSays """hi""" and C:\\path\\ too.')
    assert "MCP name: 'get-env'." in doc
    assert "limit (int): How many. Server default: 10." in doc
    assert "dry_run (bool): One of: true, false. Optional. MCP name: 'dry-run'." in doc


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "string"}, "str"), ({"type": "integer"}, "int"), ({"type": "number"}, "float"),
    ({"type": "boolean"}, "bool"), ({"type": "array"}, "list"), ({"type": "object"}, "dict"),
    ({"type": "array", "items": {"type": "integer"}}, "list[int]"), ({"type": ["integer", "string"]}, "int | str"),
    ({"anyOf": [{"type": "string"}]}, "_typing.Any"), (None, "_typing.Any"),
])
def test_json_schema_types_map_to_python(schema, expected):
    assert python_type(schema) == expected


@pytest.mark.parametrize(("name", "expected"), [("get-env", "get_env"), ("class", "class_"), ("3d.view", "_3d_view"), ("é", "_")])
def test_identifiers(name, expected):
    assert identifier(name) == expected


def run_with(tmp_path: Path, body: str, answer) -> tuple[object, list[dict]]:
    """Run `body` sandboxed against the generated stubs; `answer(request)` plays the harness."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    generate_stubs(TOOLS, stubs, inputs={"who": "Ada"})
    (tmp_path / "main.py").write_text(textwrap.dedent(body))
    seen: list[dict] = []

    def handler(request):
        seen.append(request)
        return answer(request)

    return run_script(tmp_path / "main.py", handler=handler, pythonpath=stubs), seen


def test_a_call_travels_with_original_names_and_without_unset_optionals(tmp_path):
    result, seen = run_with(tmp_path, """
        import json
        from flowtape_tools import env_server
        value = env_server.get_env("HOME", 3, ratio=0.5, tags=["a"], from_="x", dry_run=False)
        print(json.dumps(value))
    """, lambda request: {"result": {"echo": request["arguments"]}})
    assert result.ended == "ok", result.stderr
    assert seen == [{"op": "tool", "server": "env-server", "tool": "get-env",
                     "arguments": {"name": "HOME", "limit": 3, "ratio": 0.5, "tags": ["a"], "from": "x", "dry-run": False}}]
    assert json.loads(result.stdout) == {"echo": seen[0]["arguments"]}


def test_a_tool_error_raises_tool_error_with_the_message(tmp_path):
    result, _ = run_with(tmp_path, """
        from flowtape_tools import ToolError, env_server
        try:
            env_server.fail()
        except ToolError as err:
            print("caught:", err)
        env_server.fail()
    """, lambda request: {"error": "env-server.fail returned an error: it always fails", "error_type": "ToolError"})
    assert result.stdout == "caught: env-server.fail returned an error: it always fails\n"
    assert result.ended == "crash"
    assert result.stderr.strip().splitlines()[-1] == "flowtape_tools.ToolError: env-server.fail returned an error: it always fails"


def test_discovery_and_llm_calls_are_requests_too(tmp_path):
    replies = {"list_servers": ["env-server", "llm"], "search_tools": ["env-server.get-env: Read one variable."],
               "get_tool_schema": SCHEMA, "llm": "a reply"}
    result, seen = run_with(tmp_path, """
        import flowtape_tools as ft
        print(ft.list_servers(), ft.search_tools("env"), ft.get_tool_schema("env-server", "get-env")["required"],
              ft.llm("hi", max_tokens=5), ft.inputs["who"])
    """, lambda request: {"result": replies[request["op"]]})
    assert result.ended == "ok", result.stderr
    assert [r["op"] for r in seen] == ["list_servers", "search_tools", "get_tool_schema", "llm"]
    assert seen[3] == {"op": "llm", "prompt": "hi", "max_tokens": 5}
    assert result.stdout == "['env-server', 'llm'] ['env-server.get-env: Read one variable.'] ['name', 'limit'] a reply Ada\n"
