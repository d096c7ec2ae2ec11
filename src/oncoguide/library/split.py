"""Passages for the index: whole sentences grouped up to a size, never across sections, with exact offsets."""

from __future__ import annotations

import re

from oncoguide.library.documents import SECTION_GAP, ParsedDocument, Passage

# a sentence may end at . ! or ? (closing quotes or brackets may follow), then whitespace; or at a blank line
_BOUNDARY = re.compile(r"[.!?][\"'\u201d\u2019\u00bb)\]]*(\s+)|\n[ \t]*\n\s*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_OPENERS = "\"'\u201c\u2018\u00ab([{"
ABBREVIATIONS = frozenset(
    {
        "al.",
        "vs.",
        "fig.",
        "figs.",
        "cf.",
        "approx.",
        "ca.",
        "dr.",
        "prof.",
        "mr.",
        "mrs.",
        "ms.",
        "no.",
        "nos.",
        "vol.",
        "pp.",
        "p.",
        "ref.",
        "refs.",
        "eq.",
        "resp.",
        "incl.",
        "tab.",
        "suppl.",
        "st.",
        "jr.",
        "sr.",
        "v.",
    }
)
_INITIALS = re.compile(r"^(?:[A-Za-z]\.)+$")  # "e.g.", "i.e.", "U.S.", and a lone initial such as "J."


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Whether a candidate ending really ends a sentence (not "e.g. ", "et al. ", "Fig. 2", "J. Smith")."""
    if match.group(1) is None or _BLANK_LINE.search(match.group(0)):
        return True
    after = match.end()
    if after >= len(text):
        return True
    following = text[after]
    if not (following.isupper() or following.isdigit() or following in _OPENERS):
        return False
    if text[match.start()] != ".":
        return True
    token = text[: match.start() + 1].rsplit(None, 1)[-1].lstrip(_OPENERS)
    return not (token.lower() in ABBREVIATIONS or _INITIALS.match(token))


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without whitespace at its edges."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences in a text, edges stripped, covering every non-space character."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        if _is_boundary(text, match):
            end = match.start(1) if match.group(1) is not None else match.start()
            spans.append(_strip(text, start, end))
            start = match.end()
    spans.append(_strip(text, start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def _cut(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """A span longer than max_chars cut at whitespace (mid-word only when one word is longer than max_chars)."""
    pieces = []
    while end - start > max_chars:
        cut = next((i for i in range(start + max_chars, start, -1) if text[i].isspace()), None)
        if cut is None:
            pieces.append((start, start + max_chars))
            start += max_chars
        else:
            pieces.append(_strip(text, start, cut))
            start = cut
        start = _strip(text, start, end)[0]
    if end > start:
        pieces.append((start, end))
    return pieces


def _group(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Consecutive spans joined while the joined span stays within max_chars."""
    groups: list[tuple[int, int]] = []
    for start, end in spans:
        if groups and end - groups[-1][0] <= max_chars:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((start, end))
    return groups


def split(doc: ParsedDocument, max_chars: int = 1000) -> list[Passage]:
    """The document's passages in order: whole sentences up to max_chars each, within one section,
    stripped of edge whitespace, with start/end offsets into doc.text (doc.text[start:end] == text)."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    full = doc.text
    passages: list[Passage] = []
    offset = 0
    for section in doc.sections:
        text = section.text
        units = [piece for a, b in sentences(text) for piece in _cut(text, a, b, max_chars)]
        for start, end in _group(units, max_chars):
            passages.append(
                Passage(len(passages), section.name, offset + start, offset + end, full[offset + start : offset + end])
            )
        offset += len(text) + len(SECTION_GAP)
    return passages
