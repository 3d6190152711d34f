"""Code mode: the script an agent would write for this task: read the notes, parse the action
items in the sandbox, store them in the knowledge graph, look one person up."""

import json
import re

from flowtape_tools import fs, inputs, memory


def text(result):
    return result["content"] if isinstance(result, dict) else result


notes = text(fs.read_text_file(path=f"{inputs['notes']}/meetings/{inputs['meeting']}"))
date = notes.splitlines()[0].split()[-1]
section = re.search(r"^## Action items\n(.*?)(?=^## |\Z)", notes, flags=re.M | re.S)
people: dict[str, list[str]] = {}
items = 0
for who, what in re.findall(r"^- ([^:\n]+): (.*)$", section.group(1) if section else "", flags=re.M):
    people.setdefault(who, []).append(f"action {date}: {what}")
    items += 1
memory.create_entities(entities=[{"name": who, "entityType": "person", "observations": obs} for who, obs in people.items()])
found = memory.open_nodes(names=[inputs["person"]])
print(json.dumps({"meeting": date, "items": items, "found": found["entities"]}))
