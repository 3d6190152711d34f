"""`flowtape test -w N`: when the units include code-approach ones, each worker starts its jail
once its first unit is done (started with the worker, the jail's start shared the cores with the
first units); a worker told nothing starts none."""

from __future__ import annotations

from typing import Any

import pytest

from harness import suiterun


class _Conn:
    """A worker's end of the pipe: hands out `messages`, keeps what the worker sends."""

    def __init__(self, messages: list[Any]) -> None:
        self.messages, self.sent = list(messages), []

    def recv(self) -> Any:
        return self.messages.pop(0)

    def send(self, value: Any) -> None:
        self.sent.append(value)


@pytest.mark.parametrize(("messages", "warm", "expected"), [
    (["warm", ("a",), ("b",), None], False, ["unit a", "jail", "unit b"]),
    ([("a",), ("b",), None], True, ["unit a", "jail", "unit b"]),  # a worker started to replace one that died
    ([("a",), ("b",), None], False, ["unit a", "unit b"]),
])
def test_a_worker_starts_its_jail_after_its_first_unit(monkeypatch, messages, warm, expected) -> None:
    done: list[str] = []
    monkeypatch.setattr(suiterun, "replay_unit", lambda name: done.append(f"unit {name}") or name)
    import harness.codeexec

    monkeypatch.setattr(harness.codeexec, "warm_sandbox", lambda: done.append("jail"))
    conn = _Conn(messages)
    suiterun._worker(conn, warm)
    assert done == expected
    assert conn.sent == [("result", "a"), ("result", "b")]
