"""Token accounting and the DuckDB ledger: every call of every case, counted and priced.

    from harness.accounting import Ledger, LedgerPart, case_rows, part_path, query

    ledger = Ledger("reports/ledger.duckdb")
    ledger.start_run(run_id, "goldens", {"workers": 2})
    with LedgerPart(part_path(ledger.path, run_id)) as part:   # in each worker
        part.add_case(case_rows(run_id, trace, results))
    ledger.merge_parts(run_id)
    ledger.finish_run(run_id, "completed")
    query(ledger.path, 'SELECT "case", sum(result_tokens) FROM tool_calls GROUP BY 1')

Figures are labelled: `llm_calls.usage_source` says whether tokens were reported by the provider
or counted; `tool_calls.tokenizer` names the encoding and what it counted (`o200k_base:text`).
"""

from typing import TYPE_CHECKING

from runner._lazy import lazy_getattr

# Names are imported on first use (PEP 562): the gate and the reports read the ledger
# (`query`, `LedgerError`) and need neither the rows' trace models nor the tokenizer.
_WHERE = {
    **{name: ("harness.accounting._ledger", name) for name in ("DEFAULT_LEDGER", "Ledger", "RecoveredRun", "RunState", "export_parquet",
                                                              "git_commit", "part_path", "parts_dir", "query")},
    "LedgerPart": ("harness.accounting._part", "LedgerPart"),
    **{name: ("harness.accounting._prices", name) for name in ("Prices", "cost_usd")},
    **{name: ("harness.accounting._rows", name) for name in ("CaseRows", "case_rows", "with_result_tokens")},
    **{name: ("harness.accounting._schema", name) for name in ("CASE_TABLES", "COLUMNS", "SCHEMA_VERSION", "LedgerError")},
    **{name: ("harness.accounting._tokens", name) for name in ("DEFAULT_ENCODING", "count_tokens", "tool_result_text", "tool_result_tokens")},
}


__getattr__ = lazy_getattr(__name__, _WHERE, globals())


if TYPE_CHECKING:
    from harness.accounting._ledger import (
        DEFAULT_LEDGER,
        Ledger,
        RecoveredRun,
        RunState,
        export_parquet,
        git_commit,
        part_path,
        parts_dir,
        query,
    )
    from harness.accounting._part import LedgerPart
    from harness.accounting._prices import Prices, cost_usd
    from harness.accounting._rows import CaseRows, case_rows, with_result_tokens
    from harness.accounting._schema import CASE_TABLES, COLUMNS, SCHEMA_VERSION, LedgerError
    from harness.accounting._tokens import DEFAULT_ENCODING, count_tokens, tool_result_text, tool_result_tokens

__all__ = [
    "CASE_TABLES",
    "COLUMNS",
    "CaseRows",
    "DEFAULT_ENCODING",
    "DEFAULT_LEDGER",
    "Ledger",
    "LedgerError",
    "LedgerPart",
    "Prices",
    "RecoveredRun",
    "RunState",
    "SCHEMA_VERSION",
    "case_rows",
    "cost_usd",
    "count_tokens",
    "export_parquet",
    "git_commit",
    "part_path",
    "parts_dir",
    "query",
    "tool_result_text",
    "tool_result_tokens",
    "with_result_tokens",
]
