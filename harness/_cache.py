"""A per-user cache of figures derived from file contents, keyed by a hash of those contents.

What is kept here can always be recomputed: an entry is found by the sha256 of the bytes it was
computed from (and whatever else its key names, such as a tokenizer), so it cannot go stale, is
safe to share between projects and checkouts, and may be deleted at any time. Nothing is ever
read from it that the files themselves could contradict.

The folder: `FLOWTAPE_CACHE_DIR` if set (empty: no cache), else `$XDG_CACHE_HOME/flowtape`, else
`~/.cache/flowtape`. A folder that cannot be written only costs speed: every problem reading or
writing the cache is a miss, never an error.

    store = JsonCache("schema-tokens")
    figures = store.get(key)          # None on a miss
    store.put(key, {"git": [1234, 12]})
    store.save()                      # atomically, only if something was put
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["JsonCache", "cache_dir", "digest", "shared"]

MAX_ENTRIES = 20_000  # per file; the oldest go first


def cache_dir() -> Path | None:
    """Where the cache lives, or None when `FLOWTAPE_CACHE_DIR` is set empty (no cache)."""
    chosen = os.environ.get("FLOWTAPE_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowtape"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class JsonCache:
    """One JSON object of entries, `<cache_dir>/<name>.json`, read on first use."""

    def __init__(self, name: str) -> None:
        folder = cache_dir()
        self.path = folder / f"{name}.json" if folder is not None else None
        self._entries: dict[str, Any] | None = None
        self._dirty = False
        self._added: dict[str, Any] = {}  # what this process put since it last saved

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            found = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def get(self, key: str) -> Any:
        return self._load().get(key)

    def put(self, key: str, value: Any) -> None:
        entries = self._load()
        entries.pop(key, None)  # re-inserted last: the newest entries are kept when trimming
        entries[key] = value
        self._added.pop(key, None)
        self._added[key] = value
        self._dirty = True

    def save(self) -> None:
        """Write the entries if any were put (atomically; any OSError is ignored), with what
        other processes saved since this one read the file. Two processes saving at the same
        instant: the last one's entries are kept, the other's are computed again later."""
        import tempfile  # only a save pays for it

        if not self._dirty or self.path is None or self._entries is None:
            return
        entries = self._read()
        for key, value in self._added.items():
            entries.pop(key, None)
            entries[key] = value
        if len(entries) > MAX_ENTRIES:
            entries = dict(list(entries.items())[-MAX_ENTRIES:])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(entries, out, separators=(",", ":"))
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return
        self._entries, self._added, self._dirty = entries, {}, False


def shared(name: str) -> JsonCache:
    """The cache `name` of the current cache folder, one object per process (its file read once),
    for callers that ask it on every replayed call or case."""
    key = (name, cache_dir())
    if key not in _shared:
        _shared[key] = JsonCache(name)
    return _shared[key]


_shared: dict[tuple[str, Path | None], JsonCache] = {}
