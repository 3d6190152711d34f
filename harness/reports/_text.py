"""The report as text: for a terminal (tabulate's `simple` tables) and as GitHub markdown."""

from __future__ import annotations

from tabulate import tabulate

from harness.reports._data import ReportData
from harness.reports._tables import Table, header_lines, sections

__all__ = ["to_markdown", "to_terminal"]


def _align(table: Table) -> list[str]:
    return ["right" if i in table.numeric else "left" for i in range(len(table.headers))]


def to_terminal(data: ReportData) -> str:
    """The report for a terminal: the run's header, then each section's note and tables."""
    lines = [f"flowtape report · run {data.run.run_id}", ""]
    width = max(len(k) for k, _ in header_lines(data))
    lines += [f"{key:<{width}}  {value}" for key, value in header_lines(data)]
    for section in sections(data):
        lines += ["", section.title, "=" * len(section.title), section.note.replace("`", "")]
        for table in section.tables:
            lines += ["", tabulate(table.rows, headers=table.headers, tablefmt="simple", colalign=_align(table), disable_numparse=True)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def to_markdown(data: ReportData) -> str:
    """The report as GitHub markdown (a PR comment, a job summary): a heading per section."""
    lines = [f"# flowtape report: run `{data.run.run_id}`", ""]
    lines += [f"- **{key}**: {_cell(value)}" for key, value in header_lines(data)]
    for section in sections(data):
        lines += ["", f"## {section.title}", "", section.note]
        for table in section.tables:
            rows = [[_cell(c) for c in row] for row in table.rows]
            lines += ["", tabulate(rows, headers=table.headers, tablefmt="github", colalign=_align(table), disable_numparse=True)]
    return "\n".join(lines) + "\n"
