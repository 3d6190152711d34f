"""Schema tokens per MCP server from a run's cassettes, and the cache that keeps them by the
sha256 of each cassette's bytes (a gate on cassettes it has seen reads no YAML, loads no
tokenizer)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.gate import GateError, schema_tokens
from harness.gate import _schemas
from tests.harness.gate._ledgers import ROOT

KEYS = [("meeting-times", "lisbon-tokyo", "ir"), ("meeting-times", "lisbon-tokyo", "code")]


@pytest.fixture
def cassettes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "cassettes" / "meeting-times"
    folder.mkdir(parents=True)
    for _, case, approach in KEYS:
        shutil.copy(ROOT / "cassettes" / "meeting-times" / f"{case}.{approach}.yaml", folder)
    return tmp_path / "cassettes"


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record each cassette read and counted (a cache miss)."""
    read: list[Path] = []
    count = _schemas._count

    def counted(path: Path, *args):
        read.append(path)
        return count(path, *args)

    monkeypatch.setattr(_schemas, "_count", counted)
    return read


def test_the_second_call_reads_no_cassette_and_gives_the_same_figures(cassettes: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    read = _counting(monkeypatch)
    first = schema_tokens(cassettes, KEYS)
    assert (first["time"].tokens, first["time"].tools) == (261, 2)  # mcp-server-time's two tools, o200k_base
    assert len(read) == 2
    assert (tmp_path / "cache" / "schema-tokens.json").is_file()
    assert schema_tokens(cassettes, KEYS) == first
    assert len(read) == 2  # no cassette read again


def test_changed_bytes_or_another_tokenizer_are_counted_again(cassettes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read = _counting(monkeypatch)
    schema_tokens(cassettes, KEYS)
    tape = cassettes / "meeting-times" / "lisbon-tokyo.ir.yaml"
    tape.write_text(tape.read_text() + "# a comment changes the bytes, not the recording\n")
    schema_tokens(cassettes, KEYS)
    assert read[2:] == [tape]
    schema_tokens(cassettes, KEYS, "cl100k_base")
    assert len(read) == 5


def test_a_corrupt_cache_is_a_miss_and_no_cache_dir_means_none(cassettes: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    read = _counting(monkeypatch)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "schema-tokens.json").write_text("{not json")
    first = schema_tokens(cassettes, KEYS)
    key = next(iter(json.loads((tmp_path / "cache" / "schema-tokens.json").read_text())))
    assert key.startswith("o200k_base:") and len(read) == 2
    (tmp_path / "cache" / "schema-tokens.json").write_text(json.dumps({key: {"time": ["many", 2]}}))
    assert schema_tokens(cassettes, KEYS) == first  # a malformed entry is recomputed
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", "")
    shutil.rmtree(tmp_path / "cache")
    assert schema_tokens(cassettes, KEYS) == first
    assert not (tmp_path / "cache").exists()


def test_a_corrupt_cassette_is_still_an_error(cassettes: Path) -> None:
    tape = cassettes / "meeting-times" / "lisbon-tokyo.ir.yaml"
    tape.write_text("interactions: [\n")
    with pytest.raises(GateError, match="lisbon-tokyo.ir.yaml:"):
        schema_tokens(cassettes, KEYS)
