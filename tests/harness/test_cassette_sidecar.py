"""The cassette's cached sidecar: a large YAML cassette read strictly once is opened from a JSON
copy (keyed by the sha256 of its bytes) the next time, with the same interactions and the same
replay; other bytes, a damaged copy or no cache folder mean the strict read of the file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.cassettes import Cassette, CassetteError
from harness.cassettes import _store

ROOT = Path(__file__).resolve().parents[2]
BIG = ROOT / "cassettes" / "changelog-export" / "full-history.ir.yaml"  # ~200 KB


@pytest.fixture
def tape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "full-history.ir.yaml"
    shutil.copy(BIG, path)
    return path


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    parse = _store._parse

    def counted(path: Path, text: str):
        seen.append(path)
        return parse(path, text)

    monkeypatch.setattr(_store, "_parse", counted)
    return seen


def _replay(cassette: Cassette) -> list:
    """Every recording looked up again by its own request, as a replay would."""
    return [cassette.lookup(i.kind, i.server, i.step, i.method, i.request) for i in list(cassette.interactions)]


def test_the_second_open_reads_the_sidecar_and_replays_the_same(tape: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _parses(monkeypatch)
    first = Cassette.open(tape, "none", ci=True)
    assert parsed == [tape] and len(list((tmp_path / "cache" / "cassettes").glob("*.json"))) == 1
    second = Cassette.open(tape, "none", ci=True)
    assert parsed == [tape]  # no second YAML read
    assert second.interactions == first.interactions and second.meta == first.meta
    assert _replay(second) == _replay(first) and None not in _replay(Cassette.open(tape, "none", ci=True))


def test_other_bytes_are_read_strictly_again(tape: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _parses(monkeypatch)
    Cassette.open(tape, "none", ci=True)
    tape.write_text(tape.read_text() + "# a comment: other bytes, the same recording\n")
    Cassette.open(tape, "none", ci=True)
    assert parsed == [tape, tape]
    tape.write_text(tape.read_text().replace("version: 1", "version: 2"))
    with pytest.raises(CassetteError, match="cassette version 2 is not supported"):
        Cassette.open(tape, "none", ci=True)


def test_a_damaged_sidecar_is_ignored(tape: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = Cassette.open(tape, "none", ci=True)
    [sidecar] = (tmp_path / "cache" / "cassettes").glob("*.json")
    sidecar.write_bytes(sidecar.read_bytes()[:-100])  # cut short
    parsed = _parses(monkeypatch)
    assert Cassette.open(tape, "none", ci=True).interactions == first.interactions
    assert parsed == [tape]
    sidecar.write_text('{"format": "flowtape-cassette-sidecar", "version": 0, "digests": [], "cassette": {"version": 1, "interactions": []}}')
    assert Cassette.open(tape, "none", ci=True).interactions == first.interactions  # a copy of another layout
    assert parsed == [tape, tape]


def test_small_cassettes_keep_their_sidecars_apart(tape: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = tmp_path / "small.ir.yaml"
    shutil.copy(ROOT / "cassettes" / "meeting-times" / "lisbon-tokyo.ir.yaml", small)
    assert small.stat().st_size < _store.SIDECAR_SMALL_BYTES
    parsed = _parses(monkeypatch)
    first = Cassette.open(small, "none", ci=True)
    second = Cassette.open(small, "none", ci=True)
    assert parsed == [small] and second.interactions == first.interactions
    assert len(list((tmp_path / "cache" / "cassettes" / "small").glob("*.json"))) == 1
    assert not list((tmp_path / "cache" / "cassettes").glob("*.json"))  # a large one's folder holds none


def test_the_least_recently_used_sidecars_go(tape: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_store, "SIDECAR_KEPT", 3)
    copies = []
    for i in range(3):
        copy = tmp_path / f"copy-{i}.ir.yaml"
        copy.write_text(tape.read_text() + f"# copy {i}\n")
        copies.append(copy)
        Cassette.open(copy, "none", ci=True)
    folder = tmp_path / "cache" / "cassettes"
    assert len(list(folder.glob("*.json"))) == 3  # not past 1.2x the limit
    for path in sorted(folder.glob("*.json")):  # all written long ago ...
        os.utime(path, (1, 1))
    parsed = _parses(monkeypatch)
    Cassette.open(copies[0], "none", ci=True)  # ... but the first copy was just used
    assert parsed == []
    Cassette.open(tape, "none", ci=True)  # a fourth copy: past 1.2x, the least recently used goes
    assert parsed == [tape] and len(list(folder.glob("*.json"))) == 3
    Cassette.open(copies[0], "none", ci=True)
    Cassette.open(tape, "none", ci=True)
    assert parsed == [tape]  # the most recently used were kept


def test_no_cache_folder_keeps_no_sidecar(tape: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", "")
    parsed = _parses(monkeypatch)
    Cassette.open(tape, "none", ci=True)
    Cassette.open(tape, "none", ci=True)
    assert parsed == [tape, tape] and not (tmp_path / "cache").exists()
