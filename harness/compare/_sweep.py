"""How far a verdict rests on a modelled constant: a sweep of the system prompt size and of the
assumed turn structure, reporting every verdict that flips inside the range.

    run = load_run("reports/ledger.duckdb")
    flips = sweep(run, Settings())              # system prompt 200..2,000 tokens; 1, 2, 4 calls per turn
    report = compare("reports/ledger.duckdb", flips=flips, swept=swept_ranges())

Every figure is linear in the system prompt size S (each component reads S a fixed number of
times), so the figures are computed at the two ends of the range and the verdict is evaluated at
every whole S between them, exactly. The turn structure (tool calls per turn of the modelled
`direct`) is recomputed at each value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from harness.accounting.context import ContextCost, Settings
from harness.compare._account import LoadedRun, context_costs
from harness.compare._report import CaseFigures, Flip, verdicts

__all__ = ["CALLS_PER_TURN", "SYSTEM_TOKENS", "case_figures", "sweep", "swept_ranges"]

# A plausible range for an agent's system prompt before any tool schema: a terse role line and
# output rules (~200 tokens) up to a production agent's policies and examples (~2,000).
SYSTEM_TOKENS = (200, 2000)
# Tool calls per turn of the modelled direct orchestrator: one at a time, or parallel calls.
CALLS_PER_TURN = (1, 2, 4)


def case_figures(costs: Sequence[ContextCost]) -> list[CaseFigures]:
    """The per-case figures `verdicts` needs, from context costs (no pass/fail)."""
    return [CaseFigures(c.task or "", c.case or "", c.approach,
                        per_run_tokens=c.tokens("per_run"), per_run_cost_usd=c.cost_usd("per_run"),
                        authoring_tokens=c.tokens("authoring") if c.approach != "direct" else None,
                        authoring_cost_usd=c.cost_usd("authoring") if c.approach != "direct" else None)
            for c in costs]


def _at(low: list[CaseFigures], high: list[CaseFigures], fraction: float) -> list[CaseFigures]:
    def mix(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a + (b - a) * fraction

    return [replace(a, per_run_tokens=mix(a.per_run_tokens, b.per_run_tokens), per_run_cost_usd=mix(a.per_run_cost_usd, b.per_run_cost_usd),
                    authoring_tokens=mix(a.authoring_tokens, b.authoring_tokens), authoring_cost_usd=mix(a.authoring_cost_usd, b.authoring_cost_usd))
            for a, b in zip(low, high)]


def sweep(run: LoadedRun, settings: Settings | None = None, *, system_tokens: tuple[int, int] = SYSTEM_TOKENS,
          calls_per_turn: Sequence[int] = CALLS_PER_TURN) -> list[Flip]:
    """The verdicts (per task and overall, per approach against direct) that change within
    `system_tokens` (inclusive, every whole value) or across `calls_per_turn`.

    Raises:
        ValueError: an empty or reversed range.
    """
    settings = settings or Settings()
    low, high = system_tokens
    if not 0 <= low < high:
        raise ValueError(f"system prompt range {low}..{high}: needs 0 <= low < high")
    flips: list[Flip] = []
    ends = [case_figures(context_costs(run, replace(settings, system_prompt_tokens=s))) for s in (low, high)]
    first = verdicts(ends[0])
    found: dict[tuple[str | None, str], int] = {}
    for value in range(low + 1, high + 1):
        now = verdicts(_at(ends[0], ends[1], (value - low) / (high - low)))
        for key, wins in now.items():
            if key not in found and key in first and wins != first[key]:
                found[key] = value
    for key, at in found.items():  # interpolation is exact up to float rounding: confirm at the value itself
        while at < high and verdicts(case_figures(context_costs(run, replace(settings, system_prompt_tokens=at)))).get(key) == first[key]:
            at += 1
        flips.append(Flip(key[0], key[1], "system_prompt_tokens", low, high, at, first[key]))
    if len(calls_per_turn) > 1:
        values = sorted(calls_per_turn)
        base = verdicts(case_figures(context_costs(run, replace(settings, calls_per_turn=values[0]))))
        seen: dict[tuple[str | None, str], int] = {}
        for k in values[1:]:
            now = verdicts(case_figures(context_costs(run, replace(settings, calls_per_turn=k))))
            for key, wins in now.items():
                if key not in seen and key in base and wins != base[key]:
                    seen[key] = k
        flips += [Flip(task, approach, "calls_per_turn", values[0], values[-1], at, base[(task, approach)]) for (task, approach), at in seen.items()]
    return sorted(flips, key=lambda f: (f.task is None, f.task or "", f.approach, f.constant))


def swept_ranges(system_tokens: tuple[int, int] = SYSTEM_TOKENS, calls_per_turn: Sequence[int] = CALLS_PER_TURN) -> dict[str, tuple[int, int]]:
    """What a report says was swept: {"system_prompt_tokens": (200, 2000), "calls_per_turn": (1, 4)}."""
    return {"system_prompt_tokens": tuple(system_tokens), "calls_per_turn": (min(calls_per_turn), max(calls_per_turn))}  # type: ignore[dict-item]
