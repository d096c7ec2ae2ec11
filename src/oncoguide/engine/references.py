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
        """ "Journal. 2020;12:34" (the volume and pages only with issue=True), or just the year."""
        if not self.journal:
            return str(self.year)
        vol = f";{self.volume}" if issue and self.volume else ""
        pages = f":{self.pages}" if issue and self.pages else ""
        return f"{self.journal}. {self.year}{vol}{pages}"

    def citation(self) -> str:
        """The citation as a reader copies it into a document: plain text with its identifiers, no level."""
        out = f"{self.authors}. {self.title}. {self.where()}."
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
        citation = escape(f"{self.authors}. {self.title}. {self.where()}.")
        return Markup(" ").join([citation, Markup(" · ").join(anchors)]) if anchors else citation

    def markdown(self, md: Callable[[str], str]) -> str:
        """A CDS card's entry; md escapes text set into Markdown. Cards are short: no volume or pages."""
        out = f"{md(self.authors)}. {md(self.title)}. "
        out += f"{md(self.journal)}. {self.year}." if self.journal else f"{self.year}."
        for link in self.links:
            if link.kind == LinkKind.PUBMED:
                out += f" PMID [{link.id}]({link.url})"
            elif link.kind == LinkKind.DOI:
                out += f" doi:[{md(link.id)}]({link.url})"
            else:
                out += f" <{link.url}>"
        return out + f" (level of evidence {self.level})"


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
