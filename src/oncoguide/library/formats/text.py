"""Plain text (one section) and Markdown (ATX headings as sections, YAML front matter as metadata)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from oncoguide.library.documents import ParsedDocument, ParseError
from oncoguide.library.metadata import build_document

TITLE_LINE_MAX = 200
# Front matter is a few lines of metadata; a cap keeps YAML parsing cheap whatever the file holds. Not a
# setting: no real note needs more, and the file itself may be up to ONCOGUIDE_MAX_INGEST_BYTES.
FRONT_MATTER_MAX = 64 * 1024

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s+\S+.*$")
_INLINE = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images are dropped
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # [text](url) -> text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref] -> text
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # <https://...> -> the address
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # inline HTML tags
    (re.compile(r"`([^`\n]+)`"), r"\1"),  # `code`
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # **strong**, __strong__
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),  # _emphasis_ (not snake_case)
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # ~~strike~~
)
_BLOCK_PREFIX = re.compile(r"^ {0,3}(?:>[ \t]?)+|^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+")


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= TITLE_LINE_MAX else ""


def parse_plain(text: str, path: Path) -> list[ParsedDocument]:
    """One document, one unnamed section; the title is the first line when it is short enough."""
    return [
        build_document(
            _first_line(text),
            [("", text)],
            source=str(path),
            format="text",
            fallback_title=path.stem,
            default_type="note",
        )
    ]


class _NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader refusing anchors and aliases (& and *): a few hundred bytes of nested aliases stand for
    billions of values once turned into text (the "billion laughs"), and metadata never needs them. The check
    runs as nodes are composed, before anything is built."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "YAML anchors and aliases (& and *) are refused", event.start_mark
            )
        return super().compose_node(parent, index)


def _front_matter(text: str) -> tuple[dict, str]:
    """YAML front matter between '---' lines: its keys (lower case) and the rest of the text."""
    head = text[: FRONT_MATTER_MAX + 1].split("\n")
    if head[0].strip() != "---":
        return {}, text
    complete = len(head) if len(text) <= FRONT_MATTER_MAX else len(head) - 1  # the cap may cut the last line
    for end in range(1, complete):
        if head[end].strip() in ("---", "..."):
            break
    else:
        if len(text) > FRONT_MATTER_MAX:
            raise ParseError(
                f"the front matter that opens on line 1 with '---' is not closed within "
                f"{FRONT_MATTER_MAX} characters (the limit for front matter)"
            )
        raise ParseError("the front matter that opens on line 1 with '---' is never closed")
    lines = head[: end + 1]
    try:
        data = yaml.load("\n".join(lines[1:end]), Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" on line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ParseError(f"bad front matter{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParseError(f"bad front matter on line 2: expected 'key: value' lines, found {type(data).__name__}")
    return {str(k).lower(): v for k, v in data.items()}, text[len("\n".join(lines)) + 1 :]


def _strip_inline(line: str) -> str:
    for pattern, replacement in _INLINE:
        line = pattern.sub(replacement, line)
    return line


def parse_markdown(text: str, path: Path) -> list[ParsedDocument]:
    """One document: '#' to '####' headings start sections, the first '# ' heading is the title."""
    meta, body = _front_matter(text)
    sections: list[tuple[str, str]] = []
    name, lines, h1 = "", [], ""
    fence: str | None = None
    for raw in body.split("\n"):
        if fence is not None:
            if raw.strip().startswith(fence):
                fence = None
            else:
                lines.append(raw)
            continue
        opening = _FENCE.match(raw)
        if opening:
            fence = opening.group(1)
            continue
        heading = _HEADING.match(raw)
        if heading:
            level, words = len(heading.group(1)), _strip_inline(heading.group(2)).strip()
            if level <= 4 and words:
                if level == 1 and not h1:
                    h1 = words
                sections.append((name, "\n".join(lines)))
                name, lines = words, []
            else:
                lines.append(words)
            continue
        if _RULE.match(raw) or _LINK_DEFINITION.match(raw):
            lines.append("")
            continue
        lines.append(_strip_inline(_BLOCK_PREFIX.sub("", raw)))
    sections.append((name, "\n".join(lines)))  # an unclosed code fence runs to the end, as in CommonMark
    title = meta.get("title") or h1 or _first_line("\n".join(text for _, text in sections))
    return [
        build_document(
            str(title),
            sections,
            source=str(path),
            format="markdown",
            fallback_title=path.stem,
            authors=meta.get("authors", meta.get("author")),
            journal=meta.get("journal"),
            year=meta.get("year"),
            pmid=meta.get("pmid"),
            doi=meta.get("doi"),
            type=meta.get("type"),
            default_type="note",
            licence=meta.get("licence", meta.get("license")),
        )
    ]
