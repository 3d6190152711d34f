"""The cassette file: every MCP and LLM interaction of one (case, approach), keyed for O(1) replay.

On disk (YAML or JSON by extension; sorted keys, so a re-recording diffs cleanly):

    version: 1
    meta: {flowtape: 0.1.0, llm: "SmolLM2-135M-Instruct via llama.cpp, temperature 0", ...}
    interactions:
    - kind: mcp                 # or llm, or review (a human's decision at a checkpoint)
      server: git               # MCP server name; for llm the model the request named
      step: log                 # the IR node id (null for session set-up: initialize, tools/list)
      method: tools/call        # JSON-RPC method; for llm "POST /v1/chat/completions"
      request: {...}            # normalised: placeholders for fixture paths, <timestamp>, no ids
      response: {...}

An interaction is found by (kind, server, step, method, hash of the canonical request): a dict
lookup, so replay cost does not grow with the cassette. Identical requests replay in recorded
order (then the last one repeats).

The YAML (or JSON) file is the source of truth, the one reviewed and committed. Reading it is
the slow part of opening a cassette (YAML's parser, then each request's hash: ~5 ms for a small
one, which a suite pays per case; minutes for a 100k-interaction one), so after a file is read
strictly once, a compact JSON copy with the request hashes is kept in the per-user cache
(`harness._cache`, `cassettes/<sha256 of the file>.json`; files under 16 KB in
`cassettes/small/`, so that the many copies of small cassettes never push out a large one's):
the next open of the same bytes reads that copy instead. It is found by the file's hash, so an
edited cassette is simply another key (read strictly again), and a copy that cannot be read or
does not validate is ignored. Each folder keeps its most recently used copies (1,000 large,
10,000 small). `SIDECAR_VERSION` changes whenever what a strict read accepts does, so no copy
outlives the rules it was checked under.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness._cache import cache_dir
from harness._readers import ParseError, clip, decode, load_json, load_yaml, locate_yaml
from harness.cassettes._describe import EXCERPT, describe_change, pretty_path, short_json  # noqa: F401  (re-exported)
from harness.cassettes._modes import RecordMode, decide_mode
from harness.cassettes._normalize import Normalizer
from harness.cassettes._secrets import MIN_SECRET_LENGTH, LeakedSecretError, find_leaks, known_secrets, redact_meta, redact_text
from runner.trace import write_atomic

CASSETTE_VERSION = 1
FREEZE_AT = 10_000  # interactions: a cassette this large is frozen out of the cyclic GC once loaded
Kind = Literal["mcp", "llm", "review"]


class CassetteError(ValueError):
    """A cassette cannot be read or written (corrupt, truncated, wrong version, leaked secret)."""


class CassetteMiss(LookupError):
    """A call has no recording and the cassette may not record (mode `none`). Never a provider
    error: an llm node tries no fallback model after it (`no_fallback`)."""

    no_fallback = True


class StoredInteraction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    server: str
    step: str | None = None
    method: str
    request: Any = None
    response: Any = None
    notifications: list[Any] = Field(default_factory=list)


    def summary(self, width: int = 80) -> str:
        """One line for people: `step (kind server method) request...`."""
        return f"{self.step or '(set-up)'} ({self.kind} {self.server} {self.method}) {short_json(self.request, width)}"


class CassetteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = CASSETTE_VERSION
    meta: dict[str, Any] = Field(default_factory=dict)
    interactions: list[StoredInteraction] = Field(default_factory=list)


def request_digest(method: str, request: Any) -> str:
    """Hash of the canonical request: sorted keys, compact, after normalisation."""
    canonical = json.dumps([method, request], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


@dataclass
class StepChange:
    """How one step's recordings differ between two versions of a cassette."""

    step: str
    added: int = 0
    removed: int = 0
    changed: int = 0

    def describe(self) -> str:
        parts = [f"{n} {what}" for n, what in ((self.added, "added"), (self.removed, "removed"), (self.changed, "changed")) if n]
        return f"{self.step}: {', '.join(parts)}"


@dataclass
class Cassette:
    """One cassette file, open for replay and/or recording as its mode says.

    Use `Cassette.open(path, mode)`; look calls up with `lookup`, add them with `record`, and
    `save()` at the end (a no-op unless something was recorded)."""

    path: Path
    mode: RecordMode
    normalizer: Normalizer = field(default_factory=Normalizer)
    existed: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    interactions: list[StoredInteraction] = field(default_factory=list)
    secret_envs: list[dict[str, str]] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)  # value -> where it came from
    digests: list[str] | None = field(default=None, repr=False)  # request_digest of each interaction, when known

    def __post_init__(self) -> None:
        if not isinstance(self.normalizer, _Redacting):
            # URL credentials are redacted in what is matched as in what is saved, so a redacted
            # recording still replays.
            self.normalizer = _Redacting(self.normalizer.placeholders, self.normalizer.timestamps, self.normalizer.rules)
        # key -> the positions of its unplayed recordings, in order (a list: nearly always one
        # entry, and a deque per key would cost ten times the memory of a large cassette's index)
        self._index: dict[tuple[str, str, str | None, str, str], list[int]] = defaultdict(list)
        self._last: dict[tuple[str, str, str | None, str, str], int] = {}
        self._used: set[int] = set()
        self._steps: dict[tuple[str, str | None], dict[tuple[str, str, str | None, str, str], None]] = defaultdict(dict)
        self._new = 0
        self._pruned = False
        self._before = list(self.interactions)  # as on disk, for `changes()`
        if self.mode is RecordMode.ALL:
            self.interactions = []  # re-record everything: old recordings are dropped on save
        digests = self.digests if self.digests is not None and len(self.digests) == len(self.interactions) else None
        self.digests = None  # only for building the index: recordings added later are hashed as they come
        gc_was_on = gc.isenabled()
        gc.disable()  # the index is many small objects: the cyclic GC would scan them all, repeatedly
        try:
            for i, item in enumerate(self.interactions):
                key = (item.kind, item.server, item.step, item.method, digests[i] if digests is not None else request_digest(item.method, item.request))
                self._index[key].append(i)
                self._steps[(item.kind, item.step)][key] = None
        finally:
            if gc_was_on:
                gc.enable()

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, mode: RecordMode | str | None = None, *, normalizer: Normalizer | None = None, ci: bool = False) -> Cassette:
        """Open `path` (which need not exist yet). Raises `CassetteError` naming the file when
        it is unreadable, corrupt or of another version, and `RecordModeError` for a bad mode."""
        path = Path(path)
        exists = path.exists()
        chosen = decide_mode(mode, exists=exists, ci=ci)
        if not exists and chosen is RecordMode.NONE:
            raise CassetteError(f"{path}: no such cassette, and record mode 'none' cannot create one (record it first)")
        gc_was_on = gc.isenabled()
        gc.disable()  # reading builds many small objects: collections during it cost as much as the read
        try:
            data, digests = _read(path) if exists else (CassetteFile(), None)
            opened = cls(path, chosen, normalizer or Normalizer(), exists, dict(data.meta), list(data.interactions), digests=digests)
            if len(opened.interactions) >= FREEZE_AT:
                # Millions of objects that live as long as the run: moved out of the cyclic GC's
                # generations, so no later full collection scans them (they are acyclic: refcounting
                # still frees them when the cassette goes).
                gc.freeze()
            return opened
        finally:
            if gc_was_on:
                gc.enable()

    # -- the mode, decided once ----------------------------------------------------------------

    @property
    def replays(self) -> bool:
        """Recorded interactions answer calls (every mode but `all`)."""
        return self.mode is not RecordMode.ALL

    @property
    def write_protected(self) -> bool:
        """True when a call with no recording is an error rather than recorded."""
        return self.mode is RecordMode.NONE or (self.mode is RecordMode.ONCE and self.existed)

    # -- replay and record ---------------------------------------------------------------------

    def lookup(self, kind: Kind, server: str, step: str | None, method: str, request: Any) -> StoredInteraction | None:
        """The recording for this live request (its response in live form), or None."""
        if not self.replays:
            return None
        return self.lookup_stored(kind, server, step, method, self.normalizer.to_stored(request))

    def lookup_stored(self, kind: Kind, server: str, step: str | None, method: str, stored: Any) -> StoredInteraction | None:
        """`lookup` for a request already in its stored form (`normalizer.to_stored`)."""
        if not self.replays:
            return None
        key = (kind, server, step, method, request_digest(method, stored))
        queue = self._index.get(key)
        if not queue and key not in self._last:
            return None
        i = queue.pop(0) if queue else self._last[key]
        self._last[key] = i
        self._used.add(i)
        item = self.interactions[i]
        return item.model_copy(update={"response": self.normalizer.to_live(item.response), "notifications": self.normalizer.to_live(item.notifications)})

    def record(self, kind: Kind, server: str, step: str | None, method: str, request: Any, response: Any, notifications: list[Any] | None = None) -> None:
        """Add a live interaction (normalised here). Raises `CassetteMiss` if write-protected."""
        if self.write_protected:
            raise self.miss(kind, server, step, method, request)
        item = StoredInteraction(
            kind=kind, server=server, step=step, method=method,
            request=self.normalizer.to_stored(request), response=self.normalizer.to_stored(response),
            notifications=sorted(self.normalizer.to_stored(notifications or []), key=lambda n: json.dumps(n, sort_keys=True)),
        )
        self.interactions.append(item)
        i = len(self.interactions) - 1
        key = (kind, server, step, method, request_digest(method, item.request))
        self._last[key] = i
        self._steps[(kind, step)][key] = None
        self._used.add(i)
        self._new += 1

    def candidates(self, kind: Kind, step: str | None) -> list[StoredInteraction]:
        """The recordings a call of `step` may replay, in the order `lookup` serves them (each
        request's unplayed recordings in recorded order, then the one that repeats); responses
        in live form. For replayers that match by themselves and take the first match (vcrpy
        under the LLM client), which then `lookup` what they replayed, to mark it used."""
        return [self.interactions[i].model_copy(update={"response": self.normalizer.to_live(self.interactions[i].response)})
                for i in self._candidate_indices(kind, step)]

    def first_candidate(self, kind: Kind, step: str | None, matches: Callable[[StoredInteraction], bool]) -> StoredInteraction | None:
        """The first of `candidates` whose stored form (request as stored) `matches`, its response
        in live form; only that one is converted (a step's candidates may be many and large)."""
        for i in self._candidate_indices(kind, step):
            item = self.interactions[i]
            if matches(item):
                return item.model_copy(update={"response": self.normalizer.to_live(item.response)})
        return None

    def _candidate_indices(self, kind: Kind, step: str | None) -> list[int]:
        if not self.replays:
            return []
        keys = self._steps.get((kind, step), {})
        pending = sorted(i for key in keys for i in self._index.get(key, ()))
        repeats = sorted(self._last[key] for key in keys if key in self._last and not self._index.get(key))
        return pending + repeats

    def use_setup(self, kind: Kind, server: str) -> None:
        """Mark `server`'s session set-up recordings (no step: initialize, tools/list, ...) used:
        a replayer that answers calls without opening a session still replayed that session."""
        for i, item in enumerate(self.interactions):
            if item.kind == kind and item.server == server and item.step is None:
                self._used.add(i)

    def miss(self, kind: Kind, server: str, step: str | None, method: str, request: Any) -> CassetteMiss:
        """The error for a request with no recording: the step, the request, the closest
        recording and the fields that differ."""
        stored = self.normalizer.to_stored(request)
        where = f"step '{step}'" if step else f"{server} session set-up"
        message = f"{self.path}: no recording for {where} ({kind} {server} {method}) in record mode '{self.mode.value}': request {short_json(stored)}"
        closest = self._closest(kind, server, step, method, stored)
        if closest is None:
            return CassetteMiss(message + f"; nothing of kind {kind} is recorded")
        other, diffs = closest
        at = f"step '{other.step}'" if other.step else "session set-up"
        return CassetteMiss(message + f"; closest recording: {at} ({other.kind} {other.server} {other.method}), differing at {', '.join(diffs) or 'nothing visible'}")

    def _closest(self, kind: str, server: str, step: str | None, method: str, stored: Any) -> tuple[StoredInteraction, list[str]] | None:
        from deepdiff import DeepDiff

        best: tuple[int, StoredInteraction, list[str]] | None = None
        for item in self.interactions:
            if item.kind != kind:
                continue
            diff = DeepDiff(item.request, stored)
            fields = sorted(
                pretty_path(p) + (f" ({describe_change(change['old_value'], change['new_value'])})" if kind_ == "values_changed" else "")
                for kind_, group in diff.items()
                for p, change in (group.items() if isinstance(group, dict) else ((p, None) for p in group))
            )
            if item.step != step:
                fields.insert(0, f"step ({item.step} vs {step})")
            if item.method != method or item.server != server:
                fields.insert(0, f"call ({item.server} {item.method} vs {server} {method})")
            if best is None or len(fields) < best[0]:
                best = (len(fields), item, fields)
        return (best[1], best[2][:6]) if best else None

    def unused(self) -> list[StoredInteraction]:
        """Recordings no call used in this run (stale steps, or calls the workflow stopped making)."""
        return [item for i, item in enumerate(self.interactions) if i not in self._used]

    def changes(self) -> list[StepChange]:
        """What saving would change against the file as it was opened, step by step: recordings
        added (a request not recorded before), removed (no longer made) and changed (the same
        request, another response). Steps with no change are left out."""
        if len(self.interactions) == len(self._before) and all(a is b for a, b in zip(self.interactions, self._before)):
            return []  # the very recordings that were read (a replay): nothing to compare

        def keyed(items: list[StoredInteraction]) -> dict[tuple[Any, ...], list[StoredInteraction]]:
            out: dict[tuple[Any, ...], list[StoredInteraction]] = defaultdict(list)
            for item in items:
                out[(item.kind, item.server, item.step, item.method, request_digest(item.method, item.request))].append(item)
            return out

        before, after = keyed(self._before), keyed(self.interactions)
        steps: dict[str, StepChange] = {}
        for key in before.keys() | after.keys():
            old, new = before.get(key, []), after.get(key, [])
            change = steps.setdefault(key[2] or "(set-up)", StepChange(key[2] or "(set-up)"))
            change.added += max(len(new) - len(old), 0)
            change.removed += max(len(old) - len(new), 0)
            change.changed += sum(a.response != b.response or a.notifications != b.notifications for a, b in zip(old, new))
        return sorted((c for c in steps.values() if c.added or c.removed or c.changed), key=lambda c: c.step)

    def prune_unused(self) -> list[StoredInteraction]:
        """Drop the recordings no call used in this run (call it after a replay that completed);
        `save()` then writes the rest. Returns what was dropped."""
        dropped = self.unused()
        if dropped:
            self.interactions = [item for i, item in enumerate(self.interactions) if i in self._used]
            self._used = set(range(len(self.interactions)))
            self._pruned = True
        return dropped

    @property
    def changed(self) -> bool:
        # A first recording is saved even when the run made no call (a workflow of shell
        # steps): its replay then finds a cassette, one that answers nothing.
        return self._new > 0 or self._pruned or (self.mode is RecordMode.ALL and self.existed) or (not self.existed and not self.write_protected)

    # -- saving ------------------------------------------------------------------------------

    def add_credential(self, value: str | None, label: str) -> None:
        """Make `value` (an API key, a header value flowtape was given) a known secret: the
        scan before saving looks for it as for secret-named environment values."""
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            self.credentials.setdefault(value, label)

    def known_secrets(self) -> dict[str, str]:
        """value -> name of every secret this cassette must never hold: secret-named variables
        of this process and of its servers' env, and the credentials it was given."""
        return {**self.credentials, **known_secrets(*self.secret_envs)}

    def save(self, meta: dict[str, Any] | None = None) -> bool:
        """Write the cassette atomically if anything was recorded; returns whether it wrote.
        The meta's URL credentials and server secrets are redacted first.

        Raises:
            LeakedSecretError: a known secret appears anywhere in it, in any form (nothing is
                written, and the cassette's meta is left as it was).
        """
        if not self.changed:
            return False
        merged = redact_meta({**self.meta, **(meta or {})})
        data = CassetteFile(meta=merged, interactions=self.interactions).model_dump(mode="json")
        text = _dump(data, self.path)
        leaks = find_leaks(data, self.known_secrets(), written=text)
        if leaks:
            raise LeakedSecretError(f"{self.path}: refusing to save: a secret appears at {', '.join(leaks[:5])}")
        self.meta = merged
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, text)
        return True


class _Redacting(Normalizer):
    """The cassette's normaliser, with URL credentials (`postgres://u:<redacted>@h`,
    `?api_key=<redacted>`) redacted in every stored string."""

    def text_to_stored(self, text: str) -> str:
        return redact_text(super().text_to_stored(text))


# -- file format ---------------------------------------------------------------------------------

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _BlockDumper(_Dumper):  # type: ignore[misc,valid-type]
    """Multi-line strings as literal blocks: tool results and prompts stay readable in review."""


def _str_representer(dumper: Any, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not value.startswith((" ", "\t")) and all(c == "\n" or c >= " " for c in value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def _is_yaml(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def _dump(data: dict[str, Any], path: Path) -> str:
    if _is_yaml(path):
        return yaml.dump(data, Dumper=_BlockDumper, sort_keys=True, allow_unicode=True, width=120)
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


SIDECAR_FORMAT = "flowtape-cassette-sidecar"
SIDECAR_VERSION = 1


def _read(path: Path) -> tuple[CassetteFile, list[str] | None]:
    """Read a cassette strictly (see `harness._readers`: no aliases, duplicate keys or deep
    nesting), or its cached sidecar when these bytes were read before; returns the file and the
    request digests of its interactions (None: not known). Every problem is a CassetteError
    naming the file and, where it can, the line."""
    data = _bytes(path)
    sidecar = _sidecar_path(data)
    if sidecar is not None:
        del data  # not held while the copy loads (a 100k-interaction file is ~150 MB)
        found = _read_sidecar(sidecar)
        if found is not None:
            return found
        data = _bytes(path)  # no copy, or one that did not validate: read the file itself, strictly
        sidecar = _sidecar_path(data)
    try:
        text = decode(data)
    except ParseError as err:
        raise CassetteError(f"{path}{err.where()}: cannot read cassette: {err}") from None
    del data
    parsed = _parse(path, text)
    if sidecar is not None:
        _write_sidecar(sidecar, parsed)
    return parsed, None


SIDECAR_SMALL_BYTES = 16_000  # files smaller than this keep their copies in a folder of their own
SIDECAR_KEPT = 1_000  # large cassettes' copies kept; past 1.2x this many, the least recently used go
SIDECAR_KEPT_SMALL = 10_000  # small cassettes' copies kept (a few KB each: a suite's worth)
_EVICT_EVERY = 100  # small copies written between two counts of their folder (a count lists it)
_written_small = 0


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise CassetteError(f"{path}: cannot read cassette: {err.strerror or err}") from None


def _sidecar_path(data: bytes) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    folder = folder / "cassettes"
    if len(data) < SIDECAR_SMALL_BYTES:
        folder = folder / "small"
    return folder / f"{hashlib.sha256(data).hexdigest()}.json"


def _read_sidecar(sidecar: Path) -> tuple[CassetteFile, list[str]] | None:
    """The cached copy, or None when there is none or it is not a whole, valid one."""
    try:
        blob = sidecar.read_bytes()
    except OSError:
        return None
    try:
        os.utime(sidecar)  # used now: the folder keeps its most recently used copies
    except OSError:
        pass
    gc_was_on = gc.isenabled()
    gc.disable()  # a large cassette is many small objects; collections during the load cost as much as the load
    try:
        raw = json.loads(blob)
        del blob
        if not (isinstance(raw, dict) and raw.get("format") == SIDECAR_FORMAT and raw.get("version") == SIDECAR_VERSION):
            return None
        digests = raw.get("digests")
        cassette = CassetteFile.model_validate(raw.get("cassette"))
        if not (isinstance(digests, list) and len(digests) == len(cassette.interactions) and all(type(d) is str for d in digests)):
            return None
        return cassette, digests
    except (ValueError, ValidationError):
        return None
    finally:
        if gc_was_on:
            gc.enable()


def _write_sidecar(sidecar: Path, cassette: CassetteFile) -> None:
    """Keep the compact copy of a cassette just read strictly (its requests hashed once here);
    any OSError only costs the next open its speed."""
    import tempfile

    payload = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION,
               "digests": [request_digest(item.method, item.request) for item in cassette.interactions],
               "cassette": cassette.model_dump(mode="json")}
    try:
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=sidecar.parent, prefix=f".{sidecar.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, sidecar)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _evict(sidecar.parent)
    except (OSError, TypeError, ValueError):
        return


def _evict(folder: Path) -> None:
    """Trim `folder` to its `SIDECAR_KEPT*` most recently used copies once it holds 1.2x that
    many. Counting lists the folder, so the small copies' folder is counted only every
    `_EVICT_EVERY` writes of this process (a first run of a large suite writes one per case)."""
    global _written_small
    small = folder.name == "small"
    if small:
        _written_small += 1
        if _written_small % _EVICT_EVERY != 1:
            return
    limit = SIDECAR_KEPT_SMALL if small else SIDECAR_KEPT
    with os.scandir(folder) as entries:
        kept = [e for e in entries if e.name.endswith(".json") and e.is_file()]
    if len(kept) > limit * 1.2:
        for old in sorted(kept, key=lambda e: e.stat().st_mtime)[: len(kept) - limit]:
            Path(old.path).unlink(missing_ok=True)


def _parse(path: Path, text: str) -> CassetteFile:
    gc_was_on = gc.isenabled()
    gc.disable()  # parsing builds many small objects; collections during it cost as much as the parse
    try:
        raw = load_yaml(text) if _is_yaml(path) else load_json(text)
    except ParseError as err:
        raise CassetteError(f"{path}{err.where()}: corrupt cassette ({err})") from None
    finally:
        if gc_was_on:
            gc.enable()
    if not isinstance(raw, dict):
        raise CassetteError(f"{path}: corrupt cassette: expected a mapping with 'version' and 'interactions', got {type(raw).__name__}")
    if "version" not in raw and "interactions" in raw:
        # Keys are saved sorted, so the version is the last line: without it the file was cut short.
        raise CassetteError(f"{path}:{text.count(chr(10)) + (not text.endswith(chr(10)))}: corrupt cassette: no 'version' key by its last line (truncated?)")
    if raw.get("version") != CASSETTE_VERSION:
        raise CassetteError(f"{path}: cassette version {clip(raw.get('version'), 40)} is not supported (expected {CASSETTE_VERSION})")
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return CassetteFile.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{clip(p, 80)}" for p in first["loc"])
        place = locate_yaml(text, first["loc"]) if _is_yaml(path) else None
        where = f":{place[0]}:{place[1]}" if place else ""
        raise CassetteError(f"{path}{where}: corrupt cassette at ${loc}: {clip(first['msg'])}") from None
    finally:
        if gc_was_on:
            gc.enable()


__all__ = ["CASSETTE_VERSION", "Cassette", "CassetteError", "CassetteFile", "CassetteMiss", "LeakedSecretError", "StepChange", "StoredInteraction", "request_digest"]
