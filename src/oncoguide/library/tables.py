"""The library's tables: documents, their passages and the files already read (oncoguide ingest).

They live in the site database, but the library owns them: the site layer sits above the library (a
Site exposes .library), so the library cannot import the site's schema. site/db.py copies them into the
site database's MetaData for Alembic, backups and the schema test; no foreign key crosses between them.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text

# One naming convention for every table of the site database (the site's schema uses it too), so
# constraint and index names do not depend on which MetaData a table is defined on.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Full-text indexes are dialect-specific and made by migration 0006: on SQLite an FTS5 table
# (library_fts, porter stemming) kept in step by triggers; on PostgreSQL a generated tsvector column
# (library_passages.tsv, 'english') with a GIN index, plus library_terms (lexeme -> passages holding
# it) for BM25's document frequencies.

library_documents = Table(
    "library_documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("content_hash", String(64), nullable=False, unique=True),  # sha256 of the text: re-ingest is a no-op
    Column("title", Text, nullable=False),
    Column("authors", JSON, nullable=False),
    Column("journal", Text, nullable=True),
    Column("year", Integer, nullable=True, index=True),
    Column("pmid", String(20), nullable=True, index=True),
    Column("doi", String(200), nullable=True),
    Column("type", String(20), nullable=False, index=True),
    Column("licence", Text, nullable=True),
    Column("source", Text, nullable=False),
    Column("format", String(20), nullable=False),
    Column("chars", Integer, nullable=False),
    Column("passages", Integer, nullable=False),
    Column("added", DateTime(timezone=True), nullable=False),
)

library_passages = Table(
    "library_passages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", Integer, ForeignKey("library_documents.id"), nullable=False, index=True),
    Column("ordinal", Integer, nullable=False),
    Column("section", Text, nullable=False),
    Column("start", Integer, nullable=False),  # character offsets into the document's text
    Column("end", Integer, nullable=False),
    Column("text", Text, nullable=False),
)

library_files = Table(  # files whose every document is in: the next run skips them without parsing
    "library_files",
    metadata,
    Column("file_hash", String(64), primary_key=True),  # sha256 of the file's bytes
    Column("path", Text, nullable=False),
    Column("documents", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
