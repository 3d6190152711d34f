from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.localmodel import LocalModelError, LocalModelServer, start_local_model


def _served() -> Iterator[LocalModelServer]:
    """A running local model server, stopped afterwards. Missing pieces fail the test rather than
    skip it: CI installs them."""
    try:
        server = start_local_model()
    except LocalModelError as exc:
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server


@pytest.fixture(scope="session")
def local_model() -> Iterator[LocalModelServer]:
    """The real local model (SmolLM2 on llama.cpp), started on first use and shared by the session."""
    yield from _served()


@pytest.fixture
def fresh_model() -> Iterator[LocalModelServer]:
    """A model server of the test's own. llama.cpp reuses the KV cache of the prompt a slot saw
    last, and a reply can differ with it: on the session's shared server (`local_model`) a
    recorded reply could depend on which tests ran before."""
    yield from _served()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that use a model server carry the `local_model` marker: `-m "not local_model"`.
    for item in items:
        if {"local_model", "fresh_model"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.local_model)


# A real MCP server over streamable HTTP (the SDK's MCPServer), on a free loopback port.
HTTP_SERVER = textwrap.dedent(
    """
    import sys
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("adder", log_level="WARNING")

    @server.tool(description="Add two integers")
    def add(a: int, b: int) -> int:
        return a + b

    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
    """
)


@pytest.fixture
def http_url(tmp_path: Path):
    script = tmp_path / "adder.py"
    script.write_text(HTTP_SERVER)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60  # a loaded machine can take this long to import the SDK
        while True:
            assert proc.poll() is None, f"server exited: {(tmp_path / 'server.log').read_text()}"
            assert time.monotonic() < deadline, "server did not start listening"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
