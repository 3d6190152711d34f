"""What a model call cost, from token counts: configured prices first, then litellm's price map.

litellm's bundled price map (the file `LITELLM_LOCAL_MODEL_COST_MAP=True` makes it use, so
nothing is fetched) knows the hosted models; a local or private model (`openai/smollm2`) is
priced in config:

    cost_usd("gpt-4o-mini", 1000, 500)                                    # 0.00045
    cost_usd("openai/smollm2", 1000, 500,
             {"openai/smollm2": {"input_per_mtok": 0.1, "output_per_mtok": 0.2}})  # 0.0002
    cost_usd("openai/smollm2", 1000, 500)                                 # None: nobody knows

A configured price wins over litellm's for the same model: config is the user's explicit
statement (a negotiated or newer price).

The map is read as a file (`harness._litellm_files.price_map`), not through litellm, whose
import takes seconds of CPU: a model the map names (as given, or without its `provider/`
prefix, as litellm looks it up) with one flat price per input and per output token costs
`prompt x input + completion x output`, which is what litellm's `cost_per_token` computes for it
(tests/harness/accounting/test_prices.py checks every such model of the map against litellm).
Only a model whose entry litellm prices by other rules (tiers above a context size, off-peak
hours, per second or per character) goes through litellm itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from harness._litellm_files import price_map

__all__ = ["Prices", "cost_usd", "flat_price"]

Prices = Mapping[str, Mapping[str, float]]  # {model: {"input_per_mtok": x, "output_per_mtok": y}}
_PRICE_KEYS = ("input_per_mtok", "output_per_mtok")
# Entry keys that make litellm's cost more than prompt x input + completion x output for a plain
# chat call (no cached tokens, no service tier): a tier above a context size, an off-peak price,
# a price per second or per character.
_OTHER_RULES = ("_above_", "off_peak", "per_second", "per_character")


def _litellm() -> Any:
    # Imported on first use: the import takes seconds, and without this variable it fetches the
    # price map over the network.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def _configured(model: str, entry: Mapping[str, float], prompt_tokens: int, completion_tokens: int) -> float:
    missing = [key for key in _PRICE_KEYS if not isinstance(entry.get(key), (int, float))]
    if missing:
        raise ValueError(f"price for model {model!r} needs numbers for {', '.join(missing)} (USD per million tokens)")
    return (prompt_tokens * entry["input_per_mtok"] + completion_tokens * entry["output_per_mtok"]) / 1_000_000


def _entry(model: str) -> dict[str, Any] | None:
    """The map's entry for `model` as litellm finds it: the name as given, else without its
    provider prefix (`openai/gpt-4o-mini` -> `gpt-4o-mini`)."""
    known = price_map() or {}
    found = known.get(model)
    if found is None and "/" in model:
        found = known.get(model.split("/", 1)[1])
    return found if isinstance(found, dict) else None


def flat_price(model: str) -> tuple[float, float] | None:
    """(USD per input token, USD per output token) of `model` in litellm's map when its entry is
    a chat model priced flat per token (nothing in `_OTHER_RULES`); None otherwise."""
    entry = _entry(model)
    if entry is None or entry.get("mode", "chat") != "chat":
        return None
    prices = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in prices):
        return None
    if any(rule in key for key in entry for rule in _OTHER_RULES):
        return None
    return float(prices[0]), float(prices[1])  # type: ignore[arg-type]


def cost_usd(model: str, prompt_tokens: int | None, completion_tokens: int | None, prices: Prices | None = None) -> float | None:
    """USD for one call of `model`, or None when neither `prices` nor litellm knows the model, or
    when no token count is known.

    Args:
        model: as the call named it (`gpt-4o-mini`, `openai/gpt-4o-mini`, `openai/smollm2`).
        prompt_tokens, completion_tokens: a missing count is taken as 0 if the other is known.
        prices: configured prices, USD per million tokens, by model.

    Raises:
        ValueError: a configured price for `model` lacks `input_per_mtok` or `output_per_mtok`.
    """
    if prompt_tokens is None and completion_tokens is None:
        return None
    prompt, completion = prompt_tokens or 0, completion_tokens or 0
    if prices and model in prices:
        return _configured(model, prices[model], prompt, completion)
    if price_map() is not None:
        if _entry(model) is None:
            return None  # litellm raises for a model its map does not name
        flat = flat_price(model)
        if flat is not None:
            return prompt * flat[0] + completion * flat[1]
    try:
        prompt_cost, completion_cost = _litellm().cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion)
    except Exception:  # litellm raises several types for a model it has not mapped
        return None
    return float(prompt_cost) + float(completion_cost)
