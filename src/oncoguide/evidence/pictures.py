"""Icon arrays for patients: a study's rate drawn as 100 people, some of them filled ("out of 100 people like
those in the study, about 21 had the tumor come back"). Drawn only for statistics whose definition gives the
patient words for what happened to the people counted (recurrence and response figures), never for others.

The figure's numbers come from the study counts, like every other figure; the SVG is self-contained."""

from __future__ import annotations

from dataclasses import dataclass

from oncoguide.evidence.topics import EvidenceTopic

COLUMNS = 10
CELL = 16  # px a person: 160 x 160 for 100 people, about 1 cm a row on a phone
FILLED = "#1f4e79"  # 8.7:1 against white
EMPTY = "#9aa4b1"  # outline of the others, filled lightly so they are never read as filled


@dataclass(frozen=True)
class IconArray:
    stat: str
    phrase: str  # patient words: "had the tumor come back after Mohs surgery"
    x: int
    n: int

    @property
    def per_100(self) -> int:
        """People out of 100 (rounded half up), at least 1 when any event happened, at most 99 unless all did."""
        k = (200 * self.x + self.n) // (2 * self.n)
        if self.x and k == 0:
            return 1
        if self.x < self.n and k == 100:
            return 99
        return k

    @property
    def sentence(self) -> str:
        return f"Out of 100 people like those in the study, about {self.per_100} {self.phrase}."


def icon_arrays(topics: tuple[EvidenceTopic, ...], stat: str | None) -> list[IconArray]:
    """The icon arrays for a statement quoting `stat`: that statistic and the ones it is compared with in its
    topic, in the comparison's order; only those with patient words."""
    if not stat:
        return []
    for t in topics:
        defs = {d.id: d for d in t.statistics}
        if stat not in defs:
            continue
        ids = [stat]
        for c in t.comparisons:
            if stat in (c.a, c.b):
                ids = [c.a, c.b]
                break
        out = []
        for sid in ids:
            d = defs.get(sid)
            if d is None or not d.patient:
                continue
            x = n = 0
            for study in t.studies:
                for arm in study.arms:
                    attrs = dict(arm.attrs, study=study.id, design=study.design)
                    if all(attrs.get(k) in vals for k, vals in d.where.items()):
                        x += sum(arm.counts.get(c, 0) for c in d.numerator)
                        n += arm.n
            if n:
                out.append(IconArray(sid, d.patient, x, n))
        return out
    return []


def icon_array_svg(arr: IconArray) -> str:
    """100 small figures in rows of ten, the first `per_100` filled. Hidden from screen readers: the sentence
    beside it says the same in words."""
    k = arr.per_100
    size = COLUMNS * CELL
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="icon-array" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" aria-hidden="true" focusable="false">'
    ]
    for i in range(100):
        cx, top = (i % COLUMNS) * CELL + CELL / 2, (i // COLUMNS) * CELL
        fill, stroke = (FILLED, FILLED) if i < k else ("#f4f6f8", EMPTY)
        # a head and shoulders, 12 px tall
        parts.append(
            f'<g fill="{fill}" stroke="{stroke}"><circle cx="{cx}" cy="{top + 4.5}" r="3"/>'
            f'<path d="M{cx - 5} {top + 14.5}v-3a5 3.5 0 0 1 10 0v3z"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
