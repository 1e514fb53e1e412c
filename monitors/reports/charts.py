"""Inline SVG charts of the HTML/PDF report (no scripts, no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_ROW = 22
_LABEL_W = 260
_BAR_W = 360
_PAD = 8


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: label, value in ``[0, scale]``, optional interval, and a flag."""

    label: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    flagged: bool = False


def _x(value: float, scale: float) -> float:
    return _LABEL_W + _BAR_W * min(max(value / scale, 0.0), 1.0)


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    scale: float = 1.0,
    reference: float | None = None,
    reference_label: str = "",
) -> Markup:
    """A horizontal bar chart as an inline ``<svg>`` element (all text escaped).

    Bars of flagged groups (insufficient data or failing) are hatched grey; whiskers
    show the interval; ``reference`` draws a dashed vertical line (e.g. four-fifths).
    """
    height = _PAD * 2 + _ROW * (len(bars) + 1)
    width = _LABEL_W + _BAR_W + 70
    parts = [
        f'<svg role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = _PAD + i * _ROW
        label = bar.label if len(bar.label) <= 40 else bar.label[:39] + "…"
        parts.append(
            f'<text x="{_LABEL_W - 6}" y="{y + 15}" text-anchor="end" font-size="11">'
            f"{escape(label)}</text>"
        )
        if bar.value is None:
            parts.append(f'<text x="{_LABEL_W + 4}" y="{y + 15}" font-size="11">undefined</text>')
            continue
        fill = "#9e9e9e" if bar.flagged else "#3b6ea5"
        x1 = _x(bar.value, scale)
        parts.append(
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{x1 - _LABEL_W:.1f}" height="14" '
            f'fill="{fill}"/>'
        )
        if bar.ci_low is not None and bar.ci_high is not None:
            lo, hi = _x(bar.ci_low, scale), _x(bar.ci_high, scale)
            parts.append(
                f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{y + 11}" y2="{y + 11}" '
                'stroke="#222" stroke-width="1"/>'
                f'<line x1="{lo:.1f}" x2="{lo:.1f}" y1="{y + 7}" y2="{y + 15}" stroke="#222"/>'
                f'<line x1="{hi:.1f}" x2="{hi:.1f}" y1="{y + 7}" y2="{y + 15}" stroke="#222"/>'
            )
        parts.append(
            f'<text x="{_LABEL_W + _BAR_W + 6}" y="{y + 15}" font-size="11">{bar.value:.4f}</text>'
        )
    axis_y = _PAD + len(bars) * _ROW
    parts.append(
        f'<line x1="{_LABEL_W}" x2="{_LABEL_W + _BAR_W}" y1="{axis_y}" y2="{axis_y}" '
        'stroke="#222"/>'
        f'<text x="{_LABEL_W}" y="{axis_y + 14}" font-size="10">0</text>'
        f'<text x="{_LABEL_W + _BAR_W}" y="{axis_y + 14}" font-size="10" '
        f'text-anchor="end">{scale:g}</text>'
    )
    if reference is not None:
        xr = _x(reference, scale)
        parts.append(
            f'<line x1="{xr:.1f}" x2="{xr:.1f}" y1="{_PAD}" y2="{axis_y}" stroke="#b00020" '
            'stroke-dasharray="4 3"/>'
            f'<text x="{xr:.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle" '
            f'fill="#b00020">{escape(reference_label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
