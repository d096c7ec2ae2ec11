"""Accounts hardening: a confusable-insensitive key for usernames (unique), and when each API token was
last used.

users.username_key is names.name_key(username): NFKC, case-folded, UTS #39 skeleton. Existing accounts
keep their usernames and go on working. When two existing usernames already share a key, the older
account (lowest id) keeps the key and each later one gets its key with "#<id>" appended, which no new
name can produce: both still sign in with their exact username, and no new look-alike of either can be
created. The collisions are logged as a warning naming the accounts, for an admin to rename or disable.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
KEY_MAX = 200


def upgrade() -> None:
    from oncoguide.site.names import stored_key

    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(length=KEY_MAX), nullable=True))
    conn = op.get_bind()
    users = sa.table(
        "users", sa.column("id", sa.Integer), sa.column("username", sa.String), sa.column("username_key", sa.String)
    )
    seen: dict[str, str] = {}
    for row in conn.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all():
        key = stored_key(row.username)
        if key in seen:
            log.warning(
                "username %r looks like %r (same confusable key); both keep working, but consider "
                "renaming or disabling one",
                row.username,
                seen[key],
            )
            key = f"{key}#{row.id}"
        else:
            seen[key] = row.username
        conn.execute(sa.update(users).where(users.c.id == row.id).values(username_key=key))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("username_key", existing_type=sa.String(length=KEY_MAX), nullable=False)
        batch.create_unique_constraint("uq_users_username_key", ["username_key"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("last_used", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_username_key", type_="unique")
        batch.drop_column("username_key")
