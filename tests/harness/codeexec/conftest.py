"""Fixtures of the sandbox tests."""

from __future__ import annotations

import pytest

from harness.codeexec import close_sandboxes


@pytest.fixture
def no_cgroups(monkeypatch):
    """This process as if it could make no cgroup (a non-root harness, usually). Jails are kept
    for the next script, so the ones started before are stopped first, and the ones started
    without cgroups after: no other test gets a jail without its budget."""
    from harness.codeexec import _budget

    close_sandboxes()
    monkeypatch.setattr(_budget, "_own_cgroups", lambda: {})
    yield
    close_sandboxes()
