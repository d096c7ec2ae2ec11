"""Forest plot of per-study proportions with the pooled estimate, as a self-contained SVG (no fonts,
scripts or images loaded from anywhere)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from oncoguide.evidence import stats

ROW = 22
LEFT = 250  # label column
PLOT = 360  # plot width (0-100%)
RIGHT = 190  # numbers column


def forest_svg(title: str, rows: list[tuple[str, int, int]], pooled: stats.MetaResult, corrected: int) -> str:
    """rows: (label, events, n). The pooled estimate is drawn as a diamond on the proportion scale."""
    height = ROW * (len(rows) + 6) + 20
    width = LEFT + PLOT + RIGHT

    def x(p: float) -> float:
        return LEFT + PLOT * min(1.0, max(0.0, p))

    weights = [1 / (stats.logit_proportion(e, n)[1] + pooled.tau2) for _, e, n in rows]
    wmax = max(weights)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="10" y="{ROW * 2}" font-weight="bold">Study</text>',
        f'<text x="{LEFT + PLOT + 10}" y="{ROW * 2}" font-weight="bold">Events/n  % (95% CI)</text>',
    ]
    y: float = ROW * 3  # grows by half rows below the study rows
    for (label, e, n), w in zip(rows, weights, strict=True):
        ci = stats.clopper_pearson(e, n)
        size = 4 + 8 * (w / wmax) ** 0.5
        out += [
            f'<text x="10" y="{y + 4}">{escape(label)}</text>',
            f'<line x1="{x(ci.low):.1f}" x2="{x(ci.high):.1f}" y1="{y}" y2="{y}" stroke="black"/>',
            f'<rect x="{x(ci.p) - size / 2:.1f}" y="{y - size / 2:.1f}" width="{size:.1f}" '
            f'height="{size:.1f}" fill="#1f4e79"/>',
            f'<text x="{LEFT + PLOT + 10}" y="{y + 4}">{e}/{n}  {100 * ci.p:.1f} '
            f"({100 * ci.low:.1f}-{100 * ci.high:.1f})</text>",
        ]
        y += ROW
    est, low, high, plow, phigh = pooled.back(stats.expit)
    y += ROW / 2
    out += [
        f'<line x1="{x(plow):.1f}" x2="{x(phigh):.1f}" y1="{y}" y2="{y}" stroke="#888" stroke-dasharray="4 3"/>',
        f'<polygon points="{x(low):.1f},{y} {x(est):.1f},{y - 7} {x(high):.1f},{y} {x(est):.1f},{y + 7}" '
        f'fill="#b22222"/>',
        f'<text x="10" y="{y + 4}" font-weight="bold">Random effects ({pooled.method}), k = {pooled.k}</text>',
        f'<text x="{LEFT + PLOT + 10}" y="{y + 4}" font-weight="bold">{100 * est:.1f} '
        f"({100 * low:.1f}-{100 * high:.1f})</text>",
    ]
    axis_y = y + ROW
    out.append(f'<line x1="{LEFT}" x2="{LEFT + PLOT}" y1="{axis_y}" y2="{axis_y}" stroke="black"/>')
    for t in range(0, 101, 20):
        out += [
            f'<line x1="{x(t / 100):.1f}" x2="{x(t / 100):.1f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="black"/>',
            f'<text x="{x(t / 100):.1f}" y="{axis_y + 16}" text-anchor="middle">{t}%</text>',
        ]
    note = (
        f"tau2 = {pooled.tau2:.3f}; I2 = {pooled.i2:.1f}%; Q = {pooled.q:.2f} (p = {pooled.q_p:.3f}); "
        f"dashed line: 95% prediction interval {100 * plow:.1f}-{100 * phigh:.1f}%"
    )
    if corrected:
        note += f"; {corrected} study with 0 or all events: 0.5 added to each cell for the logit"
    out += [f'<text x="10" y="{axis_y + 36}" font-size="11">{escape(note)}</text>', "</svg>"]
    return "\n".join(out) + "\n"
