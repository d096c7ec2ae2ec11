"""PDF: the text layer page by page (sections "Page 1", "Page 2", ...), title and author from the PDF info."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from oncoguide.library.documents import ParsedDocument, ParseError
from oncoguide.library.metadata import build_document
from oncoguide.library.textclean import normalise_text, one_line

MAGIC = b"%PDF-"
_JUNK_TITLE = re.compile(r"^(untitled|microsoft word - .*|.*\.(docx?|pdf|tex|dvi|rtf|odt|indd|qxd))$", re.IGNORECASE)


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Keep pypdf's warnings ("EOF marker not found", ...) off the user's terminal while it reads."""
    logger = logging.getLogger("pypdf")
    old_level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(old_level)


def parse_pdf(data: bytes, path: Path) -> list[ParsedDocument]:
    """One document with a section per page that has text; ParseError for a damaged, locked or scanned PDF."""
    if not data.startswith(MAGIC):
        raise ParseError("not a PDF (it does not start with %PDF-)")
    if b"%%EOF" not in data[-2048:]:
        raise ParseError("the PDF is truncated or damaged (no %%EOF marker at its end)")
    with _quiet_pypdf():
        try:
            pages, info = _read(data)
        except ParseError:
            raise
        except RecursionError:
            raise ParseError("the PDF is damaged (its structure nests too deeply to read)") from None
        except Exception as exc:  # pypdf raises many kinds on junk; none may reach the user as a traceback
            raise ParseError(f"the PDF is damaged and cannot be read ({type(exc).__name__}: {exc})"[:300]) from None
    sections = [(f"Page {number}", text) for number, text in pages if text]
    if not sections:
        raise ParseError("no text layer (scanned?): the PDF has no extractable text; run OCR on it first")
    title = one_line(info.get("title"))
    if not title or _JUNK_TITLE.match(title):
        title = next((line for _, text in sections for line in text.split("\n") if line.strip()), "")[:200]
    author = one_line(info.get("author"))
    return [
        build_document(
            title,
            sections,
            source=str(path),
            format="pdf",
            fallback_title=path.stem,
            authors=author.split(";") if author else None,
            default_type="article",
            extra={"pages": len(pages)},
        )
    ]


def _read(data: bytes) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """The normalised text of each page (numbered from 1) and the info dictionary's title and author."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except DependencyError:
            raise ParseError("the PDF is encrypted with a cipher this installation cannot read") from None
        if not opened:
            raise ParseError("the PDF is encrypted and needs a password to open")
    info: dict[str, str] = {}
    with contextlib.suppress(Exception):  # a damaged info dictionary only costs the metadata
        meta = reader.metadata
        if meta is not None:
            info = {"title": str(meta.title or ""), "author": str(meta.author or "")}
    pages = []
    try:
        for number, page in enumerate(reader.pages, start=1):
            pages.append((number, normalise_text(page.extract_text() or "")))
    except FileNotDecryptedError:
        raise ParseError("the PDF is encrypted and needs a password to open") from None
    return pages, info
