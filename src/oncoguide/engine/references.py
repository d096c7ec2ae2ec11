"""One reference formatter and one PubMed/DOI link builder, used by every renderer, the FHIR export and the
CDS cards. A reference is split into its parts once (`reference_parts`); the text, HTML and card-Markdown
renderings are assembled from those same parts, so they cannot disagree on an author, a year or an id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from markupsafe import Markup, escape

PUBMED = "https://pubmed.ncbi.nlm.nih.gov"  # also the FHIR identifier system for a PMID
DOI = "https://doi.org"  # also the FHIR identifier system for a DOI


def pubmed_url(pmid: str | int) -> str:
    return f"{PUBMED}/{pmid}/"


def doi_url(doi: str) -> str:
    return f"{DOI}/{doi}"


class LinkKind(StrEnum):
    PUBMED = "pubmed"
    DOI = "doi"
    PAGE = "page"  # the publisher's page, shown only when there is neither a PMID nor a DOI


@dataclass(frozen=True)
class Link:
    kind: LinkKind
    id: str  # the PMID, the DOI or the address
    url: str

    @property
    def label(self) -> str:
        return {LinkKind.PUBMED: f"PMID {self.id}", LinkKind.DOI: f"doi:{self.id}", LinkKind.PAGE: "source page"}[
            self.kind
        ]


class Source(Protocol):
    """What a reference needs of a source (a pack SourceRec, an answer's Reference); read-only, as both are
    frozen dataclasses."""

    @property
    def type(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def authors(self) -> str: ...
    @property
    def journal(self) -> str | None: ...
    @property
    def year(self) -> int: ...
    @property
    def volume(self) -> str | None: ...
    @property
    def pages(self) -> str | None: ...
    @property
    def pmid(self) -> str | None: ...
    @property
    def doi(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...
    @property
    def level(self) -> int: ...


@dataclass(frozen=True)
class ReferenceParts:
    authors: str  # without a closing period: each rendering adds its own ("et al." would end in "..")
    title: str  # likewise
    journal: str | None
    year: int
    volume: str | None
    pages: str | None
    links: tuple[Link, ...]
    type: str
    level: int

    def where(self, *, issue: bool = True) -> str:
        """ "Journal. 2020;12:34" (the volume and pages only with issue=True), or just the year. Without a volume
        the pages are named as such ("Journal. 2015, pp. 419-425"; "Sarcoma. 2011, article 231789"), since
        "2015:419-425" reads as a volume left out."""
        if not self.journal:
            return str(self.year)
        if not issue or not self.pages:
            vol = f";{self.volume}" if issue and self.volume else ""
            return f"{self.journal}. {self.year}{vol}"
        if self.volume:
            return f"{self.journal}. {self.year};{self.volume}:{self.pages}"
        kind = "pp." if "-" in self.pages or "–" in self.pages else "article"
        return f"{self.journal}. {self.year}, {kind} {self.pages}"

    def head(self) -> str:
        """ "Authors. Title. Where." with one full stop each: a title ending in "?" takes none."""
        return " ".join(sentence(x) for x in (self.authors, self.title, self.where()))

    def citation(self) -> str:
        """The citation as a reader copies it into a document: plain text with its identifiers, no level."""
        out = self.head()
        if self.links:
            out += " " + "; ".join(link.label if link.kind != LinkKind.PAGE else link.url for link in self.links) + "."
        return out

    def text(self) -> str:
        """Plain text: the CLI, the Markdown answer and the FHIR export's summary."""
        return self.citation() + f" [{self.type}; level {self.level}]"

    def html(self) -> Markup:
        """The web page's entry: the citation, then its links (escaped; the level is the template's)."""
        anchors = [
            Markup('<a href="{}" rel="external noopener">{}</a>').format(link.url, link.label) for link in self.links
        ]
        citation = escape(self.head())
        return Markup(" ").join([citation, Markup(" · ").join(anchors)]) if anchors else citation

    def preview(self) -> Markup:
        """A short card for a citation's preview: the title, the journal and year, the level, the links."""
        where = f"{self.journal}, {self.year}" if self.journal else str(self.year)
        anchors = [
            Markup('<a href="{}" rel="external noopener">{}</a>').format(link.url, link.label) for link in self.links
        ]
        parts = [
            Markup('<span class="ref-title">{}</span>').format(sentence(self.title)),
            Markup('<span class="ref-where">{}</span>').format(where),
            Markup('<span class="ref-level">Evidence level {} ({})</span>').format(self.level, self.type),
        ]
        if anchors:
            parts.append(Markup('<span class="ref-links">{}</span>').format(Markup(" · ").join(anchors)))
        return Markup("").join(parts)

    def markdown(self, md: Callable[[str], str]) -> str:
        """A CDS card's entry; md escapes text set into Markdown. Cards are short: no volume or pages."""
        out = f"{md(sentence(self.authors))} {md(sentence(self.title))} "
        out += f"{md(self.journal)}. {self.year}." if self.journal else f"{self.year}."
        for link in self.links:
            if link.kind == LinkKind.PUBMED:
                out += f" PMID [{link.id}]({link.url})"
            elif link.kind == LinkKind.DOI:
                out += f" doi:[{md(link.id)}]({link.url})"
            else:
                out += f" <{link.url}>"
        return out + f" (level of evidence {self.level})"


def sentence(text: str) -> str:
    """The text closed with a full stop, unless it already ends a sentence ("et al.", "which is better?")."""
    return text if text.endswith((".", "?", "!")) else text + "."


def source_links(pmid: str | None, doi: str | None, url: str | None = None) -> tuple[Link, ...]:
    """Where a source can be read: PubMed, the DOI, else the publisher's page."""
    links = []
    if pmid:
        links.append(Link(LinkKind.PUBMED, str(pmid), pubmed_url(pmid)))
    if doi:
        links.append(Link(LinkKind.DOI, doi, doi_url(doi)))
    if url and not links:
        links.append(Link(LinkKind.PAGE, url, url))
    return tuple(links)


def reference_parts(src: Source) -> ReferenceParts:
    return ReferenceParts(
        authors=src.authors.rstrip("."),
        title=src.title.rstrip("."),
        journal=src.journal,
        year=src.year,
        volume=src.volume,
        pages=src.pages,
        links=source_links(src.pmid, src.doi, src.url),
        type=src.type,
        level=src.level,
    )
