"""HTML: the main text only (main > article > body), headings h1-h4 as sections, citation_* and dc.* metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from oncoguide.library.documents import ParsedDocument
from oncoguide.library.metadata import build_document, clean_doi, clean_type
from oncoguide.library.textclean import one_line

DROPPED = frozenset(
    {
        "script",
        "style",
        "noscript",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "template",
        "svg",
        "iframe",
        "head",
        "title",
        "button",
        "select",
        "textarea",
        "object",
        "canvas",
        "math",
    }
)
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "param"}
)
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
PARAGRAPH = frozenset(
    {
        "p",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
        "dl",
        "figure",
        "section",
        "article",
        "main",
        "h5",
        "h6",
        "address",
        "details",
        "fieldset",
    }
)
LINE = frozenset({"div", "li", "br", "tr", "dt", "dd", "figcaption", "hr", "caption", "summary", "body"})
CELL = frozenset({"td", "th"})
# a start tag of these closes an open element of the same name (HTML's optional end tags)
SELF_CLOSING_SIBLINGS = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "option"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def find_all(self, tag: str, skip: frozenset[str] = frozenset()) -> list[Node]:
        """Descendants with this tag in document order, not looking inside elements named in skip."""
        found = []
        for child in self.children:
            if isinstance(child, Node) and child.tag not in skip:
                if child.tag == tag:
                    found.append(child)
                found.extend(child.find_all(tag, skip))
        return found


class _TreeBuilder(HTMLParser):
    """A forgiving tree from html.parser: unknown end tags are ignored, unclosed elements end with their parent."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SELF_CLOSING_SIBLINGS and self.stack[-1].tag == tag:
            self.stack.pop()
        node = Node(tag, {k.lower(): (v if v is not None else "") for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k.lower(): (v if v is not None else "") for k, v in attrs})
        self.stack[-1].children.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _hidden(node: Node) -> bool:
    style = node.attrs.get("style", "").replace(" ", "").lower()
    return (
        "hidden" in node.attrs
        or node.attrs.get("aria-hidden", "").strip().lower() == "true"
        or "display:none" in style
        or "visibility:hidden" in style
    )


def _text_of(node: Node) -> str:
    """The visible text inside a node, on one line."""
    parts: list[str] = []

    def walk(n: Node) -> None:
        for child in n.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag not in DROPPED and not _hidden(child):
                walk(child)
                if child.tag in LINE or child.tag in PARAGRAPH or child.tag in CELL:
                    parts.append(" ")

    walk(node)
    return one_line("".join(parts))


class _SectionWriter:
    """Walks the main content, starting a new section at each h1-h4 and turning blocks into line breaks."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, str]] = []
        self.name = ""
        self.parts: list[str] = []
        self.pending = 0  # line breaks owed before the next text: adjacent block edges merge, not add up
        self.first_h1 = ""

    def flush(self) -> None:
        self.sections.append((self.name, "".join(self.parts)))
        self.parts, self.pending = [], 0

    def text(self, text: str) -> None:
        if self.pending:
            if not text.strip():
                return
            self.parts.append("\n" * self.pending)
            self.pending = 0
        self.parts.append(text)

    def block(self, breaks: int) -> None:
        self.pending = max(self.pending, breaks)

    def walk(self, node: Node, in_pre: bool = False) -> None:
        for child in node.children:
            if isinstance(child, str):
                self.text(child if in_pre else re.sub(r"\s+", " ", child))
                continue
            if child.tag in DROPPED or _hidden(child):
                continue
            if child.tag in HEADINGS:
                heading = _text_of(child)
                if heading:
                    if child.tag == "h1" and not self.first_h1:
                        self.first_h1 = heading
                    self.flush()
                    self.name = heading
                continue
            if child.tag == "br":
                self.text("\n")
                continue
            breaks = 2 if child.tag in PARAGRAPH else 1 if child.tag in LINE else 0
            self.block(breaks)
            if child.tag in CELL:
                self.text(" ")
            self.walk(child, in_pre or child.tag == "pre")
            self.block(breaks)


def _main_content(root: Node) -> Node:
    """<main> when present, else the <article> with the most text, else <body>, else the whole document."""
    for tag in ("main",):
        found = [n for n in root.find_all(tag) if not _hidden(n)]
        if found:
            return found[0]
    articles = [n for n in root.find_all("article") if not _hidden(n)]
    if articles:
        return max(articles, key=lambda n: len(_text_of(n)))
    bodies = root.find_all("body")
    return bodies[0] if bodies else root


def _meta(root: Node) -> dict[str, list[str]]:
    """Meta tags by lower-case name (or property), values in document order; "dcterms." is read as "dc."."""
    found: dict[str, list[str]] = {}
    for node in root.find_all("meta"):
        name = (node.attrs.get("name") or node.attrs.get("property") or "").strip().lower()
        content = node.attrs.get("content", "").strip()
        if name and content:
            found.setdefault(re.sub(r"^dcterms\.", "dc.", name), []).append(content)
    return found


def parse_html(text: str, path: Path) -> list[ParsedDocument]:
    """One document: the main text in sections by heading, with metadata from <title> and meta tags."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    root = builder.root
    writer = _SectionWriter()
    writer.walk(_main_content(root))
    writer.flush()

    meta = _meta(root)

    def first(*names: str) -> str | None:
        return next((meta[n][0] for n in names if n in meta), None)

    titles = root.find_all("title", skip=frozenset({"svg"}))
    page_title = _text_of(titles[0]) if titles else ""
    authors = meta.get("citation_author") or meta.get("dc.creator")
    if not authors and "citation_authors" in meta:
        authors = meta["citation_authors"][0].split(";")
    journal = first("citation_journal_title", "citation_conference_title", "dc.source")
    default_type = "article" if journal or "citation_title" in meta else "web page"
    kind = clean_type(first("citation_article_type", "dc.type"), default_type)
    dois = [d for d in (clean_doi(v) for v in meta.get("citation_doi", []) + meta.get("dc.identifier", [])) if d]
    return [
        build_document(
            first("citation_title", "dc.title") or page_title or writer.first_h1,
            writer.sections,
            source=str(path),
            format="html",
            fallback_title=path.stem,
            authors=authors,
            journal=journal,
            year=first(
                "citation_publication_date",
                "citation_date",
                "citation_online_date",
                "dc.date",
                "dc.issued",
                "article:published_time",
            ),
            pmid=first("citation_pmid"),
            doi=dois[0] if dois else None,
            type=kind if kind != "other" else default_type,
            licence=first("dc.rights", "dc.license", "citation_license"),
        )
    ]
