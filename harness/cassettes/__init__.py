"""Cassettes: record every MCP and LLM call once against real servers, replay it strictly.

    cassette = Cassette.open(Path("cassettes/git-log/recent.ir.yaml"), RecordMode.NONE)
    runtime = Runtime(mcp=ReplayingMCPClient(configs, cassette), llm=CassetteLLMClient(live_llm, cassette))
"""

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
