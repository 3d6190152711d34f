"""The report as one self-contained HTML file: inline CSS, charts as inline SVG, nothing to
load from anywhere, so it can be mailed, archived as a CI artifact or opened offline."""

from __future__ import annotations

import re
from html import escape

from harness.reports._data import ReportData
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
"""


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
    body = "\n".join("<tr>" + "".join(cell("td", i, c, i == status_col) for i, c in enumerate(row)) + "</tr>" for row in table.rows)
    return f'<div class="scroll"><table id="table-{table.key}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>'


def _section(section: Section, svg: str | None) -> str:
    parts = [f'<section id="{section.key}">', f"<h2>{escape(section.title)}</h2>", f'<p class="note">{_inline(section.note)}</p>']
    if svg is not None:
        parts.append(f'<figure id="chart-{section.chart}">\n{svg}\n<figcaption>{escape(section.caption)}</figcaption>\n</figure>')
    parts += [_table(t) for t in section.tables]
    parts.append("</section>")
    return "\n".join(parts)


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
    nav = "".join(f'<a href="#{s.key}">{escape(s.title)}</a>' for s in all_sections)
    body = "\n\n".join(_section(s, svgs.get(s.chart) if s.chart else None) for s in all_sections)
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

<footer>Built from the ledger alone (no traces or cassettes): <code>flowtape report --run {escape(data.run.run_id)} --format html</code> rebuilds it.</footer>
</main>
</body>
</html>
"""
