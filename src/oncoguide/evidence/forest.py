"""Forest plot of per-study proportions with the pooled estimate, as a self-contained SVG (no fonts,
scripts or images loaded from anywhere).

Two layouts of the same plot: "wide" puts label, interval and numbers side by side (800 px, for a desk), and
"narrow" stacks each study as its label, its numbers and its interval below them (340 px wide, drawn at a phone's
width so its text stays at least 12 px; the page shows one or the other by the screen's width)."""

from __future__ import annotations

import textwrap
from xml.sax.saxutils import escape

from oncoguide.evidence import stats

ROW = 22
LEFT = 250  # label column
PLOT = 360  # plot width (0-100%)
RIGHT = 190  # numbers column

NARROW = 340  # narrow layout: width of the whole plot
NARROW_FONT = 13  # shown at 340-400 px on a phone, so at 12.5 px or more
NARROW_LINE = 17
NARROW_CHARS = 44  # characters a label line holds at that size


def _pct(p: float) -> str:
    return f"{100 * p:.1f}"


def _numbers(e: int, n: int, ci: stats.Proportion) -> str:
    return f"{e}/{n}  {_pct(ci.p)}% ({_pct(ci.low)} to {_pct(ci.high)})"


def _note(pooled: stats.MetaResult, corrected: int, plow: float, phigh: float) -> str:
    note = (
        f"τ² = {pooled.tau2:.3f}; I² = {pooled.i2:.1f}%; Q = {pooled.q:.2f} ({stats.p_text(pooled.q_p)}); "
        f"dashed line: 95% prediction interval {_pct(plow)} to {_pct(phigh)}%"
    )
    if corrected:
        studies = "study" if corrected == 1 else "studies"
        note += f"; {corrected} {studies} with 0 or all events: 0.5 added to each cell for the logit"
    return note


def forest_svg(
    title: str, rows: list[tuple[str, int, int]], pooled: stats.MetaResult, corrected: int, layout: str = "wide"
) -> str:
    """rows: (label, events, n). The pooled estimate is drawn as a diamond on the proportion scale."""
    if layout == "narrow":
        return _narrow(title, rows, pooled, corrected)
    if layout != "wide":
        raise ValueError(f"unknown forest plot layout '{layout}'; use wide or narrow")
    height = ROW * (len(rows) + 6) + 20
    width = LEFT + PLOT + RIGHT

    def x(p: float) -> float:
        return LEFT + PLOT * min(1.0, max(0.0, p))

    weights = _weights(rows, pooled)
    wmax = max(weights)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wide" width="{width}" height="{height}" '
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
            f'<text x="{LEFT + PLOT + 10}" y="{y + 4}">{escape(_numbers(e, n, ci))}</text>',
        ]
        y += ROW
    est, low, high, plow, phigh = pooled.back(stats.expit)
    y += ROW / 2
    out += [
        f'<line x1="{x(plow):.1f}" x2="{x(phigh):.1f}" y1="{y}" y2="{y}" stroke="#888" stroke-dasharray="4 3"/>',
        f'<polygon points="{x(low):.1f},{y} {x(est):.1f},{y - 7} {x(high):.1f},{y} {x(est):.1f},{y + 7}" '
        f'fill="#b22222"/>',
        f'<text x="10" y="{y + 4}" font-weight="bold">Random effects ({pooled.method}), k = {pooled.k}</text>',
        f'<text x="{LEFT + PLOT + 10}" y="{y + 4}" font-weight="bold">{_pct(est)}% '
        f"({_pct(low)} to {_pct(high)})</text>",
    ]
    axis_y = y + ROW
    out += _axis(x, axis_y)
    note = _note(pooled, corrected, plow, phigh)
    out += [f'<text x="10" y="{axis_y + 36}" font-size="11">{escape(note)}</text>', "</svg>"]
    return "\n".join(out) + "\n"


def _weights(rows: list[tuple[str, int, int]], pooled: stats.MetaResult) -> list[float]:
    return [1 / (stats.logit_proportion(e, n)[1] + pooled.tau2) for _, e, n in rows]


def _axis(x, axis_y: float, font: int | None = None) -> list[str]:
    size = f' font-size="{font}"' if font else ""
    out = [f'<line x1="{x(0):.1f}" x2="{x(1):.1f}" y1="{axis_y}" y2="{axis_y}" stroke="black"/>']
    for t in range(0, 101, 20):
        out += [
            f'<line x1="{x(t / 100):.1f}" x2="{x(t / 100):.1f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="black"/>',
            f'<text x="{x(t / 100):.1f}" y="{axis_y + 17}" text-anchor="middle"{size}>{t}%</text>',
        ]
    return out


def _narrow(title: str, rows: list[tuple[str, int, int]], pooled: stats.MetaResult, corrected: int) -> str:
    """One study a block: its label (wrapped), its numbers, then its interval across the full width."""
    margin = 22  # room for the axis labels at 0% and 100%

    def x(p: float) -> float:
        return margin + (NARROW - 2 * margin) * min(1.0, max(0.0, p))

    weights = _weights(rows, pooled)
    wmax = max(weights)
    body: list[str] = []
    y = 0.0

    def lines(text: str, bold: bool = False, size: int = NARROW_FONT, chars: int = NARROW_CHARS) -> None:
        nonlocal y
        weight = ' font-weight="bold"' if bold else ""
        for line in textwrap.wrap(text, chars):
            y += NARROW_LINE if size >= NARROW_FONT else NARROW_LINE - 2
            body.append(f'<text x="6" y="{y:.0f}" font-size="{size}"{weight}>{escape(line)}</text>')

    lines(title, bold=True, size=14, chars=40)
    y += 6
    lines("Each study: events/n, % (95% CI), then its interval on a 0 to 100% scale.")
    y += 4
    for (label, e, n), w in zip(rows, weights, strict=True):
        ci = stats.clopper_pearson(e, n)
        y += 6
        lines(label, bold=True)
        lines(_numbers(e, n, ci))
        y += 12
        size = 4 + 8 * (w / wmax) ** 0.5
        body += [
            f'<line x1="{x(0):.1f}" x2="{x(1):.1f}" y1="{y:.0f}" y2="{y:.0f}" stroke="#d0d5dc"/>',
            f'<line x1="{x(ci.low):.1f}" x2="{x(ci.high):.1f}" y1="{y:.0f}" y2="{y:.0f}" stroke="black" '
            'stroke-width="1.5"/>',
            f'<rect x="{x(ci.p) - size / 2:.1f}" y="{y - size / 2:.1f}" width="{size:.1f}" '
            f'height="{size:.1f}" fill="#1f4e79"/>',
        ]
        y += 4
    est, low, high, plow, phigh = pooled.back(stats.expit)
    y += 10
    lines(f"Random effects ({pooled.method}), k = {pooled.k}", bold=True)
    lines(f"{_pct(est)}% ({_pct(low)} to {_pct(high)})", bold=True)
    y += 14
    body += [
        f'<line x1="{x(plow):.1f}" x2="{x(phigh):.1f}" y1="{y:.0f}" y2="{y:.0f}" stroke="#888" '
        'stroke-dasharray="4 3"/>',
        f'<polygon points="{x(low):.1f},{y:.0f} {x(est):.1f},{y - 8:.0f} {x(high):.1f},{y:.0f} '
        f'{x(est):.1f},{y + 8:.0f}" fill="#b22222"/>',
    ]
    y += 14
    body += _axis(x, y, NARROW_FONT)
    y += 22
    lines(_note(pooled, corrected, plow, phigh), size=12, chars=48)
    height = round(y + 10)
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="narrow" width="{NARROW}" height="{height}" '
        f'viewBox="0 0 {NARROW} {height}" font-family="sans-serif" font-size="{NARROW_FONT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{NARROW}" height="{height}" fill="white"/>',
    ]
    return "\n".join(head + body + ["</svg>"]) + "\n"
