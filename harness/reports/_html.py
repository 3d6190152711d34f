"""The report as one self-contained HTML file: inline CSS, charts as inline SVG, the cases and
long tables as JSON drawn a page at a time by one inline script (`_script.py`), nothing to load
from anywhere, so it can be mailed, archived as a CI artifact or opened offline."""

from __future__ import annotations

import re
from html import escape

from harness.reports._data import ReportData
from harness.reports._drilldown import case_records, embedded
from harness.reports._script import SCRIPT
from harness.reports._tables import Section, Table, header_lines, sections, summary_line, usd

__all__ = ["to_html"]

_CSS = """
:root { --ink: #1d2733; --muted: #5b6875; --line: #dde3ea; --band: #f5f7fa; --ok: #2f8a4f; --bad: #c0392b; --accent: #2a7f9e; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 6px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--band); padding: 1px 4px; border-radius: 3px; }
.sub { color: var(--muted); margin: 0 0 18px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0 0 18px; font-size: 14px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 12px; }
.card { flex: 1 1 180px; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: var(--band); }
.card b { display: block; font-size: 22px; }
.card span { color: var(--muted); font-size: 13px; }
.card.ok b { color: var(--ok); } .card.bad b { color: var(--bad); }
nav { font-size: 14px; } nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
.note { color: var(--muted); margin: 0 0 12px; max-width: 900px; }
figure { margin: 8px 0 16px; }
figure svg.chart { display: block; width: 100%; max-width: 1000px; height: auto; }
figcaption { color: var(--muted); font-size: 13px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 0 0 16px; min-width: 50%; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.status-passed { color: var(--ok); font-weight: 600; }
td.status-failed, td.status-error { color: var(--bad); font-weight: 600; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
.filters { display: flex; gap: 12px; align-items: center; margin: 0 0 12px; font-size: 14px; }
.filters input { flex: 1 1 260px; padding: 4px 8px; font: inherit; }
details.case { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 6px; padding: 4px 10px; }
details.case > summary { cursor: pointer; font-size: 14px; }
details.case.passed > summary b { color: var(--ok); } details.case.failed > summary b, details.case.error > summary b { color: var(--bad); }
details.step { margin: 4px 0 4px 14px; font-size: 13px; }
details.step > summary { cursor: pointer; color: var(--muted); }
details.step.error > summary { color: var(--bad); }
pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--band); padding: 6px 8px;
      border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 360px; overflow-y: auto; margin: 2px 0 6px; }
ul.checks { margin: 4px 0; padding-left: 20px; font-size: 13px; } ul.checks li.fail { color: var(--bad); }
.filters select { font: inherit; }
.pager { font-size: 13px; color: var(--muted); margin: 0 0 10px; }
.pager button { font: inherit; padding: 1px 8px; }
span.changed { font-size: 12px; color: #8a5a00; background: #fff4dc; border-radius: 3px; padding: 0 5px; }
div.changes { font-size: 13px; margin: 4px 0; } div.changes ul { margin: 2px 0; padding-left: 20px; }
div.changes li { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
"""

TABLE_PAGE = 100  # rows of a table shown at once; a longer one is paged by the script from JSON
CASE_PAGE = 50  # cases of the step by step view shown at once


def _inline(text: str) -> str:
    """Escaped text with `code` spans."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _table(table: Table) -> str:
    def cell(tag: str, i: int, text: str, status: bool = False) -> str:
        classes = (["num"] if i in table.numeric else []) + ([f"status-{escape(text)}"] if status else [])
        attr = f' class="{" ".join(classes)}"' if classes else ""
        return f"<{tag}{attr}>{escape(text)}</{tag}>"

    status_col = table.headers.index("status") if "status" in table.headers else -1
    head = "".join(cell("th", i, h) for i, h in enumerate(table.headers))
    body = "\n".join("<tr>" + "".join(cell("td", i, c, i == status_col) for i, c in enumerate(row)) + "</tr>"
                     for row in table.rows[:TABLE_PAGE])
    html = f'<div class="scroll"><table id="table-{table.key}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>'
    if len(table.rows) <= TABLE_PAGE:
        return html
    # A long table: its first page above (readable without the script), every row as JSON for the script's pager.
    numeric = ",".join(map(str, table.numeric))
    return (f'{html}\n<div class="pager" id="table-{table.key}-pager">rows 1–{TABLE_PAGE} of {len(table.rows):,}</div>\n'
            f'<script type="application/json" class="table-rows" data-table="table-{table.key}" data-page="{TABLE_PAGE}" '
            f'data-numeric="{numeric}" data-status="{status_col}">{embedded([list(r) for r in table.rows])}</script>')


def _section(section: Section, svg: str | None) -> str:
    parts = [f'<section id="{section.key}">', f"<h2>{escape(section.title)}</h2>", f'<p class="note">{_inline(section.note)}</p>']
    if svg is not None:
        parts.append(f'<figure id="chart-{section.chart}">\n{svg}\n<figcaption>{escape(section.caption)}</figcaption>\n</figure>')
    parts += [_table(t) for t in section.tables]
    if section.key == "changes" and section.tables:
        parts.append('<p><a class="show-changed" href="#changed=changed">Show the changed cases, step by step, largest change first</a></p>')
    parts.append("</section>")
    return "\n".join(parts)


def _drill_down(data: ReportData) -> str:
    """Every case x approach, a page at a time, each collapsed: its verdict, its failing checks
    with their reasons, what changed since the baseline, then each step's input and output from
    the stored trace. Filters by status, task, approach and change; a text search. The cases are
    JSON in the page (`_drilldown.case_records`); the script builds the DOM of one page."""
    def choice(key: str, label: str, values: list[str], everything: str = "all") -> str:
        options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
        return f'<label>{label} <select id="filter-{key}"><option value="">{everything}</option>{options}</select></label>'

    changed = (choice("changed", "since baseline", ["changed", "unchanged"]) if data.baseline else
               '<label>since baseline <select id="filter-changed" disabled><option value="">no baseline</option></select></label>')
    filters = (choice("status", "status", sorted({c.status for c in data.cases}))
               + choice("task", "task", sorted({c.task for c in data.cases}))
               + choice("approach", "approach", list(dict.fromkeys(c.approach for c in data.cases)))
               + changed + '<input id="filter-text" type="search" placeholder="search cases, steps, prompts, results">')
    payload = {"page": CASE_PAGE, "baseline": data.baseline.run_id if data.baseline else None, "cases": case_records(data)}
    return (f'<section id="steps">\n<h2>Cases, step by step</h2>\n<p class="note">Open a case for its failing checks, what changed since '
            f'the baseline, and each step\'s input (prompt, tool arguments, command) and output, from the stored traces. Filter by '
            f'status, task, approach or change, or search any text; the address keeps the view, to share it.</p>\n'
            f'<div class="filters">{filters}</div>\n<div class="pager" id="case-pager"></div>\n'
            f'<noscript><p class="note">The step by step view is drawn by the page\'s script; the Cases table above lists every case.</p></noscript>\n'
            f'<div id="case-list"></div>\n'
            f'<script type="application/json" id="report-cases">{embedded(payload)}</script>\n</section>')


def _cards(data: ReportData) -> str:
    n, passed = len(data.cases), data.passed
    this_run = data.costs[-1].total_usd if data.costs else None
    approach = "ir" if any(s.approach == "ir" for s in data.savings) else next((s.approach for s in data.savings), "")
    calls = [s for s in data.savings if s.approach == approach]
    steps_ok = sum(p.rate == 1 for p in data.pass_rates)
    cards = (
        ("ok" if passed == n else "bad", f"{passed}/{n}", "cases passed"),
        ("", usd(this_run), "cost of this run"),
        ("", f"{sum(s.saved_tokens for s in calls):,}" if calls else "—",
         f"tokens {approach} saves over {len(calls)} tool calls" if calls else "tokens saved per tool call (not compared)"),
        ("ok" if steps_ok == len(data.pass_rates) else "bad", f"{steps_ok}/{len(data.pass_rates)}", "steps and outputs at 100%"),
    )
    return '<div class="cards">' + "".join(f'<div class="card {c}"><b>{escape(v)}</b><span>{escape(t)}</span></div>' for c, v, t in cards) + "</div>"


def to_html(data: ReportData) -> str:
    """One self-contained HTML page: the run's header, then a heading per section with its note,
    chart (inline SVG) and tables. The same ledger gives the same bytes."""
    from harness.reports._charts import charts

    svgs = charts(data)
    all_sections = sections(data)
    meta = "\n".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in header_lines(data))
    nav = "".join(f'<a href="#{s.key}">{escape(s.title)}</a>' for s in all_sections) + '<a href="#steps">Cases, step by step</a>'
    body = "\n\n".join(_section(s, svgs.get(s.chart) if s.chart else None) for s in all_sections) + "\n\n" + _drill_down(data)
    title = f"flowtape report · run {data.run.run_id}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>flowtape report</h1>
<p class="sub">run <code>{escape(data.run.run_id)}</code> · {escape(summary_line(data))}</p>
<dl class="meta">
{meta}
</dl>
{_cards(data)}
<nav>{nav}</nav>
</header>

{body}

<footer>Built from the ledger and the run's stored traces (the step by step view; the rest needs only the ledger): <code>flowtape report --run {escape(data.run.run_id)} --format html</code> rebuilds it.</footer>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""
