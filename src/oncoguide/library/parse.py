"""The entry point for `oncoguide ingest`: a file in, its documents out, or a ParseError saying what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

from oncoguide.library.documents import ParsedDocument, ParseError
from oncoguide.library.files import read_regular
from oncoguide.library.formats.html import parse_html
from oncoguide.library.formats.jsonl import parse_jsonl
from oncoguide.library.formats.pdf import MAGIC as PDF_MAGIC
from oncoguide.library.formats.pdf import parse_pdf
from oncoguide.library.formats.pubmed import ROOTS as PUBMED_ROOTS
from oncoguide.library.formats.pubmed import parse_pubmed
from oncoguide.library.formats.text import parse_markdown, parse_plain
from oncoguide.library.textclean import decode_text

MAX_BYTES = 100 * 1024 * 1024
FORMATS = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".xml": "pubmed-xml",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
_TEXT_PARSERS = {"html": parse_html, "markdown": parse_markdown, "text": parse_plain, "jsonl": parse_jsonl}


def supported_suffixes() -> str:
    """The suffixes parse() accepts, for messages and help text."""
    return ", ".join(FORMATS)


def file_format(path: Path) -> str:
    """The format named by the file's suffix, or ParseError listing the supported ones."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        shown = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise ParseError(f"unsupported file type ({shown}); supported: {supported_suffixes()}")
    return fmt


def parse(path: Path, max_bytes: int = MAX_BYTES) -> list[ParsedDocument]:
    """Read one file and return its documents (several for a PubmedArticleSet or JSON lines).

    The format comes from the suffix, checked against the content; every failure, whatever its cause,
    is a ParseError with a message for the user. Only regular files are read (files.read_regular).
    """
    path = Path(path)
    fmt = file_format(path)
    return parse_data(read_regular(path, max_bytes), fmt, path)


def parse_data(data: bytes, fmt: str, path: Path) -> list[ParsedDocument]:
    """The documents in a file's bytes, already read (`path` names it in the documents and messages)."""
    if not data.strip():
        raise ParseError("no text (the file is empty)")
    try:
        return _parse_bytes(data, fmt, path)
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("the file nests too deeply to read") from None
    except MemoryError:
        raise ParseError("the file is too large to read in the memory available") from None
    except Exception as exc:  # a bug or a case not foreseen: still a message per file, never a traceback
        raise ParseError(f"cannot read the file ({type(exc).__name__}: {exc})"[:300]) from None


def _declared_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in its first few kilobytes (<meta charset=...>), if any."""
    match = _CHARSET.search(data[:4096])
    charset = match.group(1).decode("ascii").lower() if match else None
    return None if charset is None or charset.startswith(("utf-16", "utf-32")) else charset  # those need a BOM


def _parse_bytes(data: bytes, fmt: str, path: Path) -> list[ParsedDocument]:
    if data.startswith(PDF_MAGIC):  # a PDF whatever its name says
        return parse_pdf(data, path)
    if fmt == "pdf":
        return parse_pdf(data, path)  # refuses it: no %PDF- header
    text = decode_text(data, _declared_charset(data) if fmt == "html" else None)
    if fmt == "pubmed-xml":
        if not any(f"<{root}" in text for root in PUBMED_ROOTS):
            raise ParseError("not PubMed XML: no <PubmedArticleSet> or <PubmedArticle> element")
        return parse_pubmed(data, path)
    return _TEXT_PARSERS[fmt](text.lstrip("\ufeff"), path)
