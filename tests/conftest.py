from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.localmodel import LocalModelError, LocalModelServer, start_local_model


@pytest.fixture(scope="session")
def local_model() -> Iterator[LocalModelServer]:
    """The real local model (SmolLM2 on llama.cpp), started on first use and shared by the
    session. Missing pieces fail the test rather than skip it: CI installs them."""
    try:
        server = start_local_model()
    except LocalModelError as exc:
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that use the fixture carry the `local_model` marker: `-m "not local_model"`.
    for item in items:
        if "local_model" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.local_model)
