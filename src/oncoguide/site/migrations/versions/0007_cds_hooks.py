"""CDS Hooks: the cards the service issued (card uuid, patient group, hookInstance; nothing naming a
patient or a clinician), the feedback clinicians' systems send about them, and the JWTs already used
to call the service (refused if replayed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_cards",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("hook_instance", sa.String(length=100), nullable=False),
        sa.Column("condition", sa.String(length=10), nullable=False),
        sa.Column("group_id", sa.String(length=80), nullable=True),
        sa.Column("indicator", sa.String(length=10), nullable=False),
        sa.Column("issued", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_cds_cards")),
    )
    op.create_index(op.f("ix_cds_cards_issued"), "cds_cards", ["issued"], unique=False)
    op.create_table(
        "cds_tokens",
        sa.Column("iss", sa.String(length=300), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("iss", "jti", name=op.f("pk_cds_tokens")),
    )
    op.create_index(op.f("ix_cds_tokens_expires"), "cds_tokens", ["expires"], unique=False)
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("card", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reason_system", sa.Text(), nullable=True),
        sa.Column("reason_code", sa.String(length=100), nullable=True),
        sa.Column("reason_display", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card"], ["cds_cards.uuid"], name=op.f("fk_cds_feedback_card_cds_cards")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cds_feedback")),
    )
    op.create_index(op.f("ix_cds_feedback_card"), "cds_feedback", ["card"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cds_feedback_card"), table_name="cds_feedback")
    op.drop_table("cds_feedback")
    op.drop_index(op.f("ix_cds_tokens_expires"), table_name="cds_tokens")
    op.drop_table("cds_tokens")
    op.drop_index(op.f("ix_cds_cards_issued"), table_name="cds_cards")
    op.drop_table("cds_cards")
