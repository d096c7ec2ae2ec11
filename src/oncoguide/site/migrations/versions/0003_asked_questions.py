"""Questions as asked, counted by normalised form (no asker recorded), and helpful votes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asked_questions",
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("condition", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Integer(), nullable=False),
        sa.Column("seeded", sa.Boolean(), nullable=False),
        sa.Column("last_asked", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("query_key", name=op.f("pk_asked_questions")),
    )
    op.create_index("ix_asked_questions_rank", "asked_questions", ["condition", "asks"], unique=False)
    op.create_table(
        "question_votes",
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["query_key"], ["asked_questions.query_key"], name=op.f("fk_question_votes_query_key_asked_questions")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_question_votes_user_id_users")),
        sa.PrimaryKeyConstraint("query_key", "user_id", name=op.f("pk_question_votes")),
    )


def downgrade() -> None:
    op.drop_table("question_votes")
    op.drop_index("ix_asked_questions_rank", table_name="asked_questions")
    op.drop_table("asked_questions")
