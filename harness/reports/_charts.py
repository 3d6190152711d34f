"""The report's four charts as inline SVG strings, drawn with matplotlib.

Figures are made without pyplot (no global figure state, no GUI backend: an Agg canvas, printed
as SVG). Text is drawn as paths so the SVG needs no font; ids are salted per chart and prefixed,
so the same data gives the same bytes and four charts can share one HTML page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from harness.reports._data import ReportData

__all__ = ["APPROACH_COLOURS", "MAX_SAVINGS_BARS", "charts"]

APPROACH_COLOURS = {"direct": "#c0504d", "code": "#e8a33d", "ir": "#2a7f9e"}
_OTHER = "#7f7f7f"
MAX_SAVINGS_BARS = 30
_WIDTH = 9.0  # inches; the page scales the SVG to its column
_RC = {"svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
       "axes.titlesize": 11, "axes.titleweight": "bold", "axes.titlelocation": "left"}


def charts(data: ReportData) -> dict[str, str]:
    """{section key: <svg>...</svg>} for every chart the data has figures for."""
    makers: dict[str, tuple[bool, Callable[[ReportData], Figure]]] = {
        "tokens": (bool(data.tokens), _tokens),
        "savings": (bool(data.savings), _savings),
        "cost": (bool(data.costs), _cost),
        "pass-rate": (bool(data.pass_rates), _pass_rate),
    }
    out = {}
    for key, (has_figures, make) in makers.items():
        if has_figures:
            with _style(key):
                out[key] = _svg(make(data), key)
    return out


@contextmanager
def _style(key: str) -> Iterator[None]:
    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"flowtape-report-{key}"}):
        yield


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(_WIDTH, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _svg(figure: Figure, key: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text)  # the HTML parser puts inline <svg> in its namespace
    text = text.replace('id="', f'id="{key}-').replace('href="#', f'href="#{key}-').replace("url(#", f"url(#{key}-")
    return text.replace("<svg ", '<svg role="img" class="chart" ', 1).strip()


def _compact(value: float, _pos: object = None) -> str:
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _colour(approach: str) -> str:
    return APPROACH_COLOURS.get(approach, _OTHER)


def _tokens(data: ReportData) -> Figure:
    tasks = list(dict.fromkeys(t.task for t in data.tokens))
    approaches = [a for a in data.approaches if any(t.approach == a for t in data.tokens)]
    figures = {(t.task, t.approach): t.per_run_tokens for t in data.tokens}
    figure = _figure(4.2)
    ax = figure.add_subplot()
    width = 0.8 / max(1, len(approaches))
    for i, approach in enumerate(approaches):
        xs = [x + (i - (len(approaches) - 1) / 2) * width for x in range(len(tasks))]
        values = [figures.get((task, approach), 0.0) for task in tasks]
        bars = ax.bar(xs, values, width * 0.95, label=approach, color=_colour(approach))
        ax.bar_label(bars, labels=[_compact(v) if v else "" for v in values], padding=2, fontsize=7)
    positive = [v for v in figures.values() if v > 0]
    if positive and max(positive) / min(positive) > 30:
        ax.set_yscale("log")
        ax.set_ylim(10 ** math.floor(math.log10(min(positive))), max(positive) * 3)  # room for the labels
        ax.set_ylabel("tokens per run (log scale)")
    else:
        ax.set_ylabel("tokens per run")
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.set_xticks(range(len(tasks)), tasks)
    pad = max(0.0, (3 - len(tasks)) / 2)  # one or two tasks keep bars of a normal width
    ax.set_xlim(-0.5 - pad, len(tasks) - 0.5 + pad)
    ax.margins(y=0.15)
    source = "orchestrator context" if data.tokens_source == "context" else "measured: tool results + model tokens"
    ax.set_title(f"Tokens per run by task and approach ({source})")
    ax.legend(title="approach", frameon=False, ncols=len(approaches), loc="upper right")
    return figure


def _savings(data: ReportData) -> Figure:
    shown = sorted(data.savings, key=lambda s: s.saved_tokens, reverse=True)[:MAX_SAVINGS_BARS]
    figure = _figure(1.0 + 0.24 * len(shown))
    ax = figure.add_subplot()
    ys = range(len(shown))
    values = [s.saved_tokens for s in shown]
    bars = ax.barh(ys, values, 0.7, color=[_colour(s.approach) for s in shown])
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=7)
    ax.set_yticks(ys, [f"{s.task}/{s.case} · {s.tool} [{s.approach}]" for s in shown], fontsize=7.5)
    ax.invert_yaxis()  # largest first, at the top
    magnitudes = [abs(v) for v in values if v]
    if magnitudes and max(magnitudes) / min(magnitudes) > 30:
        ax.set_xscale("symlog", linthresh=100)
        ax.set_xlabel("tokens saved against direct tool calling (symmetric log scale)")
    else:
        ax.set_xlabel("tokens saved against direct tool calling")
    ax.xaxis.set_major_formatter(FuncFormatter(_compact))
    ax.margins(x=0.12)
    ax.axvline(0, color="#444", linewidth=0.8)
    more = f" (the {len(shown)} largest of {len(data.savings)})" if len(data.savings) > len(shown) else ""
    ax.set_title(f"Savings per tool call{more}")
    handles = [Patch(color=_colour(a), label=a) for a in data.approaches if any(s.approach == a for s in shown)]
    ax.legend(handles=handles, title="approach", frameon=False, loc="lower right")
    return figure


def _cost(data: ReportData) -> Figure:
    runs = data.costs
    xs = list(range(len(runs)))
    figure = _figure(3.6)
    ax = figure.add_subplot()
    # The total is drawn wide and under its parts, so it still shows where it equals one of them.
    series = (("total", [c.total_usd for c in runs], "#1f3b57", dict(linewidth=3, markersize=10, zorder=2)),
              ("model calls (llm_calls)", [c.llm_cost_usd for c in runs], "#8c6bb1", dict(linewidth=1.2, markersize=5, linestyle="--", zorder=3)),
              ("context per run (compared runs)", [c.context_cost_usd for c in runs], "#4fb3d9", dict(linewidth=1.2, markersize=5, linestyle="--", zorder=3)))
    for label, values, colour, style in series:
        points = [(x, v) for x, v in zip(xs, values) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=colour, label=label, **style)
    ax.set_xticks(xs, [(c.started_at or c.run_id)[5:19] for c in runs], rotation=30 if len(runs) > 4 else 0, ha="right" if len(runs) > 4 else "center")
    ax.set_xlim(-0.5, len(runs) - 0.5)
    highest = max((c.total_usd or 0.0) for c in runs)
    ax.set_ylim(0, highest * 1.15 if highest > 0 else 0.001)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"${v:.4g}"))
    ax.set_ylabel("USD per run")
    ax.set_xlabel("run (started, UTC)")
    ax.set_title(f"Cost per run, the last {len(runs)} run(s)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False, loc="upper left")
    return figure


def _pass_rate(data: ReportData) -> Figure:
    rates = data.pass_rates
    figure = _figure(1.0 + 0.24 * len(rates))
    ax = figure.add_subplot()
    ys = range(len(rates))
    colours = ["#3a9a5b" if p.rate == 1 else "#e8a33d" if p.rate >= 0.5 else "#c0504d" for p in rates]
    bars = ax.barh(ys, [p.rate for p in rates], 0.7, color=colours)
    ax.bar_label(bars, labels=[f"{p.passed}/{p.total}" for p in rates], padding=3, fontsize=7)
    ax.set_yticks(ys, [f"{p.task} · {p.target}" for p in rates], fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("checks passed")
    ax.set_title("Pass rate per step and output")
    return figure
