"""Members: a story may answer one of the top questions; an optional country (ISO 3166-1 alpha-2,
nothing finer); account deletion; a stored ranking score for top questions, so ranking reads an index
instead of sorting every question; an index giving a condition's newest published stories in order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("deleted", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_users_country", "users", ["country"], unique=False)
    with op.batch_alter_table("asked_questions") as batch:
        batch.add_column(sa.Column("score", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE asked_questions SET score = asks + 3 * helpful")
    op.drop_index("ix_asked_questions_rank", table_name="asked_questions")
    op.create_index("ix_asked_questions_rank", "asked_questions", ["condition", "score"], unique=False)
    with op.batch_alter_table("experiences") as batch:
        batch.add_column(sa.Column("question_key", sa.String(length=64), nullable=True))
    # newest published stories of a condition straight from the index, without sorting them all
    op.drop_index("ix_experiences_condition_status", table_name="experiences")
    op.create_index("ix_experiences_published", "experiences", ["condition", "status", "created"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_experiences_published", table_name="experiences")
    op.create_index("ix_experiences_condition_status", "experiences", ["condition", "status"], unique=False)
    with op.batch_alter_table("experiences") as batch:
        batch.drop_column("question_key")
    op.drop_index("ix_asked_questions_rank", table_name="asked_questions")
    op.create_index("ix_asked_questions_rank", "asked_questions", ["condition", "asks"], unique=False)
    with op.batch_alter_table("asked_questions") as batch:
        batch.drop_column("score")
    op.drop_index("ix_users_country", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deleted")
        batch.drop_column("country")
