"""Prices: litellm's local cost map for models it knows, configured prices for the rest, else None."""

from __future__ import annotations

import os

import pytest

from harness.accounting import cost_usd

LOCAL = {"openai/smollm2": {"input_per_mtok": 0.1, "output_per_mtok": 0.2}}


@pytest.fixture(scope="module")
def cost_map() -> dict:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm.model_cost


@pytest.mark.parametrize("model", ["gpt-4o-mini", "openai/gpt-4o-mini"])
def test_a_model_litellm_knows_is_priced_from_its_local_map(model: str, cost_map: dict) -> None:
    entry = cost_map["gpt-4o-mini"]
    expected = 1000 * entry["input_cost_per_token"] + 500 * entry["output_cost_per_token"]
    assert cost_usd(model, 1000, 500) == pytest.approx(expected)
    assert expected == pytest.approx(0.00045)  # 0.15 and 0.60 USD per million, as of this litellm


def test_an_unknown_model_is_priced_from_config() -> None:
    assert cost_usd("openai/smollm2", 1000, 500, LOCAL) == pytest.approx((1000 * 0.1 + 500 * 0.2) / 1e6)


def test_a_model_nobody_knows_costs_none_without_noise(capsys: pytest.CaptureFixture[str]) -> None:
    assert cost_usd("openai/smollm2", 1000, 500) is None
    assert cost_usd("no-such-model-anywhere", 1000, 500, LOCAL) is None
    assert capsys.readouterr() == ("", "")


def test_configured_price_overrides_litellm() -> None:
    prices = {"gpt-4o-mini": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}
    assert cost_usd("gpt-4o-mini", 1_000_000, 1_000_000, prices) == pytest.approx(3.0)


def test_no_token_counts_no_cost() -> None:
    assert cost_usd("gpt-4o-mini", None, None) is None
    assert cost_usd("openai/smollm2", None, 500, LOCAL) == pytest.approx(500 * 0.2 / 1e6)


def test_an_incomplete_configured_price_is_an_error() -> None:
    with pytest.raises(ValueError, match="output_per_mtok"):
        cost_usd("openai/smollm2", 10, 10, {"openai/smollm2": {"input_per_mtok": 0.1}})


# Providers whose names litellm prices without credentials or network (others, such as
# github_copilot, try to log in when litellm resolves their provider).
_CHECKED_PROVIDERS = ("openai", "anthropic", "azure", "mistral", "gemini", "groq", "deepseek", "xai", "cohere_chat", "together_ai")


def test_the_map_read_as_a_file_prices_as_litellm_does(cost_map: dict) -> None:
    """Every flat-priced chat model of these providers, named bare and with its provider, costs
    what litellm's cost_per_token says (where litellm can place the name at all)."""
    import litellm

    from harness._litellm_files import price_map
    from harness.accounting._prices import flat_price

    assert price_map() == cost_map  # the file is the map litellm loaded
    names = []
    for name, entry in cost_map.items():
        if isinstance(entry, dict) and entry.get("litellm_provider") in _CHECKED_PROVIDERS:
            provider = entry["litellm_provider"]
            names += [name] if name.startswith(f"{provider}/") else [name, f"{provider}/{name}"]
    compared = 0
    for name in names + ["openai/smollm2", "no-such-model-anywhere"]:
        try:
            prompt, completion = litellm.cost_per_token(model=name, prompt_tokens=1234, completion_tokens=567)
            expected = prompt + completion
        except Exception:
            continue  # litellm cannot place the name: nothing to compare with
        if flat_price(name) is not None:
            compared += 1
            assert cost_usd(name, 1234, 567) == pytest.approx(expected, rel=1e-9, abs=1e-15), name
    assert compared > 300, compared


def test_a_price_is_read_without_importing_litellm() -> None:
    import subprocess
    import sys

    script = ("import sys\nfrom harness.accounting import cost_usd\n"
              "print(round(cost_usd('gpt-4o-mini', 1000, 500), 8), cost_usd('openai/smollm2', 1, 1), 'litellm' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0.00045", "None", "False"]


def test_which_models_the_map_names_is_remembered_by_the_map_file(tmp_path, monkeypatch) -> None:
    """A replayed model call asks whether litellm's map names its model; the answer is kept in
    the per-user cache by the map file (path, size, modification time), so a later process
    reads no map, and another map file is asked again."""
    import json

    from harness import _cache
    from harness import _litellm_files as files

    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "litellm"
    folder.mkdir()
    (folder / files.PRICE_MAP_FILE).write_text(json.dumps({"priced-model": {"input_cost_per_token": 1e-6}}))
    monkeypatch.setattr(files, "litellm_folder", lambda: folder)
    files.price_map.cache_clear()
    monkeypatch.setattr(files, "price_map", files.price_map.__wrapped__)  # read the file each time it is asked
    monkeypatch.setattr(_cache, "_shared", {})
    assert (files.in_price_map("priced-model"), files.in_price_map("smollm2", "smollm2-135m")) == (True, False)

    def unread() -> None:
        raise AssertionError("the map was read for an answer the cache holds")

    with monkeypatch.context() as inner:
        inner.setattr(files, "price_map", unread)
        inner.setattr(_cache, "_shared", {})  # as a later process: from the file
        assert (files.in_price_map("priced-model"), files.in_price_map("smollm2", "smollm2-135m")) == (True, False)
    (folder / files.PRICE_MAP_FILE).write_text(json.dumps({"smollm2": {"input_cost_per_token": 1e-6}, "x": {}}))
    assert (files.in_price_map("priced-model"), files.in_price_map("smollm2", "smollm2-135m")) == (False, True)
