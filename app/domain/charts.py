"""Server-rendered SVG charts: the page shows them without JavaScript and WeasyPrint prints the same SVG in
the PDF. Every text is XML-escaped here, so the SVG may be inserted as markup."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b"]
LIGHT_COLOURS = {"green": "#16a34a", "yellow": "#eab308", "red": "#dc2626", "paused": "#64748b"}
LIGHT_WORDS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "paused": "暂停"}
FONT = 'font-family="Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif" font-size="12"'


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT}><title>{escape(title)}</title>'
            f'<text x="4" y="16" font-size="14" font-weight="bold">{escape(title)}</text>{"".join(body)}</svg>')


def bar_chart(title: str, items: Sequence[tuple[str, float]], *, width: int = 640, percent: bool = False,
              most: int = 15) -> str:
    """Horizontal bars, largest first as given (at most `most`)."""
    items = list(items)[:most]
    label_w, row_h, top = 170, 22, 28
    height = top + row_h * max(len(items), 1) + 8
    peak = max((v for _, v in items), default=0) or 1
    body = []
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        bar = (width - label_w - 70) * value / peak
        shown = f"{value * 100:.1f}%" if percent else f"{value:,.0f}"
        body.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label[:14])}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row_h - 6}" fill="{PALETTE[0]}"/>'
                    f'<text x="{label_w + bar + 4:.1f}" y="{y + 15}">{shown}</text>')
    if not items:
        body.append(f'<text x="{label_w}" y="{top + 15}">无数据</text>')
    return _svg(width, height, title, body)


def line_chart(title: str, series: dict[str, Sequence[int]], labels: Sequence[str], *, width: int = 640,
               height: int = 240) -> str:
    """One line per series over the same labels (e.g. this year vs last, month by month)."""
    left, right, top, bottom = 56, 16, 44, 28
    top = max((v for values in series.values() for v in values), default=0)
    peak = max(4, -(-top // 4) * 4)  # a multiple of 4: the five grid lines fall on whole numbers
    n = max(len(labels) - 1, 1)
    plot_w, plot_h = width - left - right, height - top - bottom
    body = []
    for k in range(5):
        value = peak * k / 4
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                    f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    for i, label in enumerate(labels):
        x = left + plot_w * i / n
        body.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>')
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{left + plot_w * i / n:.1f},{top + plot_h - plot_h * v / peak:.1f}"
                          for i, v in enumerate(values))
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
                    f'<rect x="{left + 110 * s}" y="24" width="12" height="12" fill="{colour}"/>'
                    f'<text x="{left + 110 * s + 16}" y="34">{escape(name)}</text>')
    return _svg(width, height, title, body)


def light_bars(title: str, rows: Sequence[dict[str, object]], *, width: int = 640, most: int = 15) -> str:
    """Stacked bars of the ready tasks per unit by light."""
    rows = list(rows)[:most]
    label_w, row_h, top = 170, 22, 44
    totals = [sum(int(r[c]) for c in LIGHT_COLOURS) for r in rows]  # type: ignore[call-overload]
    peak = max(totals, default=0) or 1
    body = [f'<rect x="{label_w + 70 * i}" y="24" width="12" height="12" fill="{colour}"/>'
            f'<text x="{label_w + 70 * i + 16}" y="34">{LIGHT_WORDS[name]}</text>'
            for i, (name, colour) in enumerate(LIGHT_COLOURS.items())]
    for i, (row, total) in enumerate(zip(rows, totals, strict=True)):
        y, x = top + i * row_h, float(label_w)
        body.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(str(row["unit"])[:14])}</text>')
        for name, colour in LIGHT_COLOURS.items():
            w = (width - label_w - 70) * int(row[name]) / peak  # type: ignore[call-overload]
            body.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>')
            x += w
        body.append(f'<text x="{x + 4:.1f}" y="{y + 15}">{total:,}</text>')
    return _svg(width, top + row_h * max(len(rows), 1) + 8, title, body)
