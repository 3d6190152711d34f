"""A large run made up for the report's size tests and `benchmarks/report_size.py`: N cases over
ten tasks, each case three steps (an MCP call, a shell step, a model call) with a stored trace,
its checks, and one case in seven failing a check. The figures are invented; the rows have the
ledger's own schema (written through `harness.accounting._schema.connect`) and the traces the
runner's layout, so the report reads them as it reads a real run.

    ledger, run_id = synthetic_run(tmp_path, 2_000)
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from harness.accounting._schema import connect

__all__ = ["TASKS", "failing", "synthetic_run"]

TASKS = tuple(f"task-{k:02d}" for k in range(10))
RUN = "20261202T000000Z-synthetic"


def failing(i: int) -> bool:
    """Whether case `i` fails its `steps.reply` check."""
    return i % 7 == 3


def _trace(i: int, task: str) -> dict:
    prompt = f"Summarise the {i} rows of {task} in one line. Rows: " + ", ".join(f"row {k}: {k * i % 97}" for k in range(12))
    return {
        "inputs": {"n": i},
        "outputs": {"summary": f"summary {i}"},
        "steps": [
            {"step_id": "fetch", "kind": "mcp", "params": {"query": f"SELECT * FROM t WHERE id = {i}"}, "output": {"rows": [i, i + 1]},
             "duration_ms": 12.0, "tool": {"server": "db", "tool": "query", "result_tokens": 40}},
            {"step_id": "shape", "kind": "shell", "params": {"command": "jq -c .rows"}, "output": {"stdout": f"[{i},{i + 1}]", "exit_code": 0},
             "duration_ms": 3.0},
            {"step_id": "reply", "kind": "llm", "params": {"prompt": prompt}, "output": {"response": f"case {i}: {i} and {i + 1}"},
             "duration_ms": 40.0, "llm": {"model": "smollm2-135m", "prompt_tokens": 90, "completion_tokens": 12}},
        ],
    }


def synthetic_run(folder: Path, n: int) -> tuple[Path, str]:
    """A ledger at `folder/ledger.duckdb` with one run of `n` cases (approach `ir`) and their traces
    under `folder/traces`; returns (ledger, run id)."""
    ledger, traces = folder / "ledger.duckdb", folder / "traces"
    traces.mkdir(parents=True, exist_ok=True)
    started = datetime(2026, 12, 2)
    for i in range(n):
        task = TASKS[i % len(TASKS)]
        (traces / f"{task}.case-{i:05d}.json").write_text(json.dumps(_trace(i, task)), encoding="utf-8")
    # The rows in SQL over range(n): row by row inserts take minutes at 10,000 cases.
    keys = f"""WITH k AS (SELECT i, $run AS run_id, 'task-' || lpad((i % {len(TASKS)})::VARCHAR, 2, '0') AS task,
                                 'case-' || lpad(i::VARCHAR, 5, '0') AS "case", 'ir' AS approach, '' AS model FROM range($n) t(i))"""
    key = 'run_id, task, "case", approach, model'
    bad = "i % 7 = 3"  # as failing(i)
    reason = "'expected ' || (i + 2) || ' in the response, got: case ' || i || ': ' || i || ' and ' || (i + 1)"
    params = {"run": RUN, "n": n}
    conn = connect(ledger)
    try:
        conn.execute("INSERT INTO runs VALUES (?, ?, ?, 'completed', 'abc123', 'synthetic', 'test', NULL)",
                     [RUN, started, started + timedelta(minutes=5)])
        conn.execute(f"""INSERT INTO cases {keys} SELECT {key}, 'passed', 55.0, NULL,
                         $traces || '/' || task || '.' || "case" || '.json', $started FROM k""", {**params, "traces": str(traces), "started": started})
        conn.execute(f"""INSERT INTO steps {keys}, s AS (SELECT * FROM (VALUES (0, 'fetch', 'mcp'), (1, 'shape', 'shell'), (2, 'reply', 'llm')) v(seq, step_id, kind))
                         SELECT {key}, seq, step_id, kind, kind, 'default', NULL, 1, 10.0 FROM k, s""", params)
        conn.execute(f"INSERT INTO tool_calls {keys} SELECT {key}, 0, 'fetch', 'db', 'query', 60, 200, 40, 'cl100k_base', false FROM k", params)
        conn.execute(f"INSERT INTO llm_calls {keys} SELECT {key}, 2, 'reply', 'smollm2-135m', 90, 12, 0, 0.0, 'provider' FROM k", params)
        conn.execute(f"INSERT INTO evaluations {keys} SELECT {key}, 'steps.fetch', 'JsonSchema', true, 1.0, '', false FROM k", params)
        conn.execute(f"""INSERT INTO evaluations {keys} SELECT {key}, 'steps.reply', 'Contains', NOT ({bad}), CASE WHEN {bad} THEN 0.0 ELSE 1.0 END,
                         CASE WHEN {bad} THEN {reason} ELSE '' END, false FROM k""", params)
    finally:
        conn.close()
    return ledger, RUN
