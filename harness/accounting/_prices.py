"""What a model call cost, from token counts: configured prices first, then litellm's local map.

litellm's bundled price map (`LITELLM_LOCAL_MODEL_COST_MAP=True`, so nothing is fetched) knows the
hosted models; a local or private model (`openai/smollm2`) is priced in config:

    cost_usd("gpt-4o-mini", 1000, 500)                                    # 0.00045
    cost_usd("openai/smollm2", 1000, 500,
             {"openai/smollm2": {"input_per_mtok": 0.1, "output_per_mtok": 0.2}})  # 0.0002
    cost_usd("openai/smollm2", 1000, 500)                                 # None: nobody knows

A configured price wins over litellm's for the same model: config is the user's explicit
statement (a negotiated or newer price), and a worker whose models are all configured never pays
the seconds litellm takes to import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["Prices", "cost_usd"]

Prices = Mapping[str, Mapping[str, float]]  # {model: {"input_per_mtok": x, "output_per_mtok": y}}
_PRICE_KEYS = ("input_per_mtok", "output_per_mtok")


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
    try:
        prompt_cost, completion_cost = _litellm().cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion)
    except Exception:  # litellm raises several types for a model it has not mapped
        return None
    return float(prompt_cost) + float(completion_cost)
