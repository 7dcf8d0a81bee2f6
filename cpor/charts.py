"""Charts drawn by the server as inline SVG: no script, no external library, no CDN.

A chart is a picture of numbers the page also shows as a table; it carries a <title> and a
<desc> (read by screen readers through `aria-labelledby`), each point a <title> with its
value, and each line a dash pattern of its own besides its colour, so that neither colour
nor the picture alone carries the meaning.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 28, 16, 56  # RIGHT: room for half the last label ("2026-12")
# Colour and dash of the first, second, ... line (colour-blind-safe pair first).
STYLES = (("#0b62a4", ""), ("#d95f02", "6 4"), ("#1b9e77", "2 3"), ("#7570b3", "8 3 2 3"))


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label; None: no figure that month or week


def nice_ceiling(value: float) -> float:
    """The round number (1, 2 or 5 times a power of ten) at or above `value`: the axis' top."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover (the loop always returns)


def _at(coordinate: float) -> str:
    """A coordinate to a tenth of a pixel, without a trailing ".0"."""
    return f"{coordinate:.1f}".removesuffix(".0")


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_format: Callable[[float], str] = _number,
    y_max: float | None = None,
) -> SafeString:
    """An SVG line chart of `series` over `labels` (months, weeks), y from zero.

    Each text is escaped once, and each point's position worked out once, however many
    elements repeat them: the Usage page draws a dozen charts a request."""
    known = [value for line in series for value in line.values if value is not None]
    top = y_max if y_max is not None else nice_ceiling(max(known, default=0))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(labels)
    # Where each label stands, and what a value is read as (both escaped).
    if count > 1:
        xs = [_at(LEFT + plot_width * index / (count - 1)) for index in range(count)]
    else:
        xs = [_at(LEFT + plot_width / 2)] * count
    label_texts = [_escape(label) for label in labels]

    def y(value: float) -> float:
        return TOP + plot_height * (1 - value / top)

    chart = _escape(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cpor-chart" id="{chart}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{chart}-title {chart}-desc" style="max-width:{WIDTH}px">'
        f'<title id="{chart}-title">{_escape(title)}</title>'
        f'<desc id="{chart}-desc">{_escape(description)}</desc>'
    ]
    # Horizontal grid with the values, four steps up from zero. Elements inherit what they
    # share from their group: a page holds up to a dozen charts and must stay small.
    levels = [(top * step / 4, y(top * step / 4)) for step in range(5)]
    grid = "".join(f"M{LEFT} {_at(level)}H{WIDTH - RIGHT}" for _, level in levels)
    parts.append(f'<path d="{grid}" stroke="#ddd" stroke-width="1"/><g font-size="11" fill="#555" text-anchor="end">')
    parts.extend(
        f'<text x="{LEFT - 6}" y="{_at(level + 4)}">{_escape(value_format(value))}</text>' for value, level in levels
    )
    # Labels along the bottom: at most about twelve, always the first and the last.
    parts.append('</g><g font-size="11" fill="#555" text-anchor="middle">')
    every = max(1, math.ceil(count / 12))
    parts.extend(
        f'<text x="{xs[index]}" y="{HEIGHT - BOTTOM + 16}">{label_texts[index]}</text>'
        for index in range(count)
        if not index % every or index == count - 1
    )
    parts.append("</g>")
    # One line per series, broken where a figure is missing; a dot with its value per point.
    for number, line in enumerate(series):
        colour, dash = STYLES[number % len(STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        name = _escape(line.name)
        points = [(index, value, _at(y(value))) for index, value in enumerate(line.values[:count]) if value is not None]
        parts.append(f'<g class="series" data-series="{number}" fill="{colour}">')
        run: list[str] = []
        previous = None
        for index, _value, at in points:
            if previous is not None and index != previous + 1:  # a missing figure ends the run
                if len(run) > 1:
                    parts.append(_polyline(colour, dash_attr, run))
                run = []
            run.append(f"{xs[index]},{at}")
            previous = index
        if len(run) > 1:
            parts.append(_polyline(colour, dash_attr, run))
        parts.extend(
            f'<circle cx="{xs[index]}" cy="{at}" r="3">'
            f"<title>{name}, {label_texts[index]}: {_escape(value_format(value))}</title></circle>"
            for index, value, at in points
        )
        # The legend, under the labels.
        legend_x = LEFT + number * 200
        legend_y = HEIGHT - 14
        parts.append(
            f'</g><line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 24}" y2="{legend_y - 4}" '
            f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
            f'<text x="{legend_x + 30}" y="{legend_y}" font-size="12" fill="#333">{name}</text>'
        )
    parts.append("</svg>")
    # Every piece of text above went through _escape(); the rest is our own markup.
    return mark_safe("".join(parts))  # noqa: S308


def _polyline(colour: str, dash_attr: str, points: list[str]) -> str:
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} points="{" ".join(points)}"/>'


def _escape(text) -> str:
    """django.utils.html.escape's escaping (it calls html.escape too), without a SafeString
    per piece of text; str() for lazy translations and numbers."""
    return html.escape(str(text))
