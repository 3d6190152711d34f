"""What a replayed case needs that its first run would otherwise load: imported once by the
forkserver `flowtape test` starts its workers from (`harness.suiterun`), so every worker starts
with it (copy-on-write) and no worker's first case pays for it.

Measured on the shipped suite (2 workers): each worker's first case took 3.2-3.6 s against a
median case of 0.15 s before this preload: jsonschema (the evaluators), the code approach's
sandbox and stubs, the direct approach's agent loop, and tiktoken's encoder for result tokens
(~0.6 s of CPU: parsing the BPE file and building the encoder). The encoder is not loaded here:
token counts of recorded results are kept in the per-user cache (`count_tokens`), so a replay
counted before needs no encoder at all, and the forkserver is ready sooner.

Left out, because a replay of the common kind needs none of them and the workers wait for this
import: the mcp SDK (`CassetteMCPClient` answers listings and calls from the recording, reading
results of the common shape without the SDK's `mcp_types` models: ~0.25 s), DuckDB (a worker
sends its rows back; the parent writes the ledger: ~0.18 s) and deepdiff (`DeepEquals` loads it
only for values that differ: ~0.15 s with numpy), nor asyncio (imported only to open a live
session). `tests/harness/test_preload.py` checks that after this import, replaying a case of
every approach imports nothing more of flowtape, jsonschema, the mcp SDK or tiktoken, and none of
those four.

The one process started here is the sandbox's probe (`sandbox_prefix`: a jail that must fail to
reach the network and the host's files), run from a thread while the modules import and waited
for before the import ends: every worker inherits its verdict instead of probing again before it
warms its jail (~60 ms each; a suite without code-approach units pays the probe's ~50 ms of CPU
beside the imports for nothing). Nothing here leaves a process running or opens a file a worker
would share.
"""

from __future__ import annotations

import threading

from harness.codeexec._jail import network_denied

_probe = threading.Thread(target=network_denied, name="flowtape-sandbox-probe", daemon=True)
_probe.start()

import harness.cassettes._llm  # noqa: F401
import harness.cassettes._mcp  # noqa: F401
import harness.cassettes._review  # noqa: F401  (review checkpoints' recorded decisions)
import harness.codeexec  # noqa: F401  (the code approach: jail, bridge, stubs)
import harness.evaluators  # noqa: F401
import harness.suite  # noqa: F401
import jsonschema  # noqa: F401  (JsonSchema evaluators, tool-call checks: ~0.4 s on a first case)
import runner.agent  # noqa: F401  (the direct approach)
import runner.live.llm  # noqa: F401  (the direct approach's client; litellm itself stays unimported)
import harness.accounting._prices  # noqa: F401  (the accounting's modules: its package imports each on first use)
import harness.accounting._rows  # noqa: F401
import tiktoken  # noqa: F401  (the encoder itself is loaded only on a token-count cache miss: ~0.6 s)
import tiktoken.load  # noqa: F401
import tiktoken_ext.openai_public  # noqa: F401

# Caches every worker's first case would otherwise fill (measured in a fresh process after this
# import: the first unit took 31-38 ms against 13-19 ms for the next): the installed version that
# goes into every cassette's meta (importlib.metadata parses the package's METADATA, ~5-10 ms) and
# jsonschema's metaschema check (its references resolved once).
harness.suite._version()
jsonschema.Draft202012Validator.check_schema({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}})
_probe.join()  # no thread may be running when the forkserver forks a worker
