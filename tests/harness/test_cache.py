"""The per-user cache of figures keyed by content hashes (`harness._cache`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import _cache
from harness._cache import JsonCache, cache_dir


def test_the_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWTAPE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "flowtape"
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", "")
    assert cache_dir() is None and JsonCache("x").get("k") is None


def test_entries_survive_a_new_process_and_the_oldest_go_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 3)
    store = JsonCache("figures")
    for n in range(5):
        store.put(f"k{n}", [n])
    store.put("k2", [2])  # used again: now the newest
    store.save()
    assert list(json.loads((tmp_path / "figures.json").read_text())) == ["k3", "k4", "k2"]
    assert JsonCache("figures").get("k4") == [4]
    assert [p.name for p in tmp_path.iterdir()] == ["figures.json"]  # no temporary file left


def test_an_unwritable_folder_costs_only_speed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path / "file" / "below"))
    store = JsonCache("figures")
    store.put("k", 1)
    store.save()  # no error
    assert JsonCache("figures").get("k") is None


def test_two_processes_saving_keep_each_others_entries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two `flowtape test` workers each add counts; the second to save keeps the first's."""
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path))
    first, second = JsonCache("figures"), JsonCache("figures")
    first.get("x"), second.get("x")  # both read the (empty) file before either saves
    first.put("a", 1)
    second.put("b", 2)
    first.save()
    second.save()
    assert json.loads((tmp_path / "figures.json").read_text()) == {"a": 1, "b": 2}
