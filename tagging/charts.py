"""Server-rendered SVG charts for the staff dashboard.

Drawn here rather than by a JavaScript library because the machines running Shelfsight may
have no internet: the page must be complete as served.
"""

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#4c6ef5", "#e8590c", "#2f9e44", "#ae3ec9", "#1098ad", "#f08c00", "#c92a2a", "#495057")


def colour_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _number(value) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


# Drawn 480 units wide: a panel shows it at 300–700 px, so 13-unit text reads at 8–19 px
# (at 720 units the same text fell to about 8 px on a laptop).
CHART_WIDTH = 480


def stacked_bars(
    *,
    categories: Sequence[str],
    series: dict[str, Sequence],
    unit: str = "",
    width: int = CHART_WIDTH,
    height: int = 220,
) -> SafeString:
    """Vertical bars per category (e.g. day), stacked by series (e.g. model), with a legend."""
    if not categories:
        return mark_safe('<p class="ss-empty">No data in this period.</p>')
    left, bottom, top = 56, 36, 12
    plot_width, plot_height = width - left - 12, height - bottom - top
    totals = [sum(_number(values[i]) for values in series.values()) for i in range(len(categories))]
    peak = max(totals) or 1.0
    slot = plot_width / len(categories)
    bar = min(56.0, max(2.0, slot * 0.7))
    parts = [
        f'<svg class="ss-chart" viewBox="0 0 {width} {height + 24 * ((len(series) + 2) // 3)}" '
        f'role="img" xmlns="http://www.w3.org/2000/svg">'
    ]
    for step in range(5):
        value = peak * step / 4
        y = top + plot_height - plot_height * step / 4
        parts.append(f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" class="ss-grid"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="ss-axis">{_with_unit(value, unit)}</text>'
        )
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_height
        for index, (name, values) in enumerate(series.items()):
            value = _number(values[i])
            if value <= 0:
                continue
            h = plot_height * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour_for(index)}">'
                f"<title>{escape(category)} · {escape(name)}: {_with_unit(value, unit)}</title></rect>"
            )
        if len(categories) <= 7 or i % max(1, -(-len(categories) // 6)) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_height + 16}" text-anchor="middle" class="ss-axis">'
                f"{escape(category)}</text>"
            )
    parts.append(_legend(list(series), y=height + 4, width=width))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every label went through escape()


def horizontal_bars(
    *, rows: Sequence[tuple[str, Sequence]], series_names: Sequence[str], unit: str = "", width: int = CHART_WIDTH
) -> SafeString:
    """One group of horizontal bars per row label (e.g. model), one bar per series (e.g. p50, p95)."""
    if not rows:
        return mark_safe('<p class="ss-empty">No data in this period.</p>')
    label_width, bar_height, gap = 130, 18, 10
    group_height = bar_height * len(series_names) + gap
    height = group_height * len(rows) + 10
    peak = max((_number(v) for _, values in rows for v in values), default=0) or 1.0
    plot_width = width - label_width - 80
    parts = [
        f'<svg class="ss-chart" viewBox="0 0 {width} {height + 24 * ((len(series_names) + 2) // 3) + 4}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for row_index, (label, values) in enumerate(rows):
        y0 = 5 + row_index * group_height
        parts.append(
            f'<text x="{label_width - 8}" y="{y0 + group_height / 2:.1f}" text-anchor="end" class="ss-label">'
            f"{escape(label)}</text>"
        )
        for index, value in enumerate(values):
            y = y0 + index * bar_height
            w = plot_width * _number(value) / peak
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_height - 2}" fill="{colour_for(index)}">'
                f"<title>{escape(label)} · {escape(series_names[index])}: {_number(value):.4g}{escape(unit)}</title>"
                f'</rect><text x="{label_width + w + 4:.1f}" y="{y + bar_height - 4}" class="ss-axis">'
                f"{_number(value):.4g}{escape(unit)}</text>"
            )
    parts.append(_legend(list(series_names), y=height + 4, width=width))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every label went through escape()


def _with_unit(value: float, unit: str) -> str:
    return f"${value:.3g}" if unit == "$" else f"{value:.3g}{escape(unit)}"


def _legend(names: list[str], *, y: float, width: int) -> str:
    parts = []
    per_row = 3
    column = width // per_row
    for index, name in enumerate(names):
        x = 12 + column * (index % per_row)
        row_y = y + 22 * (index // per_row)
        parts.append(
            f'<rect x="{x}" y="{row_y + 4}" width="12" height="12" fill="{colour_for(index)}"/>'
            f'<text x="{x + 18}" y="{row_y + 15}" class="ss-label">{escape(name)}</text>'
        )
    return "".join(parts)
