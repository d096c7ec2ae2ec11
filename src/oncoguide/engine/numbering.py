"""Numbering of cited sources in order of first use, shared by answers, patient groups, the evidence
page and CDS cards, so a source has one number wherever one view shows it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from oncoguide.pack.contents import Contents, SourceRec

SOURCE_FIELDS = tuple(f.name for f in fields(SourceRec))


@dataclass(frozen=True)
class Reference(SourceRec):
    """A source as numbered in one answer."""

    n: int = 0


class Numbering:
    """Numbers sources in order of first use."""

    def __init__(self, contents: Contents):
        self.contents = contents
        self.order: dict[str, int] = {}

    def cite(self, citations: Iterable[tuple[str, str]]) -> tuple[list[int], list[dict]]:
        nums: list[int] = []
        locs: list[dict] = []
        for source_id, locator in citations:
            n = self.order.setdefault(source_id, len(self.order) + 1)
            if n not in nums:
                nums.append(n)
            locs.append({"n": n, "locator": locator})
        return nums, locs

    def references(self) -> list[Reference]:
        refs = []
        for source_id, n in self.order.items():
            src = self.contents.sources[source_id]
            refs.append(Reference(**{f: getattr(src, f) for f in SOURCE_FIELDS}, n=n))
        return refs
