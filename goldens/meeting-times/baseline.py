"""Code mode: the script an agent would write for this task, starting the way code mode does:
discover the tools (counted as reads), then call them."""

import json

import flowtape_tools as tools

assert "time" in tools.list_servers()
schema = tools.get_tool_schema("time", "convert_time")  # what the agent reads before calling it
assert "target_timezone" in schema["properties"]
now = tools.time.get_current_time(timezone=tools.inputs["home"])
converted = tools.time.convert_time(source_timezone=tools.inputs["home"], time=tools.inputs["time"], target_timezone=tools.inputs["away"])
difference = converted["time_difference"]
print(json.dumps({
    "summary": f"{tools.inputs['time']} in {tools.inputs['home']} is {difference} later in {tools.inputs['away']}",
    "difference": difference,
    "away_dst": converted["target"]["is_dst"],
    "home_now": now["datetime"],
}))
