"""Bar charts as inline SVG, drawn on the server: no script, no inline style (the site's CSP allows neither).

Colours come from classes in `chairside/capacity.css`; sizes and positions are SVG
presentation attributes. Every chart carries a title and a one-sentence description for
screen readers, and each page shows the table the chart is drawn from beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

HEIGHT = 220
TOP = 12
BOTTOM = 40  # room for the category labels
LEFT = 44  # room for the scale
BAR = 14
GAP = 6  # between groups


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css_class: str = "chart-series-0"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    threshold: float | None = None,
    floor_max: float = 0,
    label_every: int = 1,
) -> SafeString:
    """Grouped vertical bars, one group per category; a dashed line at `threshold`, bars over it marked."""
    finite = [value for item in series for value in item.values if value is not None and math.isfinite(value)]
    top_value = _nice_max(max([*finite, threshold or 0, floor_max, 0]))
    group = BAR * len(series) + GAP
    width = LEFT + group * len(categories) + GAP
    plot = HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot - plot * min(value, top_value) / top_value

    parts = [_svg_open(chart_id, width, HEIGHT, title, description), *_scale(width, top_value, y, unit)]
    for index, category in enumerate(categories):
        x0 = LEFT + GAP + index * group
        for position, item in enumerate(series):
            value = item.values[index]
            if value is None:
                continue
            shown = value if math.isfinite(value) else top_value
            over = threshold is not None and value > threshold
            css = f"{item.css_class} chart-over" if over else item.css_class
            parts.append(
                format_html(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}, {}</title></rect>',
                    css,
                    x0 + position * BAR,
                    f"{y(shown):.1f}",
                    BAR - 2,
                    f"{TOP + plot - y(shown):.1f}",
                    category,
                    item.name,
                    _value_text(value, unit),
                )
            )
        if index % max(label_every, 1) == 0:
            parts.append(
                format_html(
                    '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                    f"{x0 + (group - GAP) / 2:.1f}",
                    HEIGHT - BOTTOM + 16,
                    category,
                )
            )
    parts.append(
        format_html(
            '<line class="chart-axis" x1="{}" x2="{}" y1="{}" y2="{}"></line>', LEFT, width, TOP + plot, TOP + plot
        )
    )
    if threshold is not None:
        parts.append(_threshold(width, y(threshold), f"threshold {threshold:g}{unit}"))
    legend_x = LEFT
    for item in series:
        parts.append(
            format_html(
                '<rect class="{}" x="{}" y="{}" width="10" height="10"></rect>'
                '<text class="chart-legend" x="{}" y="{}">{}</text>',
                item.css_class,
                legend_x,
                HEIGHT - 14,
                legend_x + 14,
                HEIGHT - 5,
                item.name,
            )
        )
        legend_x += 24 + 7 * len(item.name)
    return _svg_close(parts)


def _svg_open(chart_id: str, width: float, height: float, title: str, description: str) -> SafeString:
    """The chart's <svg> element with its title and description, named for screen readers."""
    return format_html(
        '<svg class="chart" id="{}" viewBox="0 0 {} {}" width="100%" height="{}" role="img" '
        'aria-labelledby="{}-title {}-desc" preserveAspectRatio="xMinYMin meet">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>',
        chart_id,
        width,
        height,
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        description,
    )


def _scale(width: float, top_value: float, y, unit: str = "") -> list[SafeString]:
    """Five grid lines from 0 to `top_value`, each labelled on the left."""
    lines = []
    for step in range(5):
        value = top_value * step / 4
        lines.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
                '<text class="chart-scale" x="{}" y="{}" text-anchor="end">{}{}</text>',
                LEFT,
                width,
                f"{y(value):.1f}",
                f"{y(value):.1f}",
                LEFT - 4,
                f"{y(value) + 4:.1f}",
                f"{value:g}",
                unit,
            )
        )
    return lines


def _threshold(width: float, at: float, label: str) -> SafeString:
    """A dashed line across the plot at height `at`, labelled at its right end."""
    return format_html(
        '<line class="chart-threshold" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
        '<text class="chart-threshold-label" x="{}" y="{}" text-anchor="end">{}</text>',
        LEFT,
        width,
        f"{at:.1f}",
        f"{at:.1f}",
        width - 2,
        f"{at - 4:.1f}",
        label,
    )


def _svg_close(parts: list) -> SafeString:
    return mark_safe("".join(str(part) for part in parts) + "</svg>")  # noqa: S308 - every piece built by format_html


def _value_text(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "no capacity"
    return f"{value:.0f}{unit}"


# --- A day: the load through the day and the chairs' timeline ------------------------------------

DAY_WIDTH = 720  # the plot's width for a whole opening day
LINE_HEIGHT = 200
ROW = 12  # one chair's row in a timeline


def _hour_ticks(opens, length: int):
    """(offset in minutes, "09:00") for each whole hour of the day after opening."""
    first = (60 - opens.minute) % 60
    return [
        (offset, f"{(opens.hour + (opens.minute + offset) // 60) % 24:02d}:00")
        for offset in range(first, length + 1, 60)
    ]


def load_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    opens,
    nurses: int,
    series: Sequence[tuple[str, Sequence[int], str]],
    limit: int,
) -> SafeString:
    """Patients in chairs per nurse through the day, as step lines; a dashed line at the nurses' limit."""
    length = max((len(values) for _, values, _ in series), default=0) or 1
    per_nurse = max(nurses, 1)
    top_value = _nice_max(max([*(max(values, default=0) / per_nurse for _, values, _ in series), limit, 1]))
    plot = LINE_HEIGHT - TOP - BOTTOM
    width = LEFT + DAY_WIDTH + GAP

    def x(offset: int) -> float:
        return LEFT + DAY_WIDTH * offset / length

    def y(value: float) -> float:
        return TOP + plot - plot * min(value, top_value) / top_value

    parts = [_svg_open(chart_id, width, LINE_HEIGHT, title, description), *_scale(width, top_value, y)]
    for offset, label in _hour_ticks(opens, length):
        parts.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                f"{x(offset):.1f}",
                LINE_HEIGHT - BOTTOM + 16,
                label,
            )
        )
    for name, values, css in series:
        points = []
        previous = None
        for offset, value in enumerate(values):
            if value != previous:
                if previous is not None:
                    points.append(f"{x(offset):.1f},{y(previous / per_nurse):.1f}")
                points.append(f"{x(offset):.1f},{y(value / per_nurse):.1f}")
                previous = value
        if previous is not None:
            points.append(f"{x(len(values)):.1f},{y(previous / per_nurse):.1f}")
        peak = max(values, default=0)
        parts.append(
            format_html(
                '<polyline class="{}" fill="none" points="{}"><title>{}: at most {} patients, {} per nurse</title></polyline>',
                css,
                " ".join(points),
                name,
                peak,
                f"{peak / per_nurse:.1f}",
            )
        )
    parts.append(_threshold(width, y(limit), f"limit {limit} per nurse"))
    legend_x = LEFT
    for name, _values, css in series:
        parts.append(
            format_html(
                '<line class="{}" x1="{}" x2="{}" y1="{}" y2="{}"></line><text class="chart-legend" x="{}" y="{}">{}</text>',
                css,
                legend_x,
                legend_x + 12,
                LINE_HEIGHT - 9,
                LINE_HEIGHT - 9,
                legend_x + 16,
                LINE_HEIGHT - 5,
                name,
            )
        )
        legend_x += 28 + 7 * len(name)
    return _svg_close(parts)


def timeline_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    opens,
    length: int,
    chairs: Sequence[tuple[int, str]],
    bars: Sequence[tuple[int, int, int, bool]],
) -> SafeString:
    """One row per chair, one bar per visit (chair, start, minutes, moved); moved visits marked."""
    rows = {pk: index for index, (pk, _name) in enumerate(chairs)}
    height = TOP + ROW * len(chairs) + 24
    width = LEFT + DAY_WIDTH + GAP
    span = max(length, 1)

    def x(offset: int) -> float:
        return LEFT + DAY_WIDTH * offset / span

    parts = [_svg_open(chart_id, width, height, title, description)]
    for index, (_pk, name) in enumerate(chairs):
        parts.append(
            format_html(
                '<text class="chart-scale" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT - 4,
                TOP + ROW * index + ROW - 3,
                name[:8],
            )
        )
    for offset, label in _hour_ticks(opens, length):
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
                '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                f"{x(offset):.1f}",
                f"{x(offset):.1f}",
                TOP,
                TOP + ROW * len(chairs),
                f"{x(offset):.1f}",
                height - 8,
                label,
            )
        )
    for chair, start, minutes_long, moved in bars:
        if chair not in rows:
            continue
        parts.append(
            format_html(
                '<rect class="{}" x="{}" y="{}" width="{}" height="{}"></rect>',
                "chart-series-1" if moved else "chart-series-0",
                f"{x(start):.1f}",
                TOP + ROW * rows[chair] + 1,
                f"{max(x(start + minutes_long) - x(start) - 1, 1):.1f}",
                ROW - 2,
            )
        )
    return _svg_close(parts)
