"""JSON lines: one document per line. The first bad line fails the whole file, so nothing is half-ingested."""

from __future__ import annotations

import json
from pathlib import Path

from oncoguide.library.documents import ParsedDocument, ParseError
from oncoguide.library.metadata import build_document

_OPTIONAL_TEXT = ("journal", "type", "licence", "license", "source", "doi", "pmid", "year")


def _sections(record: dict, where: str) -> list[tuple[str, str]]:
    """The record's text as (name, text) pairs, from "text" or "sections"."""
    if "sections" in record and record["sections"] is not None:
        items = record["sections"]
        if not isinstance(items, list):
            raise ParseError(f"{where}: 'sections' must be a list")
        sections = []
        for number, item in enumerate(items, start=1):
            if isinstance(item, str):
                sections.append(("", item))
            elif (
                isinstance(item, dict)
                and isinstance(item.get("text"), str)
                and isinstance(item.get("name", ""), str | None)
            ):
                sections.append((item.get("name") or "", item["text"]))
            else:
                raise ParseError(f'{where}: section {number} must be a string or {{"name": ..., "text": ...}}')
        return sections
    if "text" in record:
        if not isinstance(record["text"], str):
            raise ParseError(f"{where}: 'text' must be a string")
        return [("", record["text"])]
    raise ParseError(f"{where}: needs 'text' (a string) or 'sections' (a list)")


def _record(line: str, number: int, path: Path) -> ParsedDocument:
    where = f"line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{where}: not valid JSON (at character {exc.pos + 1}: {exc.msg})") from None
    except RecursionError:
        raise ParseError(f"{where}: not valid JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        raise ParseError(f"{where}: expected a JSON object, found {type(record).__name__}")
    title = record.get("title")
    if title is None:
        raise ParseError(f"{where}: 'title' is missing")
    if not isinstance(title, str) or not title.strip():
        raise ParseError(f"{where}: 'title' must be a non-empty string")
    for key in _OPTIONAL_TEXT:
        if isinstance(record.get(key), dict | list):
            raise ParseError(f"{where}: '{key}' must be a string or a number")
    authors = record.get("authors")
    if authors is not None and not (
        isinstance(authors, str) or (isinstance(authors, list) and all(isinstance(a, str) for a in authors))
    ):
        raise ParseError(f"{where}: 'authors' must be a string or a list of strings")
    sections = _sections(record, where)
    extra: dict = {"record": number}
    if record.get("source") is not None:
        extra["source"] = str(record["source"])  # the record's own origin (a URL, a citation); kept, not the path
    try:
        return build_document(
            title,
            sections,
            source=f"{path}#{number}",
            format="jsonl",
            fallback_title=path.stem,
            authors=authors,
            journal=record.get("journal"),
            year=record.get("year"),
            pmid=record.get("pmid"),
            doi=record.get("doi"),
            type=record.get("type"),
            licence=record.get("licence", record.get("license")),
            extra=extra,
        )
    except ParseError as exc:
        raise ParseError(f"{where}: {exc}") from None


def parse_jsonl(text: str, path: Path) -> list[ParsedDocument]:
    """A document per non-blank line (its source is "PATH#LINE"); ParseError naming the first bad line."""
    documents = [_record(line, number, path) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not documents:
        raise ParseError("no text")
    return documents
