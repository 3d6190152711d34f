"""Cassettes: record every MCP and LLM call once against real servers, replay it strictly.

    cassette = Cassette.open(Path("cassettes/git-log/recent.ir.yaml"), RecordMode.NONE)
    runtime = Runtime(mcp=ReplayingMCPClient(configs, cassette), llm=CassetteLLMClient(live_llm, cassette))
"""

from typing import TYPE_CHECKING

from runner._lazy import lazy_getattr

# Names are imported on first use (PEP 562): reading a suite needs the normaliser's rules, not
# the cassette's models (pydantic) nor the trace's.
_WHERE = {
    "CassetteLLMClient": ("harness.cassettes._llm", "CassetteLLMClient"),
    **{name: ("harness.cassettes._modes", name) for name in ("RecordMode", "RecordModeError", "decide_mode", "in_ci")},
    **{name: ("harness.cassettes._normalize", name) for name in ("Normalizer", "Rule")},
    **{name: ("harness.cassettes._secrets", name) for name in ("LeakedSecretError", "known_secrets")},
    **{name: ("harness.cassettes._store", name) for name in ("CASSETTE_VERSION", "Cassette", "CassetteError", "CassetteMiss", "StepChange",
                                                             "StoredInteraction")},
}

__getattr__ = lazy_getattr(__name__, _WHERE, globals())

if TYPE_CHECKING:
    from harness.cassettes._llm import CassetteLLMClient
    from harness.cassettes._modes import RecordMode, RecordModeError, decide_mode, in_ci
    from harness.cassettes._normalize import Normalizer, Rule
    from harness.cassettes._secrets import LeakedSecretError, known_secrets
    from harness.cassettes._store import CASSETTE_VERSION, Cassette, CassetteError, CassetteMiss, StepChange, StoredInteraction

__all__ = [
    "CASSETTE_VERSION",
    "Cassette",
    "CassetteError",
    "CassetteLLMClient",
    "CassetteMiss",
    "LeakedSecretError",
    "Normalizer",
    "RecordMode",
    "RecordModeError",
    "Rule",
    "StepChange",
    "StoredInteraction",
    "decide_mode",
    "in_ci",
    "known_secrets",
]
