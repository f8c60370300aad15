"""Server-rendered SVG bar charts for the insights page (no script, safe under the CSP).

Each chart is data for templates/knowledge/partials/bar_chart.svg.html: bars in SVG user
units, with the values also shown in the accessible table beside the chart. Rule:
docs/rules.md#insights (charts are pictures of a table, never the only copy of a figure).
"""
from dataclasses import dataclass

WIDTH, HEIGHT, BOTTOM, LEFT = 640, 180, 36, 34


@dataclass(frozen=True)
class Bar:
    """One segment: `x`, `y`, `width`, `height` in SVG units; `css` a class for its colour;
    `title` the tooltip (label and value)."""

    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    """A whole chart: `bars`, x-axis `labels` [(x, text)], the largest value `top`."""

    bars: list[Bar]
    labels: list[tuple[float, str]]
    top: int
    width: int = WIDTH
    height: int = HEIGHT
    plot_bottom: int = HEIGHT - BOTTOM
    left: int = LEFT


def stacked(columns: list[tuple[str, dict[str, int]]], css_prefix: str) -> Chart:
    """A stacked bar per column: [(label, {series: count})]; each series' class is
    `css_prefix` + series name. At most 12 x-axis labels are written (evenly spread)."""
    top = max((sum(values.values()) for _, values in columns), default=0) or 1
    plot = HEIGHT - BOTTOM - 8
    step = (WIDTH - LEFT) / max(len(columns), 1)
    bars, labels = [], []
    every = max(1, -(-len(columns) // 12))
    for index, (label, values) in enumerate(columns):
        x = LEFT + index * step + step * 0.15
        y = HEIGHT - BOTTOM
        for series, count in sorted(values.items()):
            height = plot * count / top
            y -= height
            bars.append(Bar(round(x, 1), round(y, 1), round(step * 0.7, 1), round(height, 1),
                            f"{css_prefix}{series}",
                            f"{label}: {series} {count}" if series else f"{label}: {count}"))
        if index % every == 0:
            labels.append((round(x + step * 0.35, 1), label))
    return Chart(bars, labels, top)


def single(columns: list[tuple[str, int]], css: str) -> Chart:
    """One bar per column: [(label, value)]."""
    return stacked([(label, {"": value}) for label, value in columns], css)
