"""PubMed/MEDLINE XML (PubmedArticleSet): one document per article with an abstract. Entity declarations are
refused (defusedxml), so no internal-entity bomb or external entity (XXE) is ever expanded."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from oncoguide.library.documents import ParsedDocument, ParseError
from oncoguide.library.metadata import build_document
from oncoguide.library.textclean import one_line

ROOTS = ("PubmedArticleSet", "PubmedArticle")


def _text(element: ET.Element | None) -> str:
    """All the text inside an element (markup such as <i> or <sup> flattened), on one line."""
    return "" if element is None else one_line("".join(element.itertext()))


def _label(label: str | None) -> str:
    """A section name from an AbstractText label: "BACKGROUND" -> "Background"; mixed case is kept."""
    label = one_line(label)
    if not label:
        return "Abstract"
    return label.capitalize() if label.isupper() else label


def _authors(article: ET.Element) -> list[str]:
    names = []
    for author in article.findall("AuthorList/Author"):
        collective = _text(author.find("CollectiveName"))
        last = _text(author.find("LastName"))
        initials = _text(author.find("Initials")) or _text(author.find("ForeName"))
        name = collective or " ".join(p for p in (last, initials) if p)
        if name:
            names.append(name)
    return names


def _year(article: ET.Element) -> str | None:
    issue = article.find("Journal/JournalIssue/PubDate")
    if issue is not None:
        year = _text(issue.find("Year"))
        if year:
            return year
        medline = re.search(r"\d{4}", _text(issue.find("MedlineDate")))
        if medline:
            return medline.group(0)
    return _text(article.find("ArticleDate/Year")) or None


def _doi(item: ET.Element, article: ET.Element) -> str | None:
    for node in item.findall("PubmedData/ArticleIdList/ArticleId"):
        if node.get("IdType", "").lower() == "doi" and _text(node):
            return _text(node)
    for node in article.findall("ELocationID"):
        if node.get("EIdType", "").lower() == "doi" and _text(node):
            return _text(node)
    return None


def _kind(article: ET.Element) -> str:
    types = [_text(t).lower() for t in article.findall("PublicationTypeList/PublicationType")]
    if any("guideline" in t for t in types):
        return "guideline"
    if any("review" in t for t in types):
        return "review"
    return "abstract"


def _article(item: ET.Element, number: int, path: Path) -> ParsedDocument | None:
    """The document for one PubmedArticle, or None when it has no abstract text."""
    citation = item.find("MedlineCitation") if item.tag == "PubmedArticle" else None
    article = citation.find("Article") if citation is not None else None
    if citation is None or article is None:
        return None
    sections = [
        (_label(node.get("Label")), "".join(node.itertext())) for node in article.findall("Abstract/AbstractText")
    ]
    if not any(text.strip() for _, text in sections):
        return None
    journal = (
        _text(article.find("Journal/Title"))
        or _text(article.find("Journal/ISOAbbreviation"))
        or _text(citation.find("MedlineJournalInfo/MedlineTA"))
    )
    title = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
    return build_document(
        title,
        sections,
        source=f"{path}#{number}",
        format="pubmed-xml",
        fallback_title=f"{path.stem} #{number}",
        authors=_authors(article),
        journal=journal or None,
        year=_year(article),
        pmid=_text(citation.find("PMID")),
        doi=_doi(item, article),
        type=_kind(article),
        licence=_text(article.find("Abstract/CopyrightInformation")),
        extra={"record": number},
    )


def parse_pubmed(data: bytes, path: Path) -> list[ParsedDocument]:
    """A document per PubmedArticle with an abstract (source "PATH#N", N counting every article from 1)."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise ParseError("XML with entity declarations is refused (XXE-safe)") from None
    except ET.ParseError as exc:
        line, column = exc.position
        message = str(exc).split(":")[0]
        raise ParseError(f"malformed XML at line {line}, column {column + 1}: {message}") from None
    if root.tag not in ROOTS:
        raise ParseError(f"the XML root is <{root.tag}>; only PubMed XML (<PubmedArticleSet>) is supported")
    items = [root] if root.tag == "PubmedArticle" else [child for child in root if child.tag in ROOTS[1:]]
    documents = []
    for number, item in enumerate(items, start=1):
        try:
            document = _article(item, number, path)
        except ParseError:  # the abstract had no text once cleaned
            document = None
        if document is not None:
            documents.append(document)
    if not documents:
        raise ParseError(f"no PubmedArticle with an abstract (of {len(items)} articles)")
    skipped = len(items) - len(documents)
    for document in documents:
        document.extra["skipped_without_abstract"] = skipped
    return documents
