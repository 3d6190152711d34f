"""The report's four charts as inline SVG strings, written directly.

Four simple charts (grouped bars, horizontal bars, lines) do not need a plotting library:
matplotlib took ~54% of an HTML report's time (its import, its layout engine, `savefig`), and
these take milliseconds. Each chart is plain SVG shapes and `<text>` in the page's font, in a
`viewBox` the page scales to its column; each bar and point carries a `<title>` (its figure, as a
tooltip). Nothing has an id, so four charts share a page without clashes, and the same data
gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from harness.reports._data import ReportData

__all__ = ["APPROACH_COLOURS", "MAX_SAVINGS_BARS", "charts", "cost_lines"]

APPROACH_COLOURS = {"direct": "#c0504d", "code": "#e8a33d", "ir": "#2a7f9e"}
_OTHER = "#7f7f7f"
MAX_SAVINGS_BARS = 30
_WIDTH = 900  # viewBox units; the page scales the SVG to its column
_INK, _MUTED, _GRID, _AXIS = "#1d2733", "#5b6875", "#e3e7ec", "#444"
_FONT = 'system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, &quot;Helvetica Neue&quot;, Arial, sans-serif'
_GLYPH = 0.56  # mean glyph width per unit of font size (sans-serif), to size margins for labels
_ROW = 22  # height of one horizontal bar's row


def charts(data: ReportData) -> dict[str, str]:
    """{section key: <svg>...</svg>} for every chart the data has figures for."""
    makers: dict[str, tuple[bool, Callable[[ReportData], str]]] = {
        "tokens": (bool(data.tokens), _tokens),
        "savings": (bool(data.savings), _savings),
        "cost": (bool(data.costs), _cost),
        "pass-rate": (bool(data.pass_rates), _pass_rate),
    }
    return {key: make(data) for key, (has_figures, make) in makers.items() if has_figures}


# -- drawing -------------------------------------------------------------------------------------

def _n(value: float) -> str:
    """A coordinate, to a tenth of a unit."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text_width(text: str, size: float) -> float:
    return len(text) * size * _GLYPH


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


class _Svg:
    """Shapes appended in drawing order; `str()` is the `<svg>` element."""

    def __init__(self, height: float, label: str) -> None:
        self.height = height
        self.label = label
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, tip: str | None = None) -> None:
        title = f"<title>{escape(tip)}</title>" if tip else ""
        end = f">{title}</rect>" if title else "/>"
        self.parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.0))}" height="{_n(max(h, 0.0))}" fill="{fill}"{end}')

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = _AXIS, width: float = 1.0) -> None:
        self.parts.append(f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" stroke-width="{_n(width)}"/>')

    def path(self, points: Sequence[tuple[float, float]], stroke: str, width: float, dashes: str = "") -> None:
        d = "M" + " L".join(f"{_n(x)} {_n(y)}" for x, y in points)
        dash = f' stroke-dasharray="{dashes}"' if dashes else ""
        self.parts.append(f'<path d="{d}" fill="none" stroke="{stroke}" stroke-width="{_n(width)}"{dash} stroke-linejoin="round"/>')

    def dot(self, x: float, y: float, r: float, fill: str, tip: str) -> None:
        self.parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" fill="{fill}"><title>{escape(tip)}</title></circle>')

    def text(self, x: float, y: float, text: str, size: float = 11, anchor: str = "start", fill: str = _INK,
             bold: bool = False, rotate: float | None = None, middle: bool = False) -> None:
        attrs = f'x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if fill != _INK:
            attrs += f' fill="{fill}"'
        if bold:
            attrs += ' font-weight="bold"'
        if middle:
            attrs += ' dominant-baseline="middle"'
        if rotate is not None:
            attrs += f' transform="rotate({_n(rotate)} {_n(x)} {_n(y)})"'
        self.parts.append(f"<text {attrs}>{escape(text)}</text>")

    def legend(self, x: float, y: float, items: Sequence[tuple[str, str]], title: str | None = None) -> None:
        """Swatches and labels in one row from (x, y), the text's middle line at y."""
        if title:
            self.text(x, y, title, 11, fill=_MUTED, middle=True)
            x += _text_width(title, 11) + 10
        for label, colour in items:
            self.rect(x, y - 5, 14, 10, colour)
            self.text(x + 19, y, label, 11, middle=True)
            x += 19 + _text_width(label, 11) + 16

    def __str__(self) -> str:
        head = (f'<svg role="img" class="chart" viewBox="0 0 {_WIDTH} {_n(self.height)}" width="{_WIDTH}" height="{_n(self.height)}" '
                f'font-family="{_FONT}" aria-label="{escape(self.label)}">')
        return "\n".join([head, f"<title>{escape(self.label)}</title>", *self.parts, "</svg>"])


# -- scales --------------------------------------------------------------------------------------

def _nice_step(span: float, count: int = 5) -> float:
    raw = span / count if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _linear_ticks(low: float, high: float) -> list[float]:
    step = _nice_step(high - low)
    first = math.floor(low / step + 1e-9) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


class _Scale:
    """Data -> page coordinate along one axis: linear, log10, or symmetric log (linear within
    +-`linthresh`, log outside, as matplotlib's `symlog`)."""

    def __init__(self, low: float, high: float, start: float, end: float, kind: str = "linear", linthresh: float = 100.0) -> None:
        self.kind, self.linthresh = kind, linthresh
        self.start, self.end = start, end
        self.low, self.high = self._f(low), self._f(high)
        if self.high == self.low:
            self.high = self.low + 1

    def _f(self, v: float) -> float:
        if self.kind == "log":
            return math.log10(v)
        if self.kind == "symlog":
            t = self.linthresh
            return v / t if abs(v) <= t else math.copysign(1 + math.log10(abs(v) / t), v)
        return v

    def __call__(self, v: float) -> float:
        return self.start + (self._f(v) - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self, low: float, high: float) -> list[float]:
        if self.kind == "log":
            return [10.0 ** k for k in range(math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9) + 1)]
        if self.kind == "symlog":
            out = [0.0]
            k = self.linthresh
            while k <= max(abs(low), abs(high)) * 1.0000001:
                out += [k] if k <= high else []
                out += [-k] if -k >= low else []
                k *= 10
            return sorted(out)
        return [t for t in _linear_ticks(low, high) if low - 1e-9 <= t <= high + 1e-9]


def _compact(value: float) -> str:
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _colour(approach: str) -> str:
    return APPROACH_COLOURS.get(approach, _OTHER)


# -- the charts ----------------------------------------------------------------------------------

def _tokens(data: ReportData) -> str:
    tasks = list(dict.fromkeys(t.task for t in data.tokens))
    approaches = [a for a in data.approaches if any(t.approach == a for t in data.tokens)]
    figures = {(t.task, t.approach): t.per_run_tokens for t in data.tokens}
    source = "orchestrator context" if data.tokens_source == "context" else "measured: tool results + model tokens"
    title = f"Tokens per run by task and approach ({source})"
    slots = max(len(tasks), 3)  # one or two tasks keep bars of a normal width
    left, right, top = 78.0, 16.0, 70.0
    group = (_WIDTH - left - right) / slots
    widest = max(_text_width(t, 11) for t in tasks)
    tilted = widest > group - 6
    bottom = 28 + (widest * 0.5 + 10 if tilted else 0)
    height = 420 + (bottom - 28)
    svg = _Svg(height, title)
    svg.text(8, 22, title, 14, bold=True)
    svg.legend(8, 46, [(a, _colour(a)) for a in approaches], "approach")
    plot_bottom = height - bottom - 18
    positive = [v for v in figures.values() if v > 0]
    log = bool(positive) and max(positive) / min(positive) > 30
    if log:
        low, high = 10.0 ** math.floor(math.log10(min(positive))), max(positive) * 3  # room for the labels
        y = _Scale(low, high, plot_bottom, top, "log")
    else:
        low, high = 0.0, (max(positive) if positive else 1.0) * 1.15
        y = _Scale(low, high, plot_bottom, top)
    for tick in y.ticks(low, high):
        svg.line(left, y(tick), _WIDTH - right, y(tick), _GRID)
        svg.text(left - 6, y(tick), _compact(tick), 10, "end", _MUTED, middle=True)
    label = "tokens per run (log scale)" if log else "tokens per run"
    svg.text(18, (top + plot_bottom) / 2, label, 11, "middle", _MUTED, rotate=-90)
    offset = (slots - len(tasks)) / 2
    width = 0.8 * group / max(1, len(approaches))
    for i, task in enumerate(tasks):
        centre = left + (i + offset + 0.5) * group
        for j, approach in enumerate(approaches):
            value = figures.get((task, approach), 0.0)
            x = centre + (j - (len(approaches) - 1) / 2) * width - width * 0.475
            if value > 0:
                svg.rect(x, y(value), width * 0.95, plot_bottom - y(value), _colour(approach), f"{task} · {approach}: {value:,.0f} tokens per run")
                svg.text(x + width * 0.475, y(value) - 3, _compact(value), 9, "middle", _MUTED)
        if tilted:
            svg.text(centre + 4, plot_bottom + 14, task, 11, "end", rotate=-30)
        else:
            svg.text(centre, plot_bottom + 16, task, 11, "middle")
    svg.line(left, plot_bottom, _WIDTH - right, plot_bottom)
    svg.line(left, top - 6, left, plot_bottom)
    return str(svg)


def _horizontal(title: str, labels: Sequence[str], legend: Sequence[tuple[str, str]], legend_title: str | None) -> tuple[_Svg, float, float, float, Callable[[int], float]]:
    """A chart of one bar per row: (svg, left edge of the plot, its right edge, its bottom, row -> bar top)."""
    shown = [_clip(label, 80) for label in labels]
    left = min(max((_text_width(s, 10) for s in shown), default=0) + 16, 470)
    top = 70.0 if legend else 44.0
    height = top + _ROW * len(labels) + 58
    svg = _Svg(height, title)
    svg.text(8, 22, title, 14, bold=True)
    if legend:
        svg.legend(8, 46, legend, legend_title)
    for i, label in enumerate(shown):
        svg.text(left - 8, top + _ROW * i + _ROW / 2, label, 10, "end", middle=True)
    plot_bottom = top + _ROW * len(labels)
    return svg, left, _WIDTH - 70.0, plot_bottom, lambda i: top + _ROW * i + _ROW * 0.15


def _savings(data: ReportData) -> str:
    shown = sorted(data.savings, key=lambda s: s.saved_tokens, reverse=True)[:MAX_SAVINGS_BARS]
    more = f" (the {len(shown)} largest of {len(data.savings)})" if len(data.savings) > len(shown) else ""
    legend = [(a, _colour(a)) for a in data.approaches if any(s.approach == a for s in shown)]
    svg, left, right, bottom, row = _horizontal(f"Savings per tool call{more}", [f"{s.task}/{s.case} · {s.tool} [{s.approach}]" for s in shown],
                                                legend, "approach")
    values = [s.saved_tokens for s in shown]
    magnitudes = [abs(v) for v in values if v]
    symlog = bool(magnitudes) and max(magnitudes) / min(magnitudes) > 30
    low, high = min(0, *values), max(0, *values)
    span = (high - low) or 1
    if symlog:
        x = _Scale(low, high, left, right, "symlog")
        ticks = x.ticks(low, high)
    else:
        low, high = low - (0.12 * span if low < 0 else 0), high + 0.12 * span
        x = _Scale(low, high, left, right)
        ticks = x.ticks(low, high)
    for tick in ticks:
        svg.line(x(tick), bottom, x(tick), bottom + 4)
        svg.text(x(tick), bottom + 16, _compact(tick), 10, "middle", _MUTED)
    for i, s in enumerate(shown):
        x0, x1 = sorted((x(0), x(s.saved_tokens)))
        svg.rect(x0, row(i), x1 - x0, _ROW * 0.7, _colour(s.approach),
                 f"{s.task}/{s.case} {s.step_id} ({s.server}.{s.tool}) [{s.approach}]: {s.direct_tokens:,} direct - {s.approach_tokens:,} = {s.saved_tokens:,} tokens saved")
        end, anchor = (x1 + 4, "start") if s.saved_tokens >= 0 else (x0 - 4, "end")
        svg.text(end, row(i) + _ROW * 0.35, f"{s.saved_tokens:,}", 9, anchor, _MUTED, middle=True)
    svg.line(x(0), row(0) - 4, x(0), bottom)
    svg.line(left, bottom, right, bottom)
    scale = " (symmetric log scale)" if symlog else ""
    svg.text((left + right) / 2, bottom + 36, f"tokens saved against direct tool calling{scale}", 11, "middle", _MUTED)
    return str(svg)


_COST_SERIES = (("model calls", "#8c6bb1"), ("context per run", "#4fb3d9"))
_DASHES = ("", "6 4", "2 3", "10 3 2 3")  # one per accounting of a series, in the order they first appear


def cost_lines(data: ReportData) -> list[tuple[str, str, str, list[int]]]:
    """The cost chart's lines: (series, accounting, dash pattern, indexes of the runs on it). A
    line joins only the runs whose figure of that series was accounted the same way: model calls
    priced alike (every call, or some left out), the context priced at the same model; a run
    accounted otherwise starts a line of its own, so a change of accounting is not drawn as a
    change of cost."""
    lines = []
    for series, values, ways in (("model calls", [c.llm_cost_usd for c in data.costs], [c.llm_accounting for c in data.costs]),
                                 ("context per run", [c.context_cost_usd for c in data.costs], [c.context_accounting for c in data.costs])):
        groups: dict[str, list[int]] = {}
        for i, (value, how) in enumerate(zip(values, ways)):
            if value is not None:
                groups.setdefault(how or "unknown accounting", []).append(i)
        lines += [(series, how, _DASHES[k % len(_DASHES)], runs) for k, (how, runs) in enumerate(groups.items())]
    return lines


def _cost(data: ReportData) -> str:
    runs = data.costs
    title = f"Cost per run, the last {len(runs)} run(s)"
    colours = dict(_COST_SERIES)
    lines = cost_lines(data)
    labels = [(c.started_at or c.run_id)[5:19] for c in runs]
    tilted = len(runs) > 4
    left, right = 78.0, 16.0
    top = 70.0 + 18 * max(0, len(lines) - 1)  # one legend row per line
    bottom = 48 + (max(_text_width(t, 10) for t in labels) * 0.5 if tilted else 0)
    height = 300 + top + bottom - 48
    svg = _Svg(height, title)
    svg.text(8, 22, title, 14, bold=True)
    for row, (series, how, dash, _runs) in enumerate(lines):
        y0 = 46 + 18 * row
        svg.path([(8, y0), (30, y0)], colours[series], 2.5, dash)
        svg.text(36, y0, f"{series}: {how}", 11, middle=True)
    plot_bottom = height - bottom - 18
    highest = max((v for c in runs for v in (c.llm_cost_usd, c.context_cost_usd) if v is not None), default=0.0)
    high = highest * 1.15 if highest > 0 else 0.001
    y = _Scale(0.0, high, plot_bottom, top)
    for tick in y.ticks(0.0, high):
        svg.line(left, y(tick), _WIDTH - right, y(tick), _GRID)
        svg.text(left - 6, y(tick), f"${tick:.4g}", 10, "end", _MUTED, middle=True)
    svg.text(18, (top + plot_bottom) / 2, "USD per run", 11, "middle", _MUTED, rotate=-90)
    step = (_WIDTH - left - right) / len(runs)
    xs = [left + (i + 0.5) * step for i in range(len(runs))]
    for x, label in zip(xs, labels):
        if tilted:
            svg.text(x + 4, plot_bottom + 14, label, 10, "end", rotate=-30)
        else:
            svg.text(x, plot_bottom + 16, label, 10, "middle")
    for series, how, dash, members in lines:
        colour = colours[series]
        values = [runs[i].llm_cost_usd if series == "model calls" else runs[i].context_cost_usd for i in members]
        points = [(xs[i], y(v)) for i, v in zip(members, values)]
        if len(points) > 1:
            svg.path(points, colour, 2.0, dash)
        for i, (px, py), v in zip(members, points, values):
            svg.dot(px, py, 3.5, colour, f"{runs[i].run_id} {series} ({how}): ${v:.6g}")
    svg.line(left, plot_bottom, _WIDTH - right, plot_bottom)
    svg.line(left, top - 6, left, plot_bottom)
    svg.text((left + _WIDTH - right) / 2, height - 8, "run (started, UTC)", 11, "middle", _MUTED)
    return str(svg)


def _pass_rate(data: ReportData) -> str:
    rates = data.pass_rates
    svg, left, right, bottom, row = _horizontal("Pass rate per step and output", [f"{p.task} · {p.target}" for p in rates], (), None)
    x = _Scale(0.0, 1.12, left, right)
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        svg.line(x(tick), row(0) - 4, x(tick), bottom, _GRID)
        svg.text(x(tick), bottom + 16, f"{tick:.0%}", 10, "middle", _MUTED)
    for i, p in enumerate(rates):
        colour = "#3a9a5b" if p.rate == 1 else "#e8a33d" if p.rate >= 0.5 else "#c0504d"
        svg.rect(x(0), row(i), x(p.rate) - x(0), _ROW * 0.7, colour, f"{p.task} · {p.target}: {p.passed}/{p.total} checks passed")
        svg.text(x(p.rate) + 4, row(i) + _ROW * 0.35, f"{p.passed}/{p.total}", 9, "start", _MUTED, middle=True)
    svg.line(left, row(0) - 4, left, bottom)
    svg.line(left, bottom, right, bottom)
    svg.text((left + right) / 2, bottom + 36, "checks passed", 11, "middle", _MUTED)
    return str(svg)
