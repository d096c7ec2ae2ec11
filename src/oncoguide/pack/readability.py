"""Reading grade (Flesch-Kincaid, textstat 0.7.3), and counts that let an answer's grade be summed fast.

textstat takes ~0.3 s to import, so the counts of every pack text are computed when the knowledge
base is built; an answer's grade is then textstat's formula over the summed counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Counts:
    words: int
    sentences: int
    syllables: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.words + other.words, self.sentences + other.sentences, self.syllables + other.syllables)


ZERO = Counts(0, 0, 0)


def _round1(x: float) -> float:
    # textstat's legacy rounding (half away from zero)
    return math.floor(x * 10 + math.copysign(0.5, x)) / 10


def counts(text: str) -> Counts:
    import textstat

    return Counts(textstat.lexicon_count(text), textstat.sentence_count(text), textstat.syllable_count(text))


def grade_from_counts(c: Counts) -> float:
    if c.words == 0:
        return 0.0
    asl = _round1(c.words / max(1, c.sentences))
    asw = _round1(c.syllables / c.words)
    return _round1(0.39 * asl + 11.8 * asw - 15.59)


def grade(text: str) -> float:
    import textstat

    return float(textstat.flesch_kincaid_grade(text))
