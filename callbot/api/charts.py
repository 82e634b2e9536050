"""Server-rendered inline SVG charts (no JavaScript library, nothing fetched from the internet)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR_COLOUR = "#2563eb"
AXIS_COLOUR = "#9ca3af"


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>')


def column_chart(points: Sequence[tuple[str, float]], *, title: str, width: int = 720, height: int = 220,
                 label_every: int = 1) -> Markup:
    """Vertical bars (one per point) with the value above each non-zero bar and every n-th label below."""
    left, bottom, top = 8, 28, 18
    plot_h = height - bottom - top
    peak = max((v for _, v in points), default=0) or 1
    slot = (width - 2 * left) / max(len(points), 1)
    parts = [_svg_open(width, height, title)]
    for index, (label, value) in enumerate(points):
        bar_h = plot_h * value / peak
        x = left + index * slot + slot * 0.15
        y = top + plot_h - bar_h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" '
                     f'fill="{BAR_COLOUR}"><title>{escape(label)}: {_number(value)}</title></rect>')
        if value:
            parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" font-size="10" '
                         f'text-anchor="middle">{_number(value)}</text>')
        if index % label_every == 0:
            parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 10}" font-size="10" '
                         f'text-anchor="middle" fill="#374151">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" '
                 f'stroke="{AXIS_COLOUR}"/></svg>')
    return Markup("".join(parts))


def bar_chart(points: Sequence[tuple[str, float]], *, title: str, width: int = 420) -> Markup:
    """Horizontal bars with the label on the left and the value at the bar's end (outcomes, categories)."""
    row_h, label_w, pad = 26, 170, 40
    height = max(len(points), 1) * row_h + 8
    peak = max((v for _, v in points), default=0) or 1
    parts = [_svg_open(width, height, title)]
    for index, (label, value) in enumerate(points):
        y = 4 + index * row_h
        bar_w = (width - label_w - pad) * value / peak
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" font-size="12" text-anchor="end" '
                     f'fill="#374151">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w:.1f}" height="{row_h - 8}" '
                     f'fill="{BAR_COLOUR}"><title>{escape(label)}: {_number(value)}</title></rect>')
        parts.append(f'<text x="{label_w + bar_w + 4:.1f}" y="{y + 16}" font-size="12">{_number(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
