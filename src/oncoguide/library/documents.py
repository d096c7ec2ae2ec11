"""What a parser hands to the library: a document's metadata and its text in named sections.

The document's text is its sections' texts joined by SECTION_GAP; passages carry character offsets
into that text, so `document.text[p.start:p.end] == p.text` always holds (quote-level provenance).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

SECTION_GAP = "\n\n"
TYPES = ("article", "abstract", "guideline", "review", "web page", "note", "other")


class ParseError(ValueError):
    """A file that cannot be ingested; the message says what is wrong with it (shown per file)."""


@dataclass(frozen=True)
class Section:
    name: str  # "Abstract", "Methods", "Page 3", ... ("" when the source has no headings)
    text: str


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    sections: tuple[Section, ...]
    authors: tuple[str, ...] = ()
    journal: str | None = None
    year: int | None = None
    pmid: str | None = None
    doi: str | None = None
    type: str = "other"  # one of TYPES
    licence: str | None = None  # a note on the licence, when the source states one
    source: str = ""  # where it came from: the file path (and record number within it)
    format: str = ""  # pdf, html, markdown, text, pubmed-xml, jsonl
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return SECTION_GAP.join(s.text for s in self.sections)

    @property
    def content_hash(self) -> str:
        """sha256 of the text: the same content ingested again (from any file) is recognised."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Passage:
    ordinal: int  # 0, 1, 2, ... within the document
    section: str
    start: int  # character offsets into ParsedDocument.text
    end: int
    text: str
