"""Reviewer credentials and affiliation: what readers see beside "Reviewed by" (both optional, set by the
reviewer on the account page).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("credentials", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("affiliation", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("affiliation")
        batch.drop_column("credentials")
