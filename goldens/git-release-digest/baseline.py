"""Code mode: the script an agent would write for this task. The 130 KB history stays in the
sandbox; only the counts reach the model, and only the printed JSON returns to the orchestrator."""

import json
import re
from collections import Counter

from flowtape_tools import git, inputs, llm

log = git.git_log(repo_path=inputs["repo"], max_count=inputs.get("limit", 400))
counts = dict(sorted(Counter(re.findall(r"^Message: ([a-z]+)[(:!]", log, flags=re.M)).items()))
reply = llm(
    f"A software release has these commit counts by kind: {json.dumps(counts)}. Write a one-line headline for the release notes.",
    system="You write short release notes.",
    temperature=0,
    max_tokens=120,
    output_schema={"type": "object", "properties": {"headline": {"type": "string", "maxLength": 100}}, "required": ["headline"]},
)
headline = (json.loads(reply) if isinstance(reply, str) else reply)["headline"]
print(json.dumps({"kind_counts": json.dumps(counts), "features": counts.get("feat", 0), "headline": headline}))
