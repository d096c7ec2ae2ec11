"""Library excerpts in answers: when the curated pack has nothing for a question, quote the library's
best matching passages exactly, each with its source, section and character offsets, and say plainly
that nobody reviewed them. When nothing relevant is found the answer stays an abstention."""

from __future__ import annotations

from dataclasses import dataclass, replace

from oncoguide.library.search import MAX_QUERY_CHARS, Query, SearchError, plan, search
from oncoguide.pack.typed import Lexicon

MIN_COVERAGE = 0.5  # a passage must match at least half of the question's ideas...
MIN_IDEAS = 2  # ...and at least two of them (or the only one, for a one-idea question)
MAX_EXCERPTS = 3  # one passage per document


@dataclass(frozen=True)
class Excerpt:
    text: str  # exactly as stored: document text[start:end]
    marks: list[list[int]]  # the words that matched, as offsets within `text`
    citation: str
    title: str
    authors: list[str]
    journal: str | None
    year: int | None
    pmid: str | None
    doi: str | None
    type: str
    source: str
    section: str
    start: int
    end: int
    document_id: int
    passage_id: int
    score: float
    reviewed: bool = False


def relevant(hits, query: Query, limit: int = MAX_EXCERPTS) -> list:
    needed = min(MIN_IDEAS, len(query.groups))
    picked, seen = [], set()
    for h in hits:
        if len(h.matched) < needed or h.coverage(query) < MIN_COVERAGE or h.document.id in seen:
            continue
        seen.add(h.document.id)
        picked.append(h)
        if len(picked) == limit:
            break
    return picked


def excerpts_for(
    engine, question: str, lexicon: Lexicon, limit: int = MAX_EXCERPTS, max_chars: int = MAX_QUERY_CHARS
) -> list[Excerpt]:
    try:
        query = plan(question, lexicon.abbreviations, lexicon.spelling, max_chars)
    except SearchError:
        return []
    found = []
    for h in relevant(search(engine, query, limit=30), query, limit):
        d = h.document
        found.append(
            Excerpt(
                h.text,
                [list(m) for m in h.marks],
                d.citation(),
                d.title,
                d.authors,
                d.journal,
                d.year,
                d.pmid,
                d.doi,
                d.type,
                d.source,
                h.section,
                h.start,
                h.end,
                d.id,
                h.passage_id,
                h.score,
            )
        )
    return found


def with_excerpts(answer, engine, contents, max_chars: int = MAX_QUERY_CHARS):
    """The abstaining answer with library excerpts added, or unchanged when the library has nothing relevant.
    A request to name the condition is kept beside the excerpts. `max_chars`: Settings.max_question_chars."""
    if answer.in_scope or answer.excerpts:
        return answer
    found = excerpts_for(engine, answer.question, contents.lexicon, max_chars=max_chars)
    if not found:
        return answer
    texts = contents.texts
    intro = texts.library_intro_patient if answer.audience == "patient" else texts.library_intro
    return replace(
        answer,
        title="Not covered by reviewed content: excerpts from the library",
        bottom_line=intro,
        message=intro,
        excerpts=found,
    )
