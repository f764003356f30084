"""Inline SVG charts for the HTML reports: no JavaScript, no CDN, nothing to install; the page is the chart.

Each chart carries `data-chart` (its kind) and one element per datum with `data-value`, so a test (or a
reader of the page's source) can check what was drawn.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT, MARGIN = 640, 260, 48
COLOURS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b")


def line_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> str:
    """Rates (0..1) over time: one polyline per series; a missing value (None) breaks the line."""
    plot_w, plot_h = WIDTH - 2 * MARGIN - 120, HEIGHT - 2 * MARGIN
    step = plot_w / max(1, len(labels) - 1)
    parts = [_frame(title, "trend"), _y_axis_percent(plot_h)]
    for index, label in enumerate(labels):
        x = MARGIN + index * step
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - MARGIN + 16}" font-size="11" text-anchor="middle">{escape(label)}</text>')
    for number, (name, values) in enumerate(series.items()):
        colour = COLOURS[number % len(COLOURS)]
        points = [(MARGIN + i * step, MARGIN + plot_h * (1 - v), v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts += [f'<circle class="datum" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}" data-series="{escape(name)}" '
                  f'data-value="{v:.4f}"><title>{escape(name)}: {v:.1%}</title></circle>' for x, y, v in points]
        legend_y = MARGIN + 16 * number
        parts.append(f'<rect x="{WIDTH - 160}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{WIDTH - 145}" y="{legend_y}" font-size="11">{escape(name)}</text>')
    return "".join(parts) + "</svg>"


def bar_chart(title: str, items: Sequence[tuple[str, float]], percent: bool = True) -> str:
    """A ranking: one horizontal bar per item, best first as given."""
    row = 20
    height = 2 * MARGIN + row * max(1, len(items))
    top = max((value for _, value in items), default=0.0)
    scale = 1.0 if percent else (top or 1.0)
    plot_w = WIDTH - 2 * MARGIN - 140
    parts = [_frame(title, "ranking", height)]
    for index, (label, value) in enumerate(items):
        y = MARGIN + index * row
        width = plot_w * value / scale
        shown = f"{value:.1%}" if percent else f"{value:g}"
        parts.append(f'<text x="{MARGIN + 132}" y="{y + 13}" font-size="11" text-anchor="end">{escape(label)}</text>'
                     f'<rect class="datum" x="{MARGIN + 140}" y="{y + 2}" width="{width:.1f}" height="{row - 6}" '
                     f'fill="{COLOURS[0]}" data-label="{escape(label)}" data-value="{value:.4f}"/>'
                     f'<text x="{MARGIN + 146 + width:.1f}" y="{y + 13}" font-size="11">{shown}</text>')
    return "".join(parts) + "</svg>"


def histogram(title: str, values: Sequence[float], bin_width: float = 1.0, bins: int = 15) -> str:
    """How values spread: counts per bin of `bin_width`; the last bin takes everything above."""
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, int(value // bin_width)))] += 1
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    top = max(counts) or 1
    bar = plot_w / bins
    parts = [_frame(title, "distribution")]
    for index, count in enumerate(counts):
        h = plot_h * count / top
        x = MARGIN + index * bar
        low = index * bin_width
        label = f"≥{low:g}" if index == bins - 1 else f"{low:g}"
        parts.append(f'<rect class="datum" x="{x + 1:.1f}" y="{MARGIN + plot_h - h:.1f}" width="{bar - 2:.1f}" '
                     f'height="{h:.1f}" fill="{COLOURS[1]}" data-value="{count}"><title>{label}: {count}</title></rect>'
                     f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - MARGIN + 14}" font-size="10" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{MARGIN}" y="{MARGIN - 6}" font-size="10">max {top}</text>')
    return "".join(parts) + "</svg>"


def _frame(title: str, kind: str, height: int = HEIGHT) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{kind}" width="{WIDTH}" '
            f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title><text x="{MARGIN}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>')


def _y_axis_percent(plot_h: float) -> str:
    lines = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = MARGIN + plot_h * (1 - tick)
        lines.append(f'<line x1="{MARGIN}" x2="{WIDTH - MARGIN - 120}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{MARGIN - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick:.0%}</text>')
    return "".join(lines)
