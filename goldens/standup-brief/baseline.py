"""Code mode: the script an agent would write for this task. It needs two of the seven servers;
the stubs of all seven are generated, but only what it prints returns to the orchestrator."""

import json
import re

from flowtape_tools import git, inputs, time

log = git.git_log(repo_path=inputs["repo"], max_count=inputs["changes"])
subjects = re.findall(r"^Message: (.*)$", log, flags=re.M)
when = time.convert_time(source_timezone=inputs["home"], time=inputs["at"], target_timezone=inputs["away"])
away_at = re.search(r"T(\d{2}:\d{2})", when["target"]["datetime"]).group(1)
brief = (f"Standup {inputs['at']} {inputs['home']} ({away_at} {inputs['away']}, {when['time_difference']}); "
         f"the latest {inputs['changes']} commits:")
print(json.dumps({"brief": brief, "changes": "\n".join(subjects), "difference": when["time_difference"]}))
