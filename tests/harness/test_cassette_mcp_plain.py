"""A replay reads recorded `tools/call` results and `tools/list` listings of the common shape
without the SDK's models (`plain_call_result`, `plain_tools`): what it returns must be what the
SDK's `CallToolResult` / `ListToolsResult` gave, to the byte count, on every recording the
project ships; any other shape is left to the SDK."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp_types import CallToolResult, ListToolsResult

from harness.cassettes import Cassette
from harness.cassettes._mcp import CassetteMCPClient, plain_call_result, plain_tools
from runner.clients import ToolInfo
from runner.live.mcp import as_tool_call_result, parse_mcp_config

ROOT = Path(__file__).resolve().parents[2]


def _recorded(method: str) -> list[tuple[Cassette, dict]]:
    found = []
    for path in sorted((ROOT / "cassettes").rglob("*.yaml")):
        cassette = Cassette.open(path, "none")
        found += [(cassette, item) for item in cassette.interactions
                  if item.kind == "mcp" and item.method == method and isinstance(item.response, dict) and "result" in item.response]
    return found


def test_every_shipped_tool_result_reads_the_same_without_the_sdk() -> None:
    recorded = _recorded("tools/call")
    assert len(recorded) > 100  # the shipped suite's calls: git, time, filesystem, memory servers
    plain = 0
    for cassette, item in recorded:
        tool, arguments = item.request["name"], item.request.get("arguments") or {}
        sized = cassette.normalizer.to_stored
        expected = as_tool_call_result(tool, arguments, CallToolResult.model_validate(item.response["result"]), sized)
        got = plain_call_result(tool, arguments, item.response["result"], sized)
        if got is not None:
            plain += 1
            assert got == expected, (cassette.path, item.step)
            assert [list(block) for block in got.content] == [list(block) for block in expected.content]  # key order too
    assert plain == len(recorded)  # every shipped result has the common shape


def test_every_shipped_tool_listing_reads_the_same_without_the_sdk() -> None:
    recorded = _recorded("tools/list")
    assert len(recorded) >= 9
    for cassette, item in recorded:
        result = item.response["result"]
        expected = [ToolInfo(t.name, t.description or "", dict(t.input_schema)) for t in ListToolsResult.model_validate(result).tools]
        assert plain_tools(result) == expected, cassette.path


@pytest.mark.parametrize("result", [
    {"content": [{"type": "text", "text": "a"}], "_meta": {"k": 1}},  # a field the SDK renames
    {"content": [{"type": "text", "text": "a"}], "extra": 1},  # a key the SDK drops: not counted by it
    {"content": [{"type": "text", "text": "a"}], "isError": "true"},  # the SDK coerces it
    {"content": [{"type": "text", "text": "a", "annotations": {"priority": 1}}]},
    {"content": [{"type": "image", "data": "aGk=", "mimeType": "image/png"}]},
    {"content": "a"},
    {"structuredContent": {"a": 1}},  # no content
    {"content": [], "structuredContent": [1]},
], ids=["meta", "unknown key", "string flag", "annotated block", "image", "content not a list", "no content", "structured not an object"])
def test_other_shapes_are_left_to_the_sdk(result: dict) -> None:
    assert plain_call_result("t", {}, result, lambda v: v) is None


def test_a_replayed_result_of_another_shape_is_read_by_the_sdk(tmp_path: Path) -> None:
    """An image block and an unknown key, recorded and replayed through the client: what the
    SDK's reading gives (the unknown key is dropped, so not counted)."""
    result = {"content": [{"type": "image", "data": "aGk=", "mimeType": "image/png"}], "isError": False, "extra": "x" * 50}
    path = tmp_path / "c.yaml"
    recording = Cassette.open(path, "all")
    recording.record("mcp", "pics", "shot", "tools/call", {"name": "snap", "arguments": {"n": 1}}, {"result": result})
    recording.save()
    client = CassetteMCPClient(parse_mcp_config({"mcpServers": {"pics": {"command": "no-such-server-binary"}}}), Cassette.open(path, "none"))
    try:
        got = client.call_tool("pics", "snap", {"n": 1}, step_id="shot")
    finally:
        client.close()
    expected = as_tool_call_result("snap", {"n": 1}, CallToolResult.model_validate(result))
    assert got == expected and got.content == [{"type": "image", "data": "aGk=", "mimeType": "image/png"}]
    assert got.result_bytes < len(str(result))  # "extra" was not counted


@pytest.mark.parametrize("result", [
    {"tools": [{"name": "t", "inputSchema": "x"}]},
    {"tools": [{"name": 3, "inputSchema": {}}]},
    {"tools": [{"name": "t", "inputSchema": {}, "description": 5}]},
    {"tools": "t"},
])
def test_listings_of_other_shapes_are_left_to_the_sdk(result: dict) -> None:
    assert plain_tools(result) is None
