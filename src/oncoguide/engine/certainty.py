"""How sure an answer's bottom line can be, read from the levels of evidence of the sources it cites
(Oxford CEBM 2011, 1 best .. 5). The strongest source sets the grade: a bottom line resting on a randomised
trial is more certain than one resting on case series, whatever else it also cites."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# what each level is, in a clinician's and in a patient's words
LEVEL_KIND = {
    1: "systematic review of randomised trials",
    2: "randomised trial",
    3: "non-randomised cohort study",
    4: "case series or case-control study",
    5: "expert opinion or reasoning from mechanism",
}
LEVEL_KIND_PATIENT = {
    1: "a review of several fair tests",
    2: "a fair test that split people into groups by chance",
    3: "a study that followed groups of people",
    4: "reports on small groups of patients",
    5: "the views of experts",
}
# the grade a best level gives (levels 1 and 2 both rest on randomised evidence)
GRADE = {1: "High", 2: "High", 3: "Moderate", 4: "Low", 5: "Very low"}


@dataclass(frozen=True)
class Certainty:
    grade: str  # "High", "Moderate", "Low", "Very low"
    best_level: int
    sources: int  # how many sources the grade was read from

    def explain(self, audience: str) -> str:
        if audience == "patient":
            return f"The best evidence for this comes from {LEVEL_KIND_PATIENT[self.best_level]}."
        n = "source" if self.sources == 1 else "sources"
        return (
            f"Best evidence: level {self.best_level} ({LEVEL_KIND[self.best_level]}), "
            f"Oxford CEBM 2011; {self.sources} {n} cited."
        )


def certainty(levels: Iterable[int]) -> Certainty | None:
    """The certainty of a statement citing sources of these levels; None when it cites none."""
    found = [level for level in levels if level in GRADE]
    if not found:
        return None
    best = min(found)
    return Certainty(GRADE[best], best, len(found))
