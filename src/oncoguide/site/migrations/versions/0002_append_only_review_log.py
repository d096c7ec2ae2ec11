"""The review log is append-only in the database itself: UPDATE and DELETE on review_events fail,
whatever code or person tries them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MESSAGE = "review_events is an append-only audit log"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION review_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$""")
        op.execute("""CREATE TRIGGER review_events_append_only BEFORE UPDATE OR DELETE ON review_events
                      FOR EACH ROW EXECUTE FUNCTION review_events_append_only()""")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER review_events_no_{action.lower()} BEFORE {action} ON review_events
                           BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER review_events_append_only ON review_events")
        op.execute("DROP FUNCTION review_events_append_only()")
    else:
        op.execute("DROP TRIGGER review_events_no_update")
        op.execute("DROP TRIGGER review_events_no_delete")
