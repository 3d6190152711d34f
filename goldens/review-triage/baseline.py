"""Code mode: the script an agent would write for this task."""

import json

from flowtape_tools import fs, inputs, llm

SENTIMENT = {"type": "object", "properties": {"sentiment": {"enum": ["positive", "negative"]}}, "required": ["sentiment"]}


def text(result):
    return result["content"] if isinstance(result, dict) else result


def judge(review):
    reply = llm(f"Is this customer review positive or negative?\n\n{review}", temperature=0, max_tokens=20, output_schema=SENTIMENT)
    return (json.loads(reply) if isinstance(reply, str) else reply)["sentiment"]


files = text(fs.list_directory(path=inputs["dir"]))
first = text(fs.read_text_file(path=f"{inputs['dir']}/{inputs['first']}"))
second = text(fs.read_text_file(path=f"{inputs['dir']}/{inputs['second']}"))
print(json.dumps({"files": files, "first": judge(first), "second": judge(second)}))
