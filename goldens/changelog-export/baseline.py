"""Code mode: the script an agent would write for this task. The ~130 KB history and the ~22 KB
draft made from it stay in the sandbox: the draft goes from one tool's result into the other
tool's arguments without passing through the model."""

import json
import re

from flowtape_tools import fs, git, inputs

SECTIONS = [("feat", "Features"), ("fix", "Fixes"), ("refactor", "Refactoring"), ("docs", "Documentation"),
            ("test", "Tests"), ("chore", "Chores")]
HEAD = re.compile(r"^([a-z]+)(?:\(([^)]*)\))?(!?): (.*)$")


def text(result):
    return result["content"] if isinstance(result, dict) else result


log = git.git_log(repo_path=inputs["repo"], max_count=inputs["limit"])
items: dict[str, list[str]] = {}
total = 0
for commit in re.findall(r"^Commit: (\w+)\n(?:.*\n)*?Message: (.*)$", log, flags=re.M):
    total += 1
    found = HEAD.match(commit[1])
    if found:
        kind, scope, bang, subject = found.groups()
        items.setdefault(kind, []).append(f"- {subject}{f' ({scope})' if scope else ''}{' **BREAKING**' if bang else ''} [{commit[0][:7]}]")
draft = f"# Changelog draft ({total} commits)\n" + "".join(
    f"\n## {title} ({len(items[kind])})\n\n" + "".join(line + "\n" for line in items[kind]) for kind, title in SECTIONS if kind in items)
saved = text(fs.write_file(path=inputs["out"], content=draft.rstrip("\n")))
head = text(fs.read_text_file(path=inputs["out"], head=5))
print(json.dumps({"saved": saved, "head": head}))
