"""Data files litellm ships, read without importing litellm (the import costs seconds of CPU).

litellm's package folder holds its price map (`model_prices_and_context_window_backup.json`, what
`LITELLM_LOCAL_MODEL_COST_MAP=True` makes it load) and tiktoken's BPE files
(`litellm_core_utils/tokenizers/`). Both are found through the import system's spec, so a
replayed case, the gate and the reports can read a price or point tiktoken at its files without
running litellm's `__init__`:

    price_map()["gpt-4o-mini"]["input_cost_per_token"]   # 1.5e-07
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["in_price_map", "litellm_folder", "price_map"]

PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"


@cache
def litellm_folder() -> Path | None:
    """The installed litellm package's folder, or None when litellm is not installed."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def price_map() -> dict[str, Any] | None:
    """litellm's bundled price map, `{model: {"input_cost_per_token": ..., ...}}`, read once
    per process; None when litellm or its file is missing or unreadable."""
    folder = litellm_folder()
    if folder is None:
        return None
    try:
        found = json.loads((folder / PRICE_MAP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _served(found) if isinstance(found, dict) else None


def _served(raw: dict[str, Any]) -> dict[str, Any]:
    """The map as litellm serves it after loading the file: its `fallback_generalizations`
    block (provider routing rules, no prices) taken out, and aliases expanded -- a row
    `{"alias_of": name}` is served as that row, a row's `aliases` list adds names for it; an
    alias that collides with a model or an earlier alias, or names nothing, is dropped."""
    raw.pop("fallback_generalizations", None)
    rows = {name: entry for name, entry in raw.items() if isinstance(entry, dict)}
    pointers = {name: target for name, entry in rows.items() if isinstance(target := entry.get("alias_of"), str)}
    owners: dict[str, str] = {}
    for name, entry in rows.items():
        aliases = entry.get("aliases")
        if name in pointers or not isinstance(aliases, list):
            continue
        for alias in aliases:
            if (alias in raw and alias not in pointers) or alias in owners:
                continue
            owners[alias] = name
    for alias, target in pointers.items():
        if target in rows and target not in pointers and alias not in owners:
            owners[alias] = target
    for entry in rows.values():
        entry.pop("aliases", None)
    for alias in pointers.keys() - owners.keys():
        raw.pop(alias)
    for alias, owner in owners.items():
        raw[alias] = raw[owner]
    return raw


def in_price_map(*models: str) -> bool:
    """Whether litellm's price map names any of `models`, bare or as `openai/<model>`; True
    when the map cannot be read (then nobody can say a model is unpriced).

    Every replayed model call asks this; reading the map costs ~0.06-0.1 s of CPU per process,
    so the answers are kept in the per-user cache (`harness._cache`) by the map file's path, size
    and modification time and the models asked about."""
    stamp = _map_stamp()
    key = None
    if stamp is not None:
        from harness._cache import digest, shared

        key = digest("\0".join((_SERVED_RULES, stamp, *models)).encode())
        found = shared(_NAMES).get(key)
        if isinstance(found, bool):
            return found
    known = price_map()
    answer = known is None or any(m and (m in known or f"openai/{m}" in known) for m in models)
    if key is not None and known is not None:
        cache = shared(_NAMES)
        cache.put(key, answer)
        cache.save()
    return answer


_SERVED_RULES = "served-1"  # the version of `_served`'s rules, part of the cached answers' key
_NAMES = "price-map-names"  # the per-user cache of the answers


def _map_stamp() -> str | None:
    """The price map file's path, size and modification time, or None when it cannot be found."""
    folder = litellm_folder()
    if folder is None:
        return None
    path = folder / PRICE_MAP_FILE
    try:
        stat = path.stat()
    except OSError:
        return None
    return f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}"
