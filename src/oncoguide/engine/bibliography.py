"""An answer's references for reference managers: RIS and BibTeX, and the plain citation a reader copies.

Built from the same source fields as the one reference formatter (engine/references.py); the copied citation is
that formatter's text. The pack writes authors in Vancouver style ("Hogg D, Chung PW, et al."), or names an
organisation, or says the author list was not captured; only real names become authors here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oncoguide.engine.references import Source, reference_parts

RIS_TYPE = "application/x-research-info-systems"
BIBTEX_TYPE = "application/x-bibtex"

_NOT_CAPTURED = re.compile(r"\bnot (?:captured|shown|displayed|seen)\b", re.IGNORECASE)
_NOTE = re.compile(r"\s*\([^)]*\)")
_ON_BEHALF = re.compile(r"(?i)^(?:and |on behalf of |for )(?:the )?")
_ISSUE = re.compile(r"(?P<volume>[^(]+?)\s*\((?P<issue>[^)]+)\)")
_PARTICLES = {
    "van",
    "von",
    "de",
    "der",
    "den",
    "del",
    "della",
    "di",
    "da",
    "dos",
    "du",
    "le",
    "la",
    "ten",
    "ter",
    "op",
    "y",
}
_SUFFIXES = {"Jr", "Jr.", "Sr", "Sr.", "II", "III", "IV"}


@dataclass(frozen=True)
class Author:
    family: str  # a person's surname, or an organisation's whole name
    initials: str = ""  # may be unknown ("")
    suffix: str = ""  # "Jr"
    organisation: bool = False

    def ris(self) -> str:
        """ "Hogg, D.", "Gibbs, C.P., Jr", "Park", or the organisation's name."""
        if self.organisation or not self.initials:
            return self.family
        return f"{self.family}, {'.'.join(self.initials)}." + (f", {self.suffix}" if self.suffix else "")

    def bibtex(self) -> str:
        """ "Hogg, D.", "Gibbs, Jr, C. P." (BibTeX's "von Last, Jr, First"), "{Organisation name}"."""
        if self.organisation:
            return "{" + tex(self.family) + "}"  # braces: an organisation is one name, not "First Last"
        parts = [tex(self.family)] + ([tex(self.suffix)] if self.suffix else [])
        if self.initials:
            parts.append(" ".join(ch + "." for ch in self.initials))
        return ", ".join(parts)


def _person(segment: str, alone: bool) -> Author | None:
    """ "Al-Hussaini H", "van der Graaf WTA", "Gibbs CP Jr", "Ługowska I" as a person, else None."""
    tokens = segment.split()
    suffix = tokens.pop() if len(tokens) > 2 and tokens[-1] in _SUFFIXES else ""
    if len(tokens) < 2:
        return None
    initials = tokens[-1]
    if not (initials.isalpha() and initials.isupper() and len(initials) <= 4):
        return None
    surname = tokens[:-1]
    if not surname[-1][:1].isupper() or any(not (t[:1].isupper() or t in _PARTICLES) for t in surname):
        return None
    if alone and sum(t[:1].isupper() for t in surname) > 1:
        return None  # one name of several capitalised words is an organisation ("Cancer Research UK")
    return Author(" ".join(surname), initials, suffix.rstrip("."))


def authors_of(text: str) -> tuple[list[Author], bool]:
    """The authors named in a pack source's `authors`, and whether a list of people ends in "et al.".

    Vancouver lists ("Hogg D, Chung PW, et al., on behalf of the X group; Haas RL") give people, and any group
    named among them; a name without people ("PDQ Adult Treatment Editorial Board, National Cancer Institute")
    is one organisation; "Author list not captured (see PMID ...)" is no author at all.
    """
    authors: list[Author] = []
    et_al = False
    for group in (g.strip() for g in text.split(";")):
        bare = _NOTE.sub("", group).strip().rstrip(".")
        if not bare or _NOT_CAPTURED.search(bare) or re.match(r"(?i)authors?\b|author (?:names|list)\b", bare):
            continue
        segments = [s.strip() for s in bare.split(",") if s.strip()]
        people = [_person(s, alone=len(segments) == 1) for s in segments]
        if not any(people):
            authors.append(
                Author(_NOTE.sub("", group).strip() if _NOT_CAPTURED.search(group) else group, organisation=True)
            )
            continue
        for segment, person in zip(segments, people, strict=True):
            if person is not None:
                authors.append(person)
            elif segment.rstrip(".").lower() == "et al":
                et_al = True
            elif segment[:1].isupper() and " " not in segment:
                authors.append(Author(segment))  # a surname whose initials the record did not show
            else:
                authors.append(Author(_ON_BEHALF.sub("", segment), organisation=True))
    return authors, et_al


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _volume_issue(volume: str | None) -> tuple[str | None, str | None]:
    if not volume:
        return None, None
    m = _ISSUE.fullmatch(volume.strip())
    return (m.group("volume"), m.group("issue")) if m else (volume.strip(), None)


def _page_range(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    first, _, last = pages.strip().partition("-")
    return first.strip(), (last.strip() or None)


def citation_text(src: Source) -> str:
    """The citation a "Copy citation" button puts on the clipboard."""
    return reference_parts(src).citation()


def citation_list(refs) -> str:
    """Every reference of a list, numbered as the page numbers them, one a line."""
    return "\n".join(f"{r.n}. {citation_text(r)}" for r in refs)


# --- RIS (the tagged format every reference manager imports) ----------------------------------------------


def _ris_entry(src) -> list[str]:
    kind = "JOUR" if src.journal else "ELEC" if src.url else "GEN"
    lines = [("TY", kind)]
    people, _ = authors_of(src.authors)
    for a in people:
        lines.append(("AU", a.ris()))
    lines.append(("TI", _one_line(src.title).rstrip(".")))
    if src.journal:
        lines.append(("T2", src.journal))
    lines.append(("PY", str(src.year)))
    volume, issue = _volume_issue(src.volume)
    first, last = _page_range(src.pages)
    for tag, value in (("VL", volume), ("IS", issue), ("SP", first), ("EP", last), ("DO", src.doi)):
        if value:
            lines.append((tag, value))
    if src.pmid:
        lines.append(("AN", f"PMID:{src.pmid}"))
    if src.url:
        lines.append(("UR", src.url))
    lines.append(("N1", f"Level of evidence {src.level} ({src.type})"))
    return [f"{tag}  - {_one_line(value)}" for tag, value in lines] + ["ER  - "]


def ris(refs) -> str:
    """RIS records of the given sources, in their order (CRLF line ends, as the format's specification has)."""
    lines: list[str] = []
    for src in refs:
        lines += _ris_entry(src) + [""]
    return "\r\n".join(lines)


# --- BibTeX --------------------------------------------------------------------------------------------------

_TEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def tex(value: str) -> str:
    """Text set into a BibTeX field: LaTeX's special characters escaped (UTF-8 is kept, as biber reads it)."""
    return "".join(_TEX.get(ch, ch) for ch in _one_line(value))


def bibtex_key(src) -> str:
    """The entry's key: the pack's source id, which is unique and already made of safe characters."""
    return re.sub(r"[^A-Za-z0-9_:-]", "-", src.id)


def _bib_entry(src) -> str:
    people, et_al = authors_of(src.authors)
    fields: list[tuple[str, str]] = []
    names = [a.bibtex() for a in people] + (["others"] if et_al and people else [])
    if names:
        fields.append(("author", " and ".join(names)))
    fields.append(
        ("title", "{" + tex(_one_line(src.title).rstrip(".")) + "}")
    )  # inner braces keep the title's capitals
    if src.journal:
        fields.append(("journal", tex(src.journal)))
    fields.append(("year", str(src.year)))
    volume, issue = _volume_issue(src.volume)
    first, last = _page_range(src.pages)
    if volume:
        fields.append(("volume", tex(volume)))
    if issue:
        fields.append(("number", tex(issue)))
    if first:
        fields.append(("pages", tex(f"{first}--{last}" if last else first)))
    if src.doi:
        fields.append(("doi", tex(src.doi)))
    if src.pmid:
        fields.append(("pmid", tex(src.pmid)))
    if src.url:
        fields.append(("url", src.url.replace("{", "%7B").replace("}", "%7D")))
    fields.append(("note", tex(f"Level of evidence {src.level} ({src.type})")))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{'article' if src.journal else 'misc'}{{{bibtex_key(src)},\n{body}\n}}\n"


def bibtex(refs) -> str:
    """BibTeX entries of the given sources, in their order."""
    return "\n".join(_bib_entry(src) for src in refs)
