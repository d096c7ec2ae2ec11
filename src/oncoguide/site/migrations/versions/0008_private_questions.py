"""Questions private by default: a table of masked questions that match no canonical one (for the
editors' list, kept for ONCOGUIDE_QUESTION_RETENTION_DAYS), and the raw wordings stored until now
removed.

Before this revision asked_questions kept the first wording a user typed for every question that was
not seeded from the pack (seeded = false). Those rows, and the helpful votes on them, are deleted: the
text cannot be told apart from personal data afterwards, and the pack's questions are seeded again at
the next start. Nothing is moved into the new table (it would only be purged again within the retention
period, and an old wording cannot be re-masked more safely than it can be dropped).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unmatched_questions",
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("condition", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("query_key", name=op.f("pk_unmatched_questions")),
    )
    op.create_index(op.f("ix_unmatched_questions_first_seen"), "unmatched_questions", ["first_seen"], unique=False)
    asked = sa.table("asked_questions", sa.column("query_key", sa.String), sa.column("seeded", sa.Boolean))
    votes = sa.table("question_votes", sa.column("query_key", sa.String))
    raw = sa.select(asked.c.query_key).where(asked.c.seeded == sa.false())
    op.execute(votes.delete().where(votes.c.query_key.in_(raw)))
    op.execute(asked.delete().where(asked.c.seeded == sa.false()))


def downgrade() -> None:
    # the deleted wordings are not restored: they were personal data
    op.drop_index(op.f("ix_unmatched_questions_first_seen"), table_name="unmatched_questions")
    op.drop_table("unmatched_questions")
