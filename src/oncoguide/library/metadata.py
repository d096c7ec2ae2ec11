"""Metadata clean-up shared by every format, and the one place a ParsedDocument is assembled."""

from __future__ import annotations

import re
from collections.abc import Iterable

from oncoguide.library.documents import TYPES, ParsedDocument, ParseError, Section
from oncoguide.library.textclean import normalise_text, one_line, printable

TITLE_MAX = 500
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def clean_year(value: object) -> int | None:
    """A year from 1800 to 2100, from an int or the first such number in a string; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if 1800 <= value <= 2100 else None
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


def clean_pmid(value: object) -> str | None:
    """A PubMed id: digits only (a "PMID:" prefix is dropped); else None."""
    if value is None or isinstance(value, bool):
        return None
    text = re.sub(r"^\s*pmid:?\s*", "", str(value), flags=re.IGNORECASE).strip()
    return text if text.isascii() and text.isdigit() and len(text) <= 12 else None


def clean_doi(value: object) -> str | None:
    """A DOI in lower case without a doi.org or "doi:" prefix ("10.1234/abc"); else None."""
    if value is None:
        return None
    text = _DOI_PREFIX.sub("", str(value).strip())
    match = _DOI.match(text)
    return match.group(0).rstrip(".,;").lower() if match else None


def clean_type(value: object, default: str = "other") -> str:
    """One of documents.TYPES, read from free text ("Practice Guideline" -> guideline); unknown -> "other"."""
    if value is None or not str(value).strip():
        return default
    text = str(value).strip().lower()
    if text in TYPES:
        return text
    for word, kind in (
        ("guideline", "guideline"),
        ("review", "review"),
        ("abstract", "abstract"),
        ("web", "web page"),
        ("article", "article"),
        ("note", "note"),
    ):
        if word in text:
            return kind
    return "other"


def clean_authors(value: object) -> tuple[str, ...]:
    """Authors from a list, or from a string separated by semicolons (commas are kept: "Smith, J")."""
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split(";")
    authors = (one_line(str(item)) for item in items if item is not None)
    return tuple(dict.fromkeys(a for a in authors if a))


def build_document(
    title: str | None,
    sections: Iterable[tuple[str, str]],
    *,
    source: str,
    format: str,
    fallback_title: str,
    authors: object = None,
    journal: object = None,
    year: object = None,
    pmid: object = None,
    doi: object = None,
    type: object = None,
    default_type: str = "other",
    licence: object = None,
    extra: dict | None = None,
) -> ParsedDocument:
    """Normalise the sections and metadata into a ParsedDocument; ParseError("no text") when nothing is left."""
    kept = []
    for name, text in sections:
        clean = normalise_text(text or "")
        if clean:
            kept.append(Section(one_line(name), clean))
    if not kept:
        raise ParseError("no text")
    title_text = one_line(title) or one_line(fallback_title) or "Untitled"
    if len(title_text) > TITLE_MAX:
        title_text = title_text[: TITLE_MAX - 1].rstrip() + "…"
    return ParsedDocument(
        title=title_text,
        sections=tuple(kept),
        authors=clean_authors(authors),
        journal=one_line(journal) or None,
        year=clean_year(year),
        pmid=clean_pmid(pmid),
        doi=clean_doi(doi),
        type=clean_type(type, default_type),
        licence=one_line(licence) or None,
        source=printable(source),  # the path as shown in output (UTF-8 storable, one line)
        format=format,
        extra=dict(extra or {}),
    )
