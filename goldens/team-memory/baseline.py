"""Code mode: the script an agent would write for this task."""

import json

from flowtape_tools import inputs, memory

lead, reviewer, project = inputs["lead"], inputs["reviewer"], inputs["project"]
memory.create_entities(entities=[
    {"name": lead, "entityType": "person", "observations": [f"works on {project}"]},
    {"name": reviewer, "entityType": "person", "observations": ["reviews releases"]},
    {"name": project, "entityType": "project", "observations": ["a Python CLI"]},
])
memory.create_relations(relations=[
    {"from": lead, "to": project, "relationType": "leads"},
    {"from": reviewer, "to": project, "relationType": "reviews"},
])
memory.add_observations(observations=[{"entityName": project, "contents": ["release v0.3.0 shipped"]}])
found = memory.search_nodes(query=project)
print(json.dumps({"found": found["entities"], "relations": found["relations"]}))
