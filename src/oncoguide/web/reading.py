"""The answer page as a reading tool: where each part of an Answer sits on the page and how the parts link to
one another (table of contents, citation anchors, each reference's way back to every place citing it, each
disagreement beside the statements it concerns). Decides layout only; the content is the Answer's."""

from __future__ import annotations

from dataclasses import dataclass, field

from oncoguide.engine.certainty import Certainty, certainty
from oncoguide.engine.compose import Answer, Conflict

BOTTOM = "bl"  # the bottom line's place id


@dataclass(frozen=True)
class Place:
    """One passage that cites sources: the bottom line, a statement or a side of a disagreement."""

    id: str  # its anchor on the page ("bl", "st-surgery-2", "c-imatinib-starting-dose-1")
    label: str  # how a way back names it ("Bottom line", "Surgery, point 2")

    def cite_id(self, n: int) -> str:
        """The anchor of reference n's citation mark in this passage (a passage cites a source once)."""
        return f"cite-{self.id}-{n}"


@dataclass(frozen=True)
class TocEntry:
    href: str
    label: str


@dataclass
class Reading:
    toc: list[TocEntry]
    certainty: Certainty | None
    statements: dict[tuple[str, int], Place]  # (section id, index) -> place
    sides: dict[tuple[str, int], Place]  # (conflict id, index) -> place
    after_section: dict[str, list[Conflict]]  # the disagreements shown after each section
    about: dict[str, list[Conflict]]  # claim id -> the disagreements about it
    concerns: dict[str, list[Place]]  # conflict id -> the places it is about
    bottom_disputed: list[Conflict]  # disagreements about a statement the bottom line quotes whole
    bottom: Place
    cited_at: dict[int, list[Place]] = field(default_factory=dict)  # reference n -> places citing it, page order


def conflict_id(conflict: Conflict) -> str:
    return f"c-{conflict.id}"


def reading(answer: Answer, audience: str) -> Reading:
    bottom = Place(BOTTOM, "In short" if audience == "patient" else "Bottom line")
    statements: dict[tuple[str, int], Place] = {}
    home: dict[str, tuple[str, Place]] = {}  # claim id -> (section id, place)
    for sec in answer.sections:
        for i, st in enumerate(sec.statements, 1):
            place = Place(f"st-{sec.id}-{i}", f"{sec.heading}, point {i}")
            statements[(sec.id, i)] = place
            home.setdefault(st.claim_id, (sec.id, place))

    after_section: dict[str, list[Conflict]] = {}
    about: dict[str, list[Conflict]] = {}
    concerns: dict[str, list[Place]] = {}
    bottom_disputed: list[Conflict] = []
    cites = {st.claim_id: set(st.citations) for sec in answer.sections for st in sec.statements}
    for c in answer.conflicts:
        shown = [home[cid] for cid in c.claims if cid in home]
        concerns[c.id] = [place for _, place in shown]
        # a statement links to the disagreement when it cites one of its sources; one about a whole facet is
        # linked from its first statement only, not from every statement of the facet
        sources = {n for side in c.sides for n in side.citations}
        linked = [cid for cid in c.claims if cid in home and cites[cid] & sources] or [
            cid for cid in c.claims if cid in home
        ][:1]
        for cid in linked:
            about.setdefault(cid, []).append(c)
        if shown:
            after_section.setdefault(shown[0][0], []).append(c)
        if any(cid not in home for cid in c.claims):  # quoted whole by the bottom line, so not repeated below it
            bottom_disputed.append(c)
            concerns[c.id].insert(0, bottom)

    sides: dict[tuple[str, int], Place] = {}
    for c in answer.conflicts:
        for j, _ in enumerate(c.sides, 1):
            sides[(c.id, j)] = Place(f"{conflict_id(c)}-{j}", f"Where sources disagree: {c.topic}, view {j}")

    # the ways back from each reference, in the order the page shows the passages
    cited_at: dict[int, list[Place]] = {}

    def add(nums: list[int], place: Place) -> None:
        for n in nums:
            cited_at.setdefault(n, []).append(place)

    add(answer.bottom_line_citations, bottom)
    placed = set()
    for sec in answer.sections:
        for i, st in enumerate(sec.statements, 1):
            add(st.citations, statements[(sec.id, i)])
        for c in after_section.get(sec.id, []):
            placed.add(c.id)
            for j, side in enumerate(c.sides, 1):
                add(side.citations, sides[(c.id, j)])
    for c in answer.conflicts:
        if c.id not in placed:
            for j, side in enumerate(c.sides, 1):
                add(side.citations, sides[(c.id, j)])

    toc = [TocEntry("#bottom-line", bottom.label)]
    toc += [TocEntry(f"#s-{sec.id}", sec.heading) for sec in answer.sections]
    if answer.excerpts:
        toc.append(TocEntry("#library", "From the library"))
    if answer.conflicts:
        toc.append(TocEntry("#disagree", f"Where sources disagree ({len(answer.conflicts)})"))
    if answer.references:
        toc.append(TocEntry("#references", "References"))

    levels = {r.n: r.level for r in answer.references}
    return Reading(
        toc=toc,
        certainty=certainty(levels[n] for n in answer.bottom_line_citations if n in levels),
        statements=statements,
        sides=sides,
        after_section=after_section,
        about=about,
        concerns=concerns,
        bottom_disputed=bottom_disputed,
        bottom=bottom,
        cited_at=cited_at,
    )
