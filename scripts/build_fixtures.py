#!/usr/bin/env python3
"""Build the deterministic fixtures the example suite's MCP tasks run against (stdlib only).

    python scripts/build_fixtures.py [--out DIR]      # default: .fixtures/ at the repository root

Writes into DIR:

- `repo/`: a git repository of a small fictional Python project ("skylark"), 400 commits with
  conventional-commit subjects (`type(scope): subject`, bodies and trailers), one hour apart from
  2025-01-01T09:00:00Z, on branch `main`, with annotated tags v0.1.0 (commit 100), v0.2.0 (250)
  and v0.3.0 (400). Its whole history is a `git fast-import` stream generated from
  `random.Random(7)` with a fixed identity and fixed dates, run with no user or system git
  config, so every machine gets the same HEAD hash.
- `notes/`: small text, markdown and JSON files with fixed content (four meeting notes with
  action items, a todo list, six customer reviews, a config) for filesystem-server tasks.
- `MANIFEST.json`: the HEAD hash, the tags, and a sha256 per notes file. It is written last:
  a DIR without it is incomplete (a build in progress or one that died) and must not be used.

Every run rebuilds from scratch. The new tree is built in `DIR/.build-*` first; the old
MANIFEST.json is removed before the old `repo/` and `notes/` are replaced, so at no moment does
DIR look complete while holding a mix or a half-built fixture. Concurrent runs on one DIR are
serialised by a lock file. Prints one line with the HEAD hash at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / ".fixtures"

SEED = 7
COMMITS = 400
TAGS = {100: "v0.1.0", 250: "v0.2.0", 400: "v0.3.0"}
START = 1735722000  # 2025-01-01T09:00:00Z
STEP = 3600  # one hour between commits
AUTHOR = "Skylark Fixtures <fixtures@skylark.example>"
BRANCH = "main"
MANIFEST_VERSION = 1

# -- the fictional project ---------------------------------------------------------------------

MODULES = ["cli", "config", "client", "cache", "parser", "render", "retry", "auth", "storage"]
DOCS = {"cli": "docs/usage.md", "config": "docs/configuration.md", "client": "docs/api.md",
        "cache": "docs/caching.md", "auth": "docs/authentication.md"}

FEATURES = {
    "cli": ["a --json flag to the list command", "shell completion for bash and zsh",
            "a --quiet option that suppresses progress output", "an `inspect` subcommand",
            "colored diff output behind --color", "a --since filter on the history command"],
    "config": ["environment variable overrides for every setting", "per-project config files",
               "validation of unknown keys with suggestions", "a `config show` dump in TOML",
               "profiles selected with SKYLARK_PROFILE", "include directives in config files"],
    "client": ["HTTP/2 support behind an opt-in flag", "request hooks for custom headers",
               "streaming responses for large downloads", "a configurable connect timeout",
               "pagination helpers for list endpoints", "proxy support from the environment"],
    "cache": ["TTL-based eviction for cached responses", "a size limit with LRU eviction",
              "cache warm-up from a snapshot file", "per-endpoint cache policies",
              "a `cache prune` command", "stale-while-revalidate reads"],
    "parser": ["support for multi-document YAML input", "a strict mode that rejects duplicate keys",
               "line and column numbers in parse errors", "comments in JSON input",
               "a streaming parser for large payloads", "date parsing with time zones"],
    "render": ["a Markdown table renderer", "a compact output mode", "terminal width detection",
               "custom templates for report output", "CSV export", "pagination of long output"],
    "retry": ["exponential backoff with jitter", "a retry budget per session",
              "Retry-After header support", "per-status retry policies",
              "a circuit breaker for failing hosts", "retry metrics in debug output"],
    "auth": ["OAuth device-flow login", "token refresh before expiry", "keyring-backed credential storage",
             "API key rotation warnings", "scoped tokens for read-only commands", "a `logout --all` command"],
    "storage": ["atomic writes for the state file", "a SQLite backend", "compression of archived records",
                "a schema migration step on startup", "export to newline-delimited JSON",
                "file locking for concurrent processes"],
}
PROBLEMS = {
    "cli": ["a crash when the terminal is not a TTY", "exit code 0 on invalid arguments",
            "garbled output when stdout is piped", "help text for hidden subcommands",
            "a traceback on Ctrl-C during downloads"],
    "config": ["tilde expansion in configured paths", "a boolean parsed from the string 'false' as true",
               "profile settings leaking into the default profile", "a crash on an empty config file",
               "precedence of environment variables over files"],
    "client": ["a connection leak on redirected requests", "double-encoded query parameters",
               "timeouts ignored for streaming responses", "a missing User-Agent header",
               "retries of non-idempotent requests"],
    "cache": ["a race when two readers expire the same entry", "cache keys ignoring query parameters",
              "unbounded growth of the index file", "stale entries served after logout",
              "a corrupt cache entry after an interrupted write"],
    "parser": ["an off-by-one in error column numbers", "quadratic time on deeply nested input",
               "a crash on a UTF-8 byte order mark", "numbers with exponents parsed as strings",
               "lost precision for large integers"],
    "render": ["misaligned columns with wide characters", "trailing whitespace in table output",
               "ANSI codes written to files", "truncation of the last row", "wrong pluralisation of counts"],
    "retry": ["a retry loop that never gives up on 429", "jitter exceeding the maximum delay",
              "sleeping after the final attempt", "backoff reset between sessions",
              "swallowed errors from the last attempt"],
    "auth": ["token refresh racing with an in-flight request", "credentials printed in debug logs",
             "expired tokens accepted from the keyring", "a misleading error on a revoked key",
             "case-sensitive comparison of scopes"],
    "storage": ["a partial state file after a full disk", "file handles left open on error",
                "wrong permissions on newly created files", "a lost update under concurrent writers",
                "timestamps stored in local time"],
}
CONSEQUENCES = ["which surprised users running it from scripts", "which made the nightly job fail",
                "which only showed up on slow networks", "which was reported by two users this week",
                "which hid the real error behind a generic message", "which doubled the memory use",
                "which broke the example in the README", "which made the integration tests flaky"]
DETAILS = ["The change is covered by new unit tests.", "No public API changes.",
           "The old behaviour stays available behind a deprecated option for one release.",
           "Benchmarks show no measurable slowdown.", "The docs are updated to match.",
           "This keeps the default behaviour unchanged for existing users.",
           "Error messages now name the offending value.", "The fix is small but touches a hot path."]
FEATURE_LEADS = ["Users asked for {thing} in the issue tracker.", "Adds {thing}.",
                 "This introduces {thing}, as discussed in the design notes.",
                 "Teams running skylark in CI wanted {thing}."]
FEATURE_TAILS = ["It is off by default and documented in the usage guide.",
                 "The implementation reuses the existing {module} helpers.",
                 "Configuration lives next to the other {module} settings.",
                 "A follow-up will wire it into the remaining commands."]
REFACTORS = ["extract the {module} helpers into their own functions", "simplify error handling in {module}",
             "rename internal {module} types for clarity", "split the {module} module into smaller parts",
             "remove dead code from {module}", "replace ad-hoc dicts with dataclasses in {module}",
             "inline a one-use {module} wrapper", "type-annotate the {module} module"]
TESTS = ["cover edge cases in {module}", "add regression tests for {module}", "parametrize the {module} tests",
         "stabilise a flaky {module} test", "speed up the {module} test fixtures", "add property tests for {module}"]
DOC_CHANGES = ["document {module} options", "clarify the {module} section", "add examples for {module}",
               "fix typos in the {module} guide", "explain {module} defaults", "reorganise the {module} page"]
PINS = {"httpx": "0.27.0", "pydantic": "2.6.0", "pytest": "8.0.0", "ruff": "0.3.0", "hypothesis": "6.98.0"}
RUNTIME_DEPS = ("httpx", "pydantic")  # floors in pyproject.toml; the rest are pins in requirements-dev.txt
CI_STEPS = [("cache pip downloads in CI", "      - uses: actions/cache@v4"),
            ("run the tests on Python 3.13 too", "      - run: python3.13 -m pytest -q"),
            ("add a lint job", "      - run: ruff check ."),
            ("upload coverage reports", "      - run: pytest -q --cov=skylark --cov-report=xml"),
            ("type-check the package in CI", "      - run: mypy src"),
            ("build the docs in CI", "      - run: python -m mkdocs build --strict"),
            ("check the changelog format", "      - run: python scripts/check_changelog.py"),
            ("smoke-test the installed CLI", "      - run: skylark --version")]
COAUTHORS = ["Grace Hopper <grace@skylark.example>", "Alan Turing <alan@skylark.example>",
             "Katherine Johnson <katherine@skylark.example>", "Edsger Dijkstra <edsger@skylark.example>"]
WORDS = ["value", "limit", "entry", "record", "token", "path", "request", "response", "options", "state",
         "key", "payload", "header", "index", "budget", "window", "snapshot", "profile", "session", "row"]
VERBS = ["load", "parse", "check", "build", "apply", "merge", "resolve", "format", "encode", "fetch",
         "store", "expire", "refresh", "validate", "normalise", "split", "collect", "render", "sort", "read"]


def _initial_files() -> dict[str, list[str]]:
    files: dict[str, list[str]] = {
        "README.md": ["# skylark", "", "A small command-line client for the Skylark API.", "",
                      "## Install", "", "    pip install skylark", "", "## Usage", "", "    skylark list --json", ""],
        "CHANGELOG.md": ["# Changelog", ""],
        "pyproject.toml": ["[project]", 'name = "skylark"', 'version = "0.0.0"', 'requires-python = ">=3.10"',
                           "dependencies = [", *(f'    "{p}>={PINS[p]}",' for p in RUNTIME_DEPS), "]", ""],
        "requirements-dev.txt": [f"{p}=={v}" for p, v in PINS.items() if p not in RUNTIME_DEPS],
        ".github/workflows/ci.yml": ["name: ci", "on: [push, pull_request]", "jobs:", "  test:",
                                     "    runs-on: ubuntu-latest", "    steps:", "      - uses: actions/checkout@v4",
                                     "      - run: pip install -e . -r requirements-dev.txt", "      - run: pytest -q"],
        "src/skylark/__init__.py": ['"""skylark: a small client for the Skylark API."""', "", '__version__ = "0.0.0"'],
        "docs/index.md": ["# skylark documentation", "", "Start with the usage guide.", ""],
    }
    for module in MODULES:
        files[f"src/skylark/{module}.py"] = [f'"""The {module} layer of skylark."""', "", "from __future__ import annotations", ""]
        files[f"tests/test_{module}.py"] = [f"from skylark import {module}", ""]
    for module, doc in DOCS.items():
        files[doc] = [f"# {module.capitalize()}", "", f"How skylark handles {module}.", ""]
    return files


class _History:
    """Generates the project's commits from one seeded random stream."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.files = _initial_files()
        self.issue = 11
        self.counters: dict[str, int] = {}
        self.since_release: list[str] = []
        self.pins = dict(PINS)
        self.version = (0, 0, 0)

    def _fn(self) -> str:
        rng = self.rng
        return f"{rng.choice(VERBS)}_{rng.choice(WORDS)}"

    def _unique(self, base: str) -> str:
        self.counters[base] = self.counters.get(base, 0) + 1
        return base if self.counters[base] == 1 else f"{base}_{self.counters[base]}"

    def _block(self, path: str, topic: str) -> list[str]:
        """A few plausible new lines for `path`, about `topic`."""
        rng = self.rng
        if path.endswith(".py"):
            name = self._unique(self._fn())
            arg, other = rng.sample(WORDS, 2)
            if path.startswith("tests/"):
                return [f"def test_{name}():", f"    # {topic}", f"    assert {name.split('_')[0]}({arg!r}) is not None", ""]
            return [f"def {name}({arg}, *, {other}={rng.randint(1, 64)}):", f'    """{topic[0].upper()}{topic[1:]}."""',
                    f"    if {arg} is None:", f"        raise ValueError('{arg} is required')",
                    f"    return _{rng.choice(VERBS)}({arg}, {other})", ""]
        if path.endswith(".md"):
            return [f"## {topic[0].upper()}{topic[1:]}", "", f"{rng.choice(DETAILS)} {rng.choice(DETAILS)}", ""]
        raise ValueError(f"no block generator for {path}")

    def _edit(self, path: str, topic: str) -> None:
        """Change `path` as a commit about `topic` would: add a block, rework a line, drop a block.

        Python files are `def` blocks and docs pages `## ` sections after a fixed header; the
        README only grows at the end (its own sections stay). Every call changes the file.
        """
        rng, lines = self.rng, self.files.setdefault(path, [])
        before = list(lines)
        marker = "def " if path.endswith(".py") else "## " if path.startswith("docs/") else None
        for _ in range(rng.randint(1, 2)):
            op = rng.random()
            starts = [i for i, line in enumerate(lines) if marker and line.startswith(marker)]
            if marker is None or op < 0.55 or len(starts) < 3:
                at = len(lines) if rng.random() < 0.7 or not starts else rng.choice(starts)
                lines[at:at] = self._block(path, topic)
            elif op < 0.9:  # rework one line of a block's body
                body = [i for i in range(starts[0], len(lines))
                        if lines[i].strip() and not lines[i].startswith(marker) and '"""' not in lines[i]]
                at = rng.choice(body)
                if path.endswith(".md"):
                    lines[at] = f"{rng.choice(DETAILS)} {rng.choice(DETAILS)}"
                else:
                    indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
                    lines[at] = f"{indent}{lines[at].strip().split('  #')[0]}  # {rng.choice(WORDS)}: {topic}"
            else:  # drop one block
                begin = rng.choice(starts)
                end = next((i for i in starts if i > begin), len(lines))
                del lines[begin:end]
        if lines == before:
            lines += self._block(path, topic)

    def _trailers(self, kind: str) -> list[str]:
        rng, out = self.rng, []
        if rng.random() < 0.55:
            self.issue += rng.randint(1, 4)
            out.append(f"{'Fixes' if kind == 'fix' else 'Refs'}: #{self.issue}")
        if rng.random() < 0.15:
            out.append(f"Co-authored-by: {rng.choice(COAUTHORS)}")
        return out

    def commit(self, n: int) -> tuple[str, list[str]]:
        """The message and the touched paths of commit `n` (1-based); edits `self.files`."""
        rng = self.rng
        if n == 1:
            return ("chore(repo): initial project skeleton\n\nSet up the package layout, tests, docs and CI.\n",
                    sorted(self.files))
        if n in TAGS:
            return self._release(TAGS[n])
        kind = rng.choices(["feat", "fix", "docs", "refactor", "test", "chore"], [28, 30, 10, 13, 11, 8])[0]
        module = rng.choice(MODULES)
        breaking = False
        if kind == "feat":
            thing = rng.choice(FEATURES[module])
            breaking = rng.random() < 0.04
            subject, scope = f"add {thing}", module
            body = [f"{rng.choice(FEATURE_LEADS).format(thing=thing)} "
                    f"{rng.choice(FEATURE_TAILS).format(module=module)} {rng.choice(DETAILS)}"]
            paths = [f"src/skylark/{module}.py", f"tests/test_{module}.py"]
            if module in DOCS and rng.random() < 0.6:
                paths.append(DOCS[module])
        elif kind == "fix":
            problem = rng.choice(PROBLEMS[module])
            subject, scope = f"fix {problem}", module
            body = [f"Previously the {module} code had {problem}, {rng.choice(CONSEQUENCES)}.",
                    f"{rng.choice(DETAILS)} {rng.choice(DETAILS)}"]
            paths = [f"src/skylark/{module}.py", f"tests/test_{module}.py"]
        elif kind == "docs":
            subject, scope = rng.choice(DOC_CHANGES).format(module=module), module
            body = [rng.choice(DETAILS)]
            paths = [DOCS.get(module, "docs/index.md")] + (["README.md"] if rng.random() < 0.3 else [])
        elif kind == "refactor":
            subject, scope = rng.choice(REFACTORS).format(module=module), module
            body = [f"No behaviour change. {rng.choice(DETAILS)}"]
            others = rng.sample([m for m in MODULES if m != module], rng.randint(0, 2))
            paths = [f"src/skylark/{m}.py" for m in [module, *others]]
        elif kind == "test":
            subject, scope = rng.choice(TESTS).format(module=module), module
            body = [rng.choice(DETAILS)]
            paths = [f"tests/test_{module}.py"] + ([f"tests/test_{rng.choice(MODULES)}.py"] if rng.random() < 0.3 else [])
        else:
            scope = "deps" if rng.random() < 0.65 else "ci"
            subject, paths = self._deps() if scope == "deps" else self._ci()
            body = [rng.choice(DETAILS)] if rng.random() < 0.5 else []
        if kind in ("feat", "fix", "refactor") and rng.random() < 0.5:
            paths.append(f"src/skylark/{rng.choice(MODULES)}.py")  # a small knock-on change elsewhere
        paths = sorted(set(paths))
        if kind != "chore":  # chores edited their files already
            for path in paths:
                self._edit(path, subject)
        head = f"{kind}({scope}){'!' if breaking else ''}: {subject}"
        if kind in ("feat", "fix"):
            self.since_release.append(head)
        paragraphs = [textwrap.fill(p, 72) for p in body]
        if breaking:
            paragraphs.append(textwrap.fill(f"BREAKING CHANGE: the {module} defaults changed; "
                                            f"set the old value explicitly to keep the previous behaviour.", 72))
        trailers = self._trailers(kind)
        if trailers:
            paragraphs.append("\n".join(trailers))
        return "\n\n".join([head, *paragraphs]) + "\n", paths

    def _deps(self) -> tuple[str, list[str]]:
        """Bump one pinned package: a runtime floor in pyproject.toml or a dev pin."""
        rng = self.rng
        package = rng.choice(sorted(self.pins))
        major, minor, patch = map(int, self.pins[package].split("."))
        new = f"{major}.{minor + 1}.0" if rng.random() < 0.4 else f"{major}.{minor}.{patch + 1}"
        if package in RUNTIME_DEPS:
            path, old_line, new_line = "pyproject.toml", f'    "{package}>={self.pins[package]}",', f'    "{package}>={new}",'
        else:
            path, old_line, new_line = "requirements-dev.txt", f"{package}=={self.pins[package]}", f"{package}=={new}"
        lines = self.files[path]
        lines[lines.index(old_line)] = new_line
        self.pins[package] = new
        return f"{'pin' if package in ('ruff', 'hypothesis') else 'bump'} {package} to {new}", [path]

    def _ci(self) -> tuple[str, list[str]]:
        """Add the next CI step, or once all are there, move the runner image."""
        lines = self.files[".github/workflows/ci.yml"]
        for subject, step in CI_STEPS:
            if step not in lines:
                lines.append(step)
                return subject, [".github/workflows/ci.yml"]
        at = next(i for i, line in enumerate(lines) if line.startswith("    runs-on:"))
        image = "ubuntu-22.04" if lines[at].endswith(("latest", "24.04")) else "ubuntu-24.04"
        lines[at] = f"    runs-on: {image}"
        return f"pin the CI runner to {image}", [".github/workflows/ci.yml"]

    def _release(self, tag: str) -> tuple[str, list[str]]:
        version = tag[1:]
        old = ".".join(map(str, self.version))
        self.version = tuple(int(p) for p in version.split("."))
        self.files["pyproject.toml"] = [line.replace(f'"{old}"', f'"{version}"') if line.startswith("version") else line
                                        for line in self.files["pyproject.toml"]]
        self.files["src/skylark/__init__.py"][-1] = f'__version__ = "{version}"'
        section = [f"## {version}", ""]
        for kind, title in (("feat", "Features"), ("fix", "Fixes")):
            items = list(dict.fromkeys(h.split(": ", 1)[1] + f" ({h[h.index('(') + 1:h.index(')')]})"
                                       for h in self.since_release if h.startswith(kind)))
            if items:
                section += [f"### {title}", "", *(f"- {item}" for item in items), ""]
        self.files["CHANGELOG.md"][2:2] = section
        self.since_release = []
        return (f"chore(release): {tag}\n\nRelease {version}: bump the version and update the changelog.\n",
                ["CHANGELOG.md", "pyproject.toml", "src/skylark/__init__.py"])


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import_stream() -> bytes:
    """The whole history as a `git fast-import` stream: commits on `main`, then annotated tags."""
    history, out = _History(), []
    for n in range(1, COMMITS + 1):
        message, paths = history.commit(n)
        when = f"{START + (n - 1) * STEP} +0000"
        out += [f"commit refs/heads/{BRANCH}\nmark :{n}\n".encode(),
                f"author {AUTHOR} {when}\ncommitter {AUTHOR} {when}\n".encode(), _data(message.encode())]
        if n > 1:
            out.append(f"from :{n - 1}\n".encode())
        for path in paths:
            content = ("\n".join(history.files[path]).rstrip("\n") + "\n").encode()
            out += [f"M 100644 inline {path}\n".encode(), _data(content)]
        out.append(b"\n")
    for n, tag in TAGS.items():
        when = f"{START + (n - 1) * STEP} +0000"
        out += [f"tag {tag}\nfrom :{n}\ntagger {AUTHOR} {when}\n".encode(), _data(f"skylark {tag[1:]}\n".encode())]
    out.append(b"done\n")
    return b"".join(out)


# -- notes ---------------------------------------------------------------------------------------

NOTES: dict[str, str] = {
    "README.md": """\
# Team notes

Shared notes for the skylark project: meeting minutes, the running todo list, the release
plan, customer feedback and the deployment config.
""",
    "meetings/2025-01-06-weekly.md": """\
# Weekly sync, 2025-01-06

Attendees: Grace, Alan, Katherine, Edsger

## Decisions
- Ship 0.1.0 once the retry budget lands; no new features until then.
- Cache entries get a default TTL of 300 seconds.

## Action items
- Alan: finish exponential backoff with jitter (due 2025-01-10).
- Katherine: write the caching guide.
- Grace: triage the three open parser crashes.
""",
    "meetings/2025-01-13-weekly.md": """\
# Weekly sync, 2025-01-13

Attendees: Grace, Alan, Edsger

## Decisions
- 0.1.0 is tagged; 0.2.0 focuses on authentication (device flow, token refresh).
- The SQLite storage backend is postponed to 0.3.0.

## Action items
- Edsger: prototype the OAuth device flow.
- Grace: add line and column numbers to parse errors.
- Alan: review the CI matrix for Python 3.13.
""",
    "meetings/2025-01-20-weekly.md": """\
# Weekly sync, 2025-01-20

Attendees: Grace, Katherine, Edsger, Alan

## Decisions
- 0.3.0 is tagged; the next cycle is for bug fixes only.
- Parse errors keep their line and column numbers in every output mode.

## Action items
- Katherine: migrate the state file to the SQLite backend (due 2025-01-24).
- Grace: write the 0.3.0 release notes.
- Edsger: fix the token refresh race before the next release.
- Katherine: add a storage section to the caching guide.
""",
    "meetings/2025-01-27-retro.md": """\
# Retrospective, 2025-01-27

Attendees: Alan, Grace, Katherine

## What went well
- Three releases in three weeks, each on its planned date.
- The retry budget stopped the nightly job from failing.

## What did not
- Two regressions in the renderer reached users.

## Action items
- Alan: add a smoke test of the installed CLI to CI.
- Grace: run a bug bash on the renderer before 0.3.1.
- Alan: document how to roll back a release.
- Katherine: set up a weekly dependency update.
- Grace: publish the release checklist.
""",
    "todo.md": """\
# Todo

- [x] Exponential backoff with jitter
- [x] Caching guide
- [ ] OAuth device-flow login
- [ ] Token refresh before expiry
- [ ] Markdown table renderer
- [ ] SQLite storage backend
- [x] Line and column numbers in parse errors
""",
    "release-plan.md": """\
# Release plan

| version | focus | target date |
|---|---|---|
| 0.1.0 | retries, caching | 2025-01-05 |
| 0.2.0 | authentication | 2025-01-11 |
| 0.3.0 | storage, rendering | 2025-01-17 |
""",
    "reviews/review-1042.txt": """\
Review #1042 - 5 stars - posted 2025-01-08

Skylark has completely changed how our team works with the API. Setup took two minutes, the
--json output drops straight into our scripts, and the retries just work on our flaky network.
Support answered my question within the hour. Fantastic tool, highly recommended!
""",
    "reviews/review-1043.txt": """\
Review #1043 - 1 star - posted 2025-01-09

Very disappointed. The CLI crashed every time I piped its output, the login kept expiring after a
few minutes, and the docs did not explain any of it. I lost an afternoon and went back to curl.
Would not recommend until these basic problems are fixed.
""",
    "reviews/review-1044.txt": """\
Review #1044 - 4 stars - posted 2025-01-12

Solid little client. The table output is easy to read and the device login worked on the first
try. I would like a way to export to CSV, but for day-to-day use it does everything we need.
""",
    "reviews/review-1045.txt": """\
Review #1045 - 2 stars - posted 2025-01-14

The new cache keeps serving stale data after I log out, and there is no command to clear it. I
had to delete files by hand. Support has not answered in three days.
""",
    "reviews/review-1046.txt": """\
Review #1046 - 5 stars - posted 2025-01-19

Upgrading to 0.3.0 was painless and the SQLite backend made our CI jobs noticeably faster. The
changelog explained every change. Great work by the maintainers.
""",
    "reviews/review-1047.txt": """\
Review #1047 - 1 star - posted 2025-01-21

The renderer cuts off the last row of every table, so our reports were wrong for a week before
anyone noticed. A tool that silently drops data is worse than no tool.
""",
    "config.json": """\
{
  "service": "skylark",
  "environment": "staging",
  "api_base": "https://api.skylark.example/v2",
  "timeout_seconds": 30,
  "retry": {"max_attempts": 5, "backoff": "exponential", "jitter": true},
  "cache": {"enabled": true, "ttl_seconds": 300, "max_entries": 10000},
  "features": ["device-login", "json-output", "table-render"]
}
""",
}


# -- building ------------------------------------------------------------------------------------


def _git_env(home: Path) -> dict[str, str]:
    """An environment where no user, system or inherited git setting can change the result."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    name, email = AUTHOR[:AUTHOR.index(" <")], AUTHOR[AUTHOR.index("<") + 1:-1]
    when = f"@{START} +0000"
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1",
               GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C", TZ="UTC",
               GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_AUTHOR_DATE=when,
               GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email, GIT_COMMITTER_DATE=when)
    return env


def _git(env: dict[str, str], *args: str, cwd: Path, stdin: bytes | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True)
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SystemExit(f"build_fixtures: git {args[0]} failed: {detail[-1] if detail else result.returncode}")
    return result.stdout.decode()


def build_repo(repo: Path, home: Path) -> dict[str, object]:
    env = _git_env(home)
    _git(env, "-c", f"init.defaultBranch={BRANCH}", "init", "-q", str(repo), cwd=repo.parent)
    _git(env, "fast-import", "--quiet", "--done", cwd=repo, stdin=fast_import_stream())
    _git(env, "reset", "-q", "--hard", BRANCH, cwd=repo)
    head = _git(env, "rev-parse", "HEAD", cwd=repo).strip()
    count = int(_git(env, "rev-list", "--count", "HEAD", cwd=repo))
    tags = {tag: _git(env, "rev-parse", f"{tag}^{{commit}}", cwd=repo).strip() for tag in TAGS.values()}
    if count != COMMITS or _git(env, "symbolic-ref", "HEAD", cwd=repo).strip() != f"refs/heads/{BRANCH}":
        raise SystemExit(f"build_fixtures: expected {COMMITS} commits on {BRANCH}, got {count}")
    return {"head": head, "branch": BRANCH, "commits": count, "tags": tags}


def build_notes(notes: Path) -> dict[str, str]:
    digests = {}
    for rel, text in sorted(NOTES.items()):
        path = notes / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(data)
        digests[rel] = hashlib.sha256(data).hexdigest()
    return digests


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


OURS = {"repo", "notes", "MANIFEST.json", ".lock"}


def build(out: Path) -> dict[str, object]:
    """Rebuild the fixtures in `out` from scratch; returns the manifest."""
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise SystemExit(f"build_fixtures: {out} exists and is not a directory")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OURS and not p.name.startswith(".build-"))
        if foreign:
            raise SystemExit(f"build_fixtures: {out} holds files the fixtures did not put there "
                             f"({', '.join(foreign[:3])}); refusing to rebuild over them")
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        for stale in out.glob(".build-*"):  # left by a run that was killed; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
        try:
            (staging / "home").mkdir()
            (staging / "repo").mkdir()
            manifest = {"version": MANIFEST_VERSION, "repo": build_repo(staging / "repo", staging / "home"),
                        "notes": build_notes(staging / "notes")}
            # Swap in: the manifest goes first and comes back last, so a reader never sees a
            # MANIFEST.json next to a mixed or half-moved tree.
            (out / "MANIFEST.json").unlink(missing_ok=True)
            for name in ("repo", "notes"):
                if (out / name).exists():
                    shutil.rmtree(out / name)
                os.replace(staging / name, out / name)
            text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
            (staging / "MANIFEST.json").write_text(text, encoding="utf-8")
            os.replace(staging / "MANIFEST.json", out / "MANIFEST.json")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to build (default: {DEFAULT_OUT.relative_to(ROOT)}/ at the repository root)")
    args = parser.parse_args(argv)
    if shutil.which("git") is None:
        print("build_fixtures: git not found on PATH", file=sys.stderr)
        return 1
    manifest = build(args.out)
    repo = manifest["repo"]
    assert isinstance(repo, dict)
    print(f"{args.out.resolve()}: repo HEAD {repo['head']} ({repo['commits']} commits, "
          f"tags {' '.join(repo['tags'])}), {len(manifest['notes'])} notes files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
