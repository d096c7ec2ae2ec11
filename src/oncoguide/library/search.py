"""BM25 search over the library's passages, with the lexicon's abbreviations and spellings as query
expansion (DFSP <-> dermatofibrosarcoma protuberans) and the matched words marked in each passage.

SQLite: FTS5's bm25() (k1 1.2, b 0.75) over a porter-stemmed index. PostgreSQL: the same BM25 formula
computed from the tsvector's term frequencies and the library_terms document frequencies, over the
candidates the GIN index finds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text

from oncoguide.library.store import DOCUMENT_COLUMNS, DocumentInfo
from oncoguide.library.tables import library_documents, library_passages
from oncoguide.settings import Settings

K1, B = 1.2, 0.75
CANDIDATES = 5_000  # most passages a query scores with BM25 (see selective())
# PostgreSQL scores a candidate by unpacking its tsvector (about 15 us, against about 1 us for FTS5's bm25())
PG_CANDIDATES = 1_000
# the longest query when the caller passes no limit: ONCOGUIDE_MAX_QUESTION_CHARS as shipped (a query is a
# question); callers pass the process's Settings.max_question_chars
MAX_QUERY_CHARS: int = Settings.model_fields["max_question_chars"].default
WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
WORD_ANYCASE = re.compile(r"[^\W_]+", re.UNICODE)  # a word as FTS5's unicode61 tokenizer sees it
# function words and question words: they carry no topic, and in an OR query they only add noise
STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are as at be because been before being below between
both but by can cannot could did do does doing down during each either else ever few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just let me more most my
myself no nor not now of off on once only or other ought our ours ourselves out over own per same shall she
should so some such than that the their theirs them themselves then there these they this those through to too
under until up upon us very via was we were what when where which while who whom whose why will with within
without would yet you your yours yourself yourselves whether may might must vs versus etc
""".split()
)


class SearchError(ValueError):
    """A query that cannot be run; the message says why."""


@dataclass(frozen=True)
class Query:
    text: str
    groups: tuple[tuple[str, ...], ...]  # each group: alternative phrases for one idea of the question

    @property
    def phrases(self) -> list[str]:
        return [p for g in self.groups for p in g]

    def fts5(self) -> str:
        return " OR ".join(f'"{p}"' for p in dict.fromkeys(self.phrases))


def plan(
    question: str,
    abbreviations: Mapping[str, Sequence[str]] | None = None,
    spelling: Mapping[str, str] | None = None,
    max_chars: int = MAX_QUERY_CHARS,
) -> Query:
    """The question's content words, each with its alternative forms (abbreviation, expansion, spelling)."""
    if len(question) > max_chars:
        raise SearchError(f"the query has {len(question):,} characters; the limit is {max_chars:,}")
    abbreviations = {k.lower(): [v.lower() for v in vs] for k, vs in (abbreviations or {}).items()}
    spelling = {k.lower(): v.lower() for k, v in (spelling or {}).items()}
    reverse_spelling = {v: k for k, v in spelling.items()}
    expansions = {" ".join(WORD.findall(v)): k for k, vs in abbreviations.items() for v in vs}
    words = [w.replace("’", "'") for w in WORD.findall(question.lower())]
    groups: list[tuple[str, ...]] = []
    i = 0
    while i < len(words):
        for n in (6, 5, 4, 3, 2):  # an expansion written out in full: one idea, plus its abbreviation
            phrase = " ".join(words[i : i + n])
            if len(words) - i >= n and phrase in expansions:
                abbr = expansions[phrase]
                groups.append((phrase, _phrase(abbr), *(_phrase(v) for v in abbreviations[abbr] if v != phrase)))
                i += n
                break
        else:
            w = words[i]
            i += 1
            if w in abbreviations:
                groups.append((_phrase(w), *(_phrase(v) for v in abbreviations[w])))
            elif w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
                other = spelling.get(w) or reverse_spelling.get(w)
                groups.append((_phrase(w), _phrase(other)) if other else (_phrase(w),))
    unique = tuple(dict.fromkeys(tuple(dict.fromkeys(g)) for g in groups))
    if not unique:
        raise SearchError("the query has no words to search for (only common words like 'the' or 'what')")
    return Query(question, unique)


def _phrase(words: str) -> str:
    return " ".join(WORD.findall(words.lower().replace("'", " ")))


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    passage_id: int
    document: DocumentInfo
    section: str
    start: int
    end: int
    text: str
    marks: tuple[tuple[int, int], ...]  # matched words: offsets within `text`
    matched: tuple[int, ...]  # which query groups the passage matches

    def coverage(self, query: Query) -> float:
        return len(self.matched) / len(query.groups)

    def highlighted(self, before: str = "[", after: str = "]") -> str:
        out, last = [], 0
        for a, b in self.marks:
            out += [self.text[last:a], before, self.text[a:b], after]
            last = b
        return "".join(out + [self.text[last:]])


def _query_keys(query: Query) -> set[str]:
    return {_stem(w) for phrase in query.phrases for w in phrase.split()}


def _marks(passage: str, keys: set[str]) -> tuple[tuple[int, int], ...]:
    """Offsets of the words whose crude stem is one of the query's. Marked here rather than by FTS5's
    highlight() or PostgreSQL's ts_headline(), which re-run the whole query once per passage shown."""
    return tuple(m.span() for m in WORD_ANYCASE.finditer(passage) if _stem(m.group()) in keys)


def _stem(word: str) -> str:
    """A crude stem for marking words and telling which query group they belong to (the index did the real
    stemming): the word less up to three final letters, never shorter than five."""
    word = word.lower()
    return word[: max(5, len(word) - 3)]


def _matched(query: Query, passage: str, marks) -> tuple[int, ...]:
    seen = {_stem(w) for a, b in marks for w in WORD.findall(passage[a:b].lower())}
    found = []
    for i, group in enumerate(query.groups):
        if any(all(_stem(w) in seen for w in phrase.split()) for phrase in group):
            found.append(i)
    return tuple(found)


def search(engine, query: Query, limit: int = 10, type: str | None = None, year_from: int | None = None) -> list[Hit]:
    """The best `limit` passages for the query, best first."""
    if not 1 <= limit <= 1000:
        raise SearchError("the limit must be between 1 and 1000")
    if engine.dialect.name == "postgresql":
        rows = _search_postgres(engine, query, limit, type, year_from)
    else:
        rows = _search_sqlite(engine, query, limit, type, year_from)
    if not rows:
        return []
    ids = {r[2] for r in rows}
    with engine.connect() as conn:
        found = conn.execute(select(*DOCUMENT_COLUMNS).where(library_documents.c.id.in_(ids)))
        docs = {r.id: DocumentInfo.from_row(r) for r in found}
    keys = _query_keys(query)
    hits = []
    for rank, (passage_id, score, doc_id, section, start, end, passage) in enumerate(rows, start=1):
        marks = _marks(passage, keys)
        hits.append(
            Hit(
                rank,
                round(float(score), 4),
                passage_id,
                docs[doc_id],
                section,
                start,
                end,
                passage,
                marks,
                _matched(query, passage, marks),
            )
        )
    return hits


def _filters(type: str | None, year_from: int | None) -> tuple[str, dict]:
    sql, params = "", dict[str, object]()
    if type:
        sql += " AND d.type = :type"
        params["type"] = type
    if year_from is not None:
        sql += " AND d.year >= :year_from"
        params["year_from"] = year_from
    return sql, params


def _capped_count(conn, match: str, cap: int) -> int:
    return conn.execute(
        text("SELECT count(*) FROM (SELECT rowid FROM library_fts WHERE library_fts MATCH :q LIMIT :cap)"),
        {"q": match, "cap": cap},
    ).scalar_one()


def _choose(sized: list[tuple[int, int]], budget: int) -> list[int]:
    """From (passages matching, group index) pairs, the rarest groups whose matches fit in the budget."""
    chosen: list[int] = []
    total = 0
    for n, i in sorted(sized):
        if chosen and total + n > budget:
            break
        chosen.append(i)
        total += n
    return sorted(chosen)


def selective(conn, query: Query, budget: int = CANDIDATES) -> str:
    """The FTS5 expression that finds the candidates: the whole query when it matches at most `budget`
    passages; otherwise the rarest ideas of the question, as many as fit in the budget. A word found in
    more passages than that (like "patients") then adds nothing to the candidate set and little to BM25."""
    whole = query.fts5()
    if _capped_count(conn, whole, budget + 1) <= budget:
        return whole
    expressions = [" OR ".join(f'"{p}"' for p in group) for group in query.groups]
    sized = [(_capped_count(conn, e, budget + 1), i) for i, e in enumerate(expressions)]
    return " OR ".join(expressions[i] for i in _choose(sized, budget))


def _search_sqlite(engine, query: Query, limit: int, type: str | None, year_from: int | None) -> list[tuple]:
    where, params = _filters(type, year_from)
    join = " JOIN library_documents d ON d.id = p.document_id" if where else ""
    with engine.connect() as conn:
        match = selective(conn, query)
        # rank first (rowids and scores only), then fetch and mark the few passages shown
        joins = f" JOIN library_passages p ON p.id = library_fts.rowid{join}" if where else ""
        top = conn.execute(
            text(
                f"SELECT library_fts.rowid, -bm25(library_fts) FROM library_fts{joins}"
                f" WHERE library_fts MATCH :q{where} ORDER BY bm25(library_fts) LIMIT :k"
            ),
            {"q": match, "k": limit, **params},
        ).all()
        if not top:
            return []
        ids = [rowid for rowid, _ in top]
        found = {
            r[0]: r[1:]
            for r in conn.execute(
                select(
                    library_passages.c.id,
                    library_passages.c.document_id,
                    library_passages.c.section,
                    library_passages.c.start,
                    library_passages.c.end,
                    library_passages.c.text,
                ).where(library_passages.c.id.in_(ids))
            )
        }
        return [(rowid, score, *found[rowid]) for rowid, score in top]


def _search_postgres(engine, query: Query, limit: int, type: str | None, year_from: int | None) -> list[tuple]:
    where, params = _filters(type, year_from)
    join = " JOIN library_documents d ON d.id = p.document_id" if where else ""
    phrases = list(dict.fromkeys(query.phrases))
    with engine.connect() as conn:  # the same candidate budget as on SQLite, from the lexeme counts
        numbered = ", ".join(f"({i}, CAST(:a{i} AS text))" for i in range(len(phrases)))
        df = dict(
            conn.execute(
                text(
                    f"SELECT ph.i, coalesce(min(t.df), 0) FROM (VALUES {numbered}) AS ph(i, p) "
                    f"CROSS JOIN LATERAL unnest(to_tsvector('english', ph.p)) AS u(lexeme, pos, wt) "
                    f"LEFT JOIN library_terms t ON t.lexeme = u.lexeme GROUP BY ph.i"
                ),
                {f"a{i}": p for i, p in enumerate(phrases)},
            ).all()
        )
    index = {p: i for i, p in enumerate(phrases)}
    sized = [(sum(df.get(index[p], 0) for p in group), g) for g, group in enumerate(query.groups)]
    if sum(n for n, _ in sized) > PG_CANDIDATES:
        kept = {p for g in _choose(sized, PG_CANDIDATES) for p in query.groups[g]}
        candidates = [i for i, p in enumerate(phrases) if p in kept]
    else:
        candidates = list(range(len(phrases)))
    tsquery = " || ".join(f"phraseto_tsquery('english', :a{i})" for i in candidates)
    values = ", ".join(f"(CAST(:a{i} AS text))" for i in range(len(phrases)))
    params.update({f"a{i}": p for i, p in enumerate(phrases)})
    sql = f"""
        WITH st AS (SELECT passages, greatest(lexemes, 1)::float8 / greatest(passages, 1) AS avgdl
                    FROM library_stats WHERE id = 1),
             -- a phrase's words share its weight, as FTS5 scores a phrase as one term
             words AS (SELECT u.lexeme, 1.0 / greatest(length(to_tsvector('english', ph.p)), 1) AS w
                       FROM (VALUES {values}) AS ph(p), unnest(to_tsvector('english', ph.p)) AS u(lexeme, pos, wt)),
             q AS (SELECT t.lexeme, max(words.w) * ln(1 + (st.passages - t.df + 0.5) / (t.df + 0.5)) AS idf
                   FROM library_terms t JOIN words ON words.lexeme = t.lexeme, st
                   GROUP BY t.lexeme, t.df, st.passages),
             ranked AS (
               SELECT p.id, sum(q.idf * array_length(u.positions, 1) * {K1 + 1}
                                / (array_length(u.positions, 1) + {K1} * (1 - {B} + {B} * p.tsv_len / st.avgdl)))
                            AS score
               FROM library_passages p{join} CROSS JOIN st,
                    unnest(p.tsv) AS u(lexeme, positions, weights) JOIN q ON q.lexeme = u.lexeme
               WHERE p.tsv @@ ({tsquery}){where}
               GROUP BY p.id ORDER BY score DESC LIMIT :k)
        SELECT p.id, ranked.score, p.document_id, p.section, p.start, p."end",
               p.text
        FROM ranked JOIN library_passages p ON p.id = ranked.id ORDER BY ranked.score DESC, p.id"""
    params.update(k=limit)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql).bindparams(bindparam("k")), params)]


@dataclass(frozen=True)
class DocumentHit:
    rank: int
    score: float
    document: DocumentInfo
    best: Hit  # the document's best passage
    matched: tuple[int, ...]  # query groups matched by any of its retrieved passages


COORDINATION = 1.0  # how much a document gains for covering more of the question's ideas


def rank_documents(engine, query: Query, limit: int = 10, passages: int = 50, **filters) -> list[DocumentHit]:
    """Documents ranked by their best passage's BM25 score times (1 + COORDINATION x the share of the
    question's ideas found across the document's retrieved passages), the coordination factor of classic
    Lucene: an abstract that answers every part of the question beats one that repeats a single word."""
    best: dict[int, Hit] = {}
    matched: dict[int, set[int]] = {}
    for h in search(engine, query, limit=passages, **filters):
        best.setdefault(h.document.id, h)
        matched.setdefault(h.document.id, set()).update(h.matched)
    n = len(query.groups)
    scored = sorted(
        ((h.score * (1 + COORDINATION * len(matched[d]) / n), d) for d, h in best.items()),
        key=lambda x: (-x[0], best[x[1]].rank),
    )
    return [
        DocumentHit(i, round(s, 4), best[d].document, best[d], tuple(sorted(matched[d])))
        for i, (s, d) in enumerate(scored[:limit], start=1)
    ]
