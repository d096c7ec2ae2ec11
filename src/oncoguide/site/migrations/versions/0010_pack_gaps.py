"""Pack gaps: what readers asked about a covered condition that the pack has no statement on yet, in
canonical form only (condition, question type, focus entities) for the editors' list; no wording is kept.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pack_gaps",
        sa.Column("gap_key", sa.String(length=200), nullable=False),
        sa.Column("condition", sa.String(length=10), nullable=False),
        sa.Column("aspect", sa.String(length=40), nullable=False),
        sa.Column("focus", sa.String(length=160), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("gap_key", name=op.f("pk_pack_gaps")),
    )


def downgrade() -> None:
    op.drop_table("pack_gaps")
