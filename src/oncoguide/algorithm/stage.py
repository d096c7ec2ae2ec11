"""The one reader of a written stage group ("stage IV", "stage 3a", "IIIB") and of TNM categories
("pT2 N0 M1"), used by the question reader, the algorithm's vignettes and FHIR records alike.

Each reader keeps what it has always accepted (a question's stage must be a bare group, spelled or not;
a vignette's may carry a substage letter; a FHIR record's a letter and a digit), so they differ only
in which mentions they take, never in how a mention is read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class StageGroup(StrEnum):
    I = "I"  # noqa: E741 (the stage group's name)
    II = "II"
    III = "III"
    IV = "IV"


GROUPS = {
    "iv": StageGroup.IV,
    "4": StageGroup.IV,
    "four": StageGroup.IV,
    "iii": StageGroup.III,
    "3": StageGroup.III,
    "three": StageGroup.III,
    "ii": StageGroup.II,
    "2": StageGroup.II,
    "two": StageGroup.II,
    "i": StageGroup.I,
    "1": StageGroup.I,
    "one": StageGroup.I,
}
SPELLED = frozenset({"four", "three", "two", "one"})
_GROUP = r"(iv|iii|ii|i|4|3|2|1|four|three|two|one)"
_SUBSTAGE = r"([abc]?\d?)"
STAGE = re.compile(rf"\bstage\s*{_GROUP}{_SUBSTAGE}\b", re.I)
STAGE_CODE = re.compile(rf"^{_GROUP}{_SUBSTAGE}$", re.I)
TNM = re.compile(r"(?<![a-z0-9])(?:[cpyra]{1,2})?([tnm])(x|is|0|1|2|3|4)[a-d]?\d?(?![a-z0-9])", re.I)


@dataclass(frozen=True)
class StageMention:
    """One "stage ..." in a text: the group, what follows it, and where it is."""

    group: StageGroup
    substage: str = ""  # "a", "b1": AJCC substages, read as their group
    spelled: bool = False  # the group written as a word ("stage four")
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class TnmCategory:
    kind: str  # "t", "n" or "m"
    value: str  # "x", "is", "0" .. "4"


def _mention(m: re.Match[str]) -> StageMention:
    word = m.group(1).lower()
    return StageMention(GROUPS[word], m.group(2).lower(), word in SPELLED, m.start(), m.end())


def stage_mentions(text: str) -> Iterator[StageMention]:
    """Every "stage <group>" in the text, in order."""
    return (_mention(m) for m in STAGE.finditer(text))


def question_stage(text: str) -> StageMention | None:
    """The stage group a question names: a bare group ("stage 4", "stage four"), not a substage."""
    return next((m for m in stage_mentions(text) if not m.substage), None)


def vignette_stage(text: str) -> StageMention | None:
    """The stage group a vignette names, a substage letter allowed ("stage IIIA")."""
    return next((m for m in stage_mentions(text) if not m.spelled and not _has_digit(m.substage)), None)


def record_stage(text: str) -> StageMention | None:
    """The stage group in a FHIR record's words, any substage allowed ("Stage IIIB1")."""
    return next((m for m in stage_mentions(text) if not m.spelled), None)


def stage_code(code: str) -> StageGroup | None:
    """A coded stage group alone ("IIIB", "4")."""
    m = STAGE_CODE.match(code)
    if m is None or m.group(1).lower() in SPELLED:
        return None
    return GROUPS[m.group(1).lower()]


def tnm_categories(text: str) -> Iterator[TnmCategory]:
    """The T, N and M categories written in a text, each its own word ("pT2 N0 M1", "cM1")."""
    return (TnmCategory(m.group(1).lower(), m.group(2).lower()) for m in TNM.finditer(text))


def stage_from_tnm(categories: list[TnmCategory]) -> StageGroup | None:
    """AJCC 8th edition (trunk and extremity): N1 or M1 is stage IV; stages I-III also need the grade."""
    values = {(c.kind, c.value) for c in categories}
    return StageGroup.IV if {("m", "1"), ("n", "1")} & values else None


def read_stage(text: str) -> StageGroup | None:
    """A stage group however it is written: "stage 4", "stage IV", "IV", "T2N0M1"."""
    mention = record_stage(text)
    if mention is not None:
        return mention.group
    code = stage_code(text)
    if code is not None:
        return code
    return stage_from_tnm(list(tnm_categories(_split_tnm(text))))


def _split_tnm(text: str) -> str:
    # "T2N0M1" written as one word: put a space before each category so each is its own token
    return re.sub(r"(?i)(?<=[0-9a-dsx])(?=[tnm](?:x|is|[0-4]))", " ", text)


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)
