"""The library's documents and passages in the site database: one transaction per document, so an
interrupted ingest leaves whole documents only; the same text ingested twice is stored once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from oncoguide.library.documents import ParsedDocument, Passage
from oncoguide.library.tables import library_documents, library_files, library_passages


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    title: str
    authors: list[str]
    journal: str | None
    year: int | None
    pmid: str | None
    doi: str | None
    type: str
    licence: str | None
    source: str
    format: str
    chars: int
    passages: int
    added: object
    content_hash: str

    @classmethod
    def from_row(cls, row) -> DocumentInfo:
        """From a row of select(*DOCUMENT_COLUMNS)."""
        return cls(*row)

    def citation(self) -> str:
        """A short reference: first author, title, journal and year, PMID or DOI when known."""
        first = self.authors[0].rstrip(".") if self.authors else ""
        who = f"{first}, et al." if len(self.authors) > 1 else f"{first}." if first else ""
        title = self.title.rstrip(".")
        title += "" if title.endswith(("?", "!")) else "."
        where = ". ".join(x for x in (self.journal, str(self.year) if self.year else None) if x)
        ids = f" PMID {self.pmid}." if self.pmid else f" doi:{self.doi}." if self.doi else ""
        # (the pack's reference formatter, engine/references.py, sits a layer above the library: the same rules)
        return " ".join(x for x in (who, title, where + "." if where else "") if x) + ids


@dataclass(frozen=True)
class StoredPassage:
    id: int
    ordinal: int
    section: str
    start: int
    end: int
    text: str


# The columns of library_documents in DocumentInfo's field order: select(*DOCUMENT_COLUMNS) rows build one
DOCUMENT_COLUMNS = (
    library_documents.c.id,
    library_documents.c.title,
    library_documents.c.authors,
    library_documents.c.journal,
    library_documents.c.year,
    library_documents.c.pmid,
    library_documents.c.doi,
    library_documents.c.type,
    library_documents.c.licence,
    library_documents.c.source,
    library_documents.c.format,
    library_documents.c.chars,
    library_documents.c.passages,
    library_documents.c.added,
    library_documents.c.content_hash,
)


class Library:
    def __init__(self, engine):
        self.engine = engine
        self.dialect = engine.dialect.name

    # --- writing ----------------------------------------------------------------------------------

    def add(self, doc: ParsedDocument, passages: list[Passage]) -> tuple[int, bool]:
        """Store a document and its passages in one transaction; returns (id, whether it was new)."""
        return self.add_batch([(doc, passages)])[0]

    def add_batch(self, batch: list[tuple[ParsedDocument, list[Passage]]]) -> list[tuple[int, bool]]:
        """Store whole documents in one transaction (all of them or none); returns (id, new) for each.
        A document whose text is already stored, or appears earlier in the batch, is not stored again."""
        digests = [doc.content_hash for doc, _ in batch]
        try:
            with self.engine.begin() as conn:
                known = dict(
                    conn.execute(
                        select(library_documents.c.content_hash, library_documents.c.id).where(
                            library_documents.c.content_hash.in_(set(digests))
                        )
                    ).all()
                )
                results, rows, new_ids = [], [], []
                for (doc, passages), digest in zip(batch, digests, strict=True):
                    if digest in known:
                        results.append((known[digest], False))
                        continue
                    doc_id = conn.execute(
                        insert(library_documents),
                        {
                            "content_hash": digest,
                            "title": doc.title[:2000],
                            "authors": list(doc.authors)[:200],
                            "journal": doc.journal,
                            "year": doc.year,
                            "pmid": doc.pmid,
                            "doi": doc.doi,
                            "type": doc.type,
                            "licence": doc.licence,
                            "source": doc.source[:2000],
                            "format": doc.format,
                            "chars": len(doc.text),
                            "passages": len(passages),
                            "added": _now(),
                        },
                    ).inserted_primary_key[0]
                    known[digest] = doc_id
                    new_ids.append(doc_id)
                    results.append((doc_id, True))
                    rows += [(doc_id, p.ordinal, p.section[:500], p.start, p.end, p.text) for p in passages]
                if rows:  # straight to the driver: SQLAlchemy's per-row parameter handling cost a fifth of ingest
                    mark = "?" if self.dialect == "sqlite" else "%s"
                    conn.exec_driver_sql(
                        'INSERT INTO library_passages (document_id, ordinal, section, start, "end", text) '
                        f"VALUES ({', '.join([mark] * 6)})",
                        rows,
                    )
                if self.dialect == "postgresql" and new_ids:
                    self._count_terms(conn, new_ids, +1)
        except IntegrityError:  # the same text ingested by another process at the same moment: one by one
            if len(batch) == 1:
                found = self.find_hash(digests[0])
                if found is None:
                    raise
                return [(found, False)]
            return [r for item in batch for r in self.add_batch([item])]
        return results

    def _count_terms(self, conn, doc_ids: list[int], sign: int) -> None:
        """PostgreSQL: keep each lexeme's passage count (BM25's document frequency) and the totals, for a
        whole batch of documents in two statements."""
        conn.execute(
            text(
                "INSERT INTO library_terms (lexeme, df) SELECT u.lexeme, :sign * count(*) FROM library_passages p, "
                "unnest(p.tsv) AS u(lexeme, positions, weights) WHERE p.document_id = ANY(:docs) GROUP BY u.lexeme "
                "ORDER BY u.lexeme ON CONFLICT (lexeme) DO UPDATE SET df = library_terms.df + excluded.df"
            ),
            {"docs": doc_ids, "sign": sign},
        )
        conn.execute(
            text(
                "UPDATE library_stats SET passages = passages + :sign * s.n, lexemes = lexemes + :sign * s.len "
                "FROM (SELECT count(*) AS n, coalesce(sum(tsv_len), 0) AS len FROM library_passages "
                "WHERE document_id = ANY(:docs)) s WHERE id = 1"
            ),
            {"docs": doc_ids, "sign": sign},
        )

    def remove(self, doc_id: int) -> bool:
        with self.engine.begin() as conn:
            if conn.execute(select(library_documents.c.id).where(library_documents.c.id == doc_id)).first() is None:
                return False
            if self.dialect == "postgresql":
                self._count_terms(conn, [doc_id], -1)
                conn.execute(text("DELETE FROM library_terms WHERE df <= 0"))
            conn.execute(delete(library_passages).where(library_passages.c.document_id == doc_id))
            conn.execute(delete(library_documents).where(library_documents.c.id == doc_id))
            conn.execute(delete(library_files))  # a file may now be missing a document: parse it again next time
        return True

    def file_done(self, file_hash: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(select(library_files.c.file_hash).where(library_files.c.file_hash == file_hash)).first()
                is not None
            )

    def mark_file(self, file_hash: str, path: str, documents: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(library_files).where(library_files.c.file_hash == file_hash))
            conn.execute(
                insert(library_files).values(file_hash=file_hash, path=path[:2000], documents=documents, at=_now())
            )

    # --- reading ----------------------------------------------------------------------------------

    def find_hash(self, digest: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(library_documents.c.id).where(library_documents.c.content_hash == digest)
            ).scalar()

    def documents(self, limit: int = 100, offset: int = 0) -> list[DocumentInfo]:
        with self.engine.connect() as conn:
            found = conn.execute(select(*DOCUMENT_COLUMNS).order_by(library_documents.c.id).limit(limit).offset(offset))
            return [DocumentInfo.from_row(r) for r in found]

    def get(self, doc_id: int) -> DocumentInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*DOCUMENT_COLUMNS).where(library_documents.c.id == doc_id)).first()
        return DocumentInfo.from_row(row) if row else None

    def passages(self, doc_id: int) -> list[StoredPassage]:
        with self.engine.connect() as conn:
            return [
                StoredPassage(*r)
                for r in conn.execute(
                    select(
                        library_passages.c.id,
                        library_passages.c.ordinal,
                        library_passages.c.section,
                        library_passages.c.start,
                        library_passages.c.end,
                        library_passages.c.text,
                    )
                    .where(library_passages.c.document_id == doc_id)
                    .order_by(library_passages.c.ordinal)
                )
            ]

    def counts(self) -> tuple[int, int]:
        """(documents, passages)."""
        with self.engine.connect() as conn:
            docs = conn.execute(select(func.count()).select_from(library_documents)).scalar_one()
            passages = conn.execute(select(func.coalesce(func.sum(library_documents.c.passages), 0))).scalar_one()
        return docs, int(passages)
