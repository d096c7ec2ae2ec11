"""Members' experiences (moderated) and reader flags.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("masked", sa.JSON(), nullable=False),
        sa.Column("held", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("moderator_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_experiences_user_id_users")),
        sa.ForeignKeyConstraint(["moderator_id"], ["users.id"], name=op.f("fk_experiences_moderator_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiences")),
    )
    op.create_index("ix_experiences_condition_status", "experiences", ["condition", "status"], unique=False)
    op.create_table(
        "experience_flags",
        sa.Column("experience_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experience_id"], ["experiences.id"], name=op.f("fk_experience_flags_experience_id_experiences")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_experience_flags_user_id_users")),
        sa.PrimaryKeyConstraint("experience_id", "user_id", name=op.f("pk_experience_flags")),
    )


def downgrade() -> None:
    op.drop_table("experience_flags")
    op.drop_index("ix_experiences_condition_status", table_name="experiences")
    op.drop_table("experiences")
