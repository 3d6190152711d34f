"""`scripts/build_fixtures.py`: the example suite's git repository and notes, built the same way on
every machine, and large enough that a `git_log` through mcp-server-git is an expensive result."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.live.mcp import LiveMCPClient, parse_mcp_config

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_fixtures.py"
BIN = Path(sys.executable).parent
SUBJECT = re.compile(r"^(feat|fix|docs|refactor|test|chore)\([a-z]+\)!?: \S.*$")
TAGS = {"v0.1.0": 100, "v0.2.0": 250, "v0.3.0": 400}


def build(out: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                          env=env, timeout=120)


def git(repo: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "LC_ALL": "C", "TZ": "UTC"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    outs = tmp_path_factory.mktemp("first") / "fixtures", tmp_path_factory.mktemp("second") / "fixtures"
    for out in outs:
        result = build(out)
        assert result.returncode == 0, result.stderr
        head = json.loads((out / "MANIFEST.json").read_text())["repo"]["head"]
        assert head in result.stdout  # the HEAD hash is printed at the end
    return outs


def manifest(out: Path) -> dict:
    return json.loads((out / "MANIFEST.json").read_text())


def test_two_builds_are_identical(builds: tuple[Path, Path]) -> None:
    first, second = builds
    assert manifest(first) == manifest(second)
    assert (first / "MANIFEST.json").read_bytes() == (second / "MANIFEST.json").read_bytes()
    for out in builds:
        data = manifest(out)
        assert git(out / "repo", "rev-parse", "HEAD").strip() == data["repo"]["head"]
        assert git(out / "repo", "status", "--porcelain") == ""  # the work tree is checked out, clean
        files = sorted(p.relative_to(out / "notes").as_posix() for p in (out / "notes").rglob("*") if p.is_file())
        assert files == sorted(data["notes"]) and len(files) == 14
        for rel, digest in data["notes"].items():
            assert hashlib.sha256((out / "notes" / rel).read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in first.iterdir()) == [".lock", "MANIFEST.json", "notes", "repo"]  # no staging left


def test_history_has_400_conventional_commits_and_three_tags(builds: tuple[Path, Path]) -> None:
    repo = builds[0] / "repo"
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "400"
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    subjects = git(repo, "log", "--format=%s").splitlines()
    assert len(subjects) == 400 and all(SUBJECT.match(s) for s in subjects), [s for s in subjects if not SUBJECT.match(s)]
    assert {s.split("(")[0] for s in subjects} == {"feat", "fix", "docs", "refactor", "test", "chore"}
    lines = git(repo, "log", "--reverse", "--format=%an <%ae>|%cn <%ce>|%aI|%cI").splitlines()
    assert {part for line in lines for part in line.split("|")[:2]} == {"Skylark Fixtures <fixtures@skylark.example>"}
    assert lines[0].split("|")[2:4] == ["2025-01-01T09:00:00+00:00"] * 2
    stamps = [int(t) for t in git(repo, "log", "--reverse", "--format=%at").split()]
    assert {b - a for a, b in zip(stamps, stamps[1:])} == {3600}  # one hour apart
    assert lines[-1].split("|")[2] == "2025-01-18T00:00:00+00:00"  # 399 hours after the first
    assert git(repo, "tag", "--list").split() == list(TAGS)
    for tag, position in TAGS.items():
        assert git(repo, "cat-file", "-t", tag).strip() == "tag"  # annotated
        assert git(repo, "rev-list", "--count", tag).strip() == str(position)
        assert git(repo, "rev-parse", f"{tag}^{{commit}}").strip() == manifest(builds[0])["repo"]["tags"][tag]
    files_per_commit = [int(line.split()[0]) for line in git(repo, "log", "--format=", "--shortstat").splitlines() if line]
    assert len(files_per_commit) == 400 and 2 <= sum(files_per_commit) / 400 <= 5


def test_git_log_is_a_large_tool_result(builds: tuple[Path, Path]) -> None:
    repo = builds[0] / "repo"
    assert len(git(repo, "log").encode()) > 120_000
    assert len(git(repo, "log", "--stat").encode()) > 160_000
    server = {"command": str(BIN / "mcp-server-git"), "args": ["--repository", str(repo)]}
    with LiveMCPClient(parse_mcp_config({"mcpServers": {"git": server}}), startup_timeout=30) as client:
        result = client.call_tool("git", "git_log", {"repo_path": str(repo), "max_count": 400})
    assert not result.is_error and result.structured_content is None
    text = result.content[0]["text"]
    assert text.count("\nCommit: ") == 400 and f"Commit: {manifest(builds[0])['repo']['head']}" in text
    assert result.result_bytes > 100_000  # ~30k tokens: far too much to route through a model


def test_notes_have_fixed_content(builds: tuple[Path, Path]) -> None:
    notes = builds[0] / "notes"
    assert json.loads((notes / "config.json").read_text())["service"] == "skylark"
    assert "highly recommended" in (notes / "reviews" / "review-1042.txt").read_text()
    assert "Would not recommend" in (notes / "reviews" / "review-1043.txt").read_text()


def test_user_git_config_and_environment_change_nothing(builds: tuple[Path, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    hostile = ("[init]\n\tdefaultBranch = trunk\n[user]\n\tname = Mallory\n\temail = m@evil.example\n"
               "[commit]\n\tgpgsign = true\n[core]\n\tautocrlf = true\n[tag]\n\tgpgSign = true\n")
    (home / ".gitconfig").write_text(hostile)
    (home / ".config" / "git" / "config").write_text(hostile)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "TZ": "Asia/Kolkata",
           "GIT_AUTHOR_NAME": "Mallory", "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z", "GIT_DIR": str(tmp_path / "nowhere")}
    out = tmp_path / "fixtures"
    result = build(out, env)
    assert result.returncode == 0, result.stderr
    assert manifest(out) == manifest(builds[0])


def test_rebuild_starts_from_scratch_and_guards_foreign_dirs(builds: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "fixtures"
    assert build(out).returncode == 0
    (out / "notes" / "todo.md").write_text("tampered\n")
    (out / "notes" / "extra.txt").write_text("left over\n")
    (out / "repo" / "README.md").write_text("dirty\n")
    (out / ".build-stale").mkdir()  # what a killed run leaves behind
    result = build(out)
    assert result.returncode == 0, result.stderr
    assert manifest(out) == manifest(builds[0])
    assert not (out / "notes" / "extra.txt").exists() and not (out / ".build-stale").exists()
    assert git(out / "repo", "status", "--porcelain") == ""

    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me\n")
    result = build(foreign)
    assert result.returncode != 0 and "refusing" in result.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["precious.txt"]
