"""A patient handout from a patient answer: its main points, short enough for one or two printed pages.

The handout decides what of the answer it keeps (the first statements of each section, which `compose` already put
best first), so the page and the PDF only format it. Sources are renumbered in order of first use in the handout,
so its reference list has no gaps and cites nothing the handout does not say.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from oncoguide.engine.compose import Answer
from oncoguide.engine.numbering import Reference

# the flagship answer's handout fits two A4 pages with these, from WeasyPrint and from Chromium (tested): every
# section's first statement, and more of the first sections (compose puts the one that answers the question's type
# first) up to the total
POINTS = 11
POINTS_PER_SECTION = 3


@dataclass(frozen=True)
class Point:
    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True)
class HandoutSection:
    id: str
    heading: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Disagreement:
    topic: str
    summary: str
    citations: tuple[int, ...]  # every side's sources


@dataclass(frozen=True)
class Handout:
    title: str
    question: str
    bottom_line: Point
    notes: tuple[str, ...]
    sections: tuple[HandoutSection, ...]
    disagreements: tuple[Disagreement, ...]
    questions: tuple[str, ...]  # to ask the care team: the answer's follow-up questions
    references: tuple[Reference, ...]
    disclaimer: str
    updated: str
    shown: int  # statements of the answer the handout shows
    total: int  # statements of the answer

    def text(self) -> str:
        """The handout's patient wording (no references), for its reading grade."""
        parts = [self.bottom_line.text, *self.notes]
        parts += [p.text for s in self.sections for p in s.points]
        parts += [d.summary for d in self.disagreements]
        return " ".join(parts)


class _Renumber:
    def __init__(self) -> None:
        self.order: dict[int, int] = {}

    def __call__(self, nums) -> tuple[int, ...]:
        out: list[int] = []
        for n in nums:
            new = self.order.setdefault(n, len(self.order) + 1)
            if new not in out:
                out.append(new)
        return tuple(out)


def shares(sizes: list[int], total: int, per_section: int) -> list[int]:
    """How many statements of each section to keep: one each, then more for the first sections, up to `total`."""
    keep = [min(1, n) for n in sizes]
    left = total - sum(keep)
    for i, n in enumerate(sizes):
        extra = min(max(0, min(n, per_section) - keep[i]), max(left, 0))
        keep[i] += extra
        left -= extra
    return keep


def handout(answer: Answer, total: int = POINTS, per_section: int = POINTS_PER_SECTION) -> Handout:
    """The handout of an in-scope answer (written for patients: pass the patient answer)."""
    if not answer.in_scope:
        raise ValueError("an answer outside the pack's scope has no handout")
    renumber = _Renumber()
    bottom = Point(answer.bottom_line, renumber(answer.bottom_line_citations))
    kept = [s for s in answer.sections if s.statements]
    sizes = shares([len(s.statements) for s in kept], total, per_section)
    sections = tuple(
        HandoutSection(s.id, s.heading, tuple(Point(st.text, renumber(st.citations)) for st in s.statements[:k]))
        for s, k in zip(kept, sizes, strict=True)
    )
    disagreements = tuple(
        Disagreement(c.topic, c.summary, renumber([n for side in c.sides for n in side.citations]))
        for c in answer.conflicts
    )
    by_old = {r.n: r for r in answer.references}
    references = tuple(
        replace(by_old[old], n=new) for old, new in sorted(renumber.order.items(), key=lambda item: item[1])
    )
    return Handout(
        title=answer.title,
        question=answer.question,
        bottom_line=bottom,
        notes=tuple(answer.notes),
        sections=sections,
        disagreements=disagreements,
        questions=tuple(answer.follow_up_questions),
        references=references,
        disclaimer=answer.disclaimer,
        updated=answer.updated,
        shown=sum(len(s.points) for s in sections),
        total=len(answer.statements()),
    )
