"""Names that imitate staff are refused at /join, on SQLite and PostgreSQL: usernames are NFKC-normalised,
kept to a safe character set and compared case- and confusable-insensitively (Unicode's confusables
table); display names refuse control characters, direction overrides, invisible-only text and
look-alikes of staff names. Accounts from before keep working."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from oncoguide.site.db import users
from tests.conftest import ACCOUNT_PASSWORD

RULE = "3-32 characters: lower-case letters a-z, digits"
TAKEN = "is taken (or looks the same as one that is)"
STAFF = "looks like the name of a member of staff"


def join(site, username: str, display_name: str = "A new member"):
    client = TestClient(site.app, raise_server_exceptions=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/join").text).group(1)
    return client.post(
        "/join",
        data={"username": username, "display_name": display_name, "password": "a fine long passphrase", "csrf": token},
        follow_redirects=False,
    )


def count_users(site) -> int:
    with site.app.state.site.accounts.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(users)).scalar_one()


@pytest.mark.parametrize(
    "username, display_name, message",
    [
        ("\u0430dm1", "A new member", RULE),  # Cyrillic а: not in the safe set
        ("\u0410DMIN1", "A new member", RULE),  # Cyrillic А, capitals
        ("ａｄｍｉｎ１", "A new member", TAKEN),  # full-width: NFKC makes it admin1, which exists
        ("ADMIN1", "A new member", TAKEN),  # case
        ("Reviewer1", "A new member", TAKEN),
        ("ad\x00min", "A new member", RULE),  # NUL
        ("\u202eadmin", "A new member", RULE),  # right-to-left override
        ("adm\u200bin1", "A new member", RULE),  # zero-width space inside
        ("ab", "A new member", RULE),  # too short
        ("a" * 33, "A new member", RULE),  # too long
        ("member.one", "\u202eDr Admin", "text-direction controls"),
        ("member.one", "Dr\u2066 Lee\u2069", "text-direction controls"),  # isolates
        ("member.one", "Dr\x00Lee", "control characters"),
        ("member.one", "Dr\nLee", "control characters"),
        ("member.one", "\u200b\u200b", "empty once invisible characters are removed"),
        ("member.one", "\u200d\ufeff\u2060", "empty once invisible characters are removed"),
        ("member.one", "Dr \u0410dmin", STAFF),  # Cyrillic А in a staff member's display name
        ("member.one", "ＤＲ ＡＤＭＩＮ", STAFF),  # full-width capitals
        ("member.one", "dr.admin", STAFF),  # spacing and punctuation do not tell names apart
        ("member.one", "Reviewer1", STAFF),  # a staff username as a display name
        ("dr-admin", "", STAFF),  # the username alone (it is the display name too)
    ],
)
def test_names_that_imitate_staff_or_hide_characters_are_refused(site, username, display_name, message):
    before = count_users(site)
    r = join(site, username, display_name)
    assert r.status_code == 422 and message in r.text.replace("&#39;", "'"), r.text[-1500:]
    assert count_users(site) == before


def test_ordinary_names_in_any_script_are_welcome_and_normalised(site):
    r = join(site, "  Zoe.Ng ", "Zoë  Ng \u200b")
    assert r.status_code == 303, r.text[-500:]
    user = site.app.state.site.accounts.get("zoe.ng")
    assert user.username == "zoe.ng" and user.display_name == "Zoë Ng" and user.role == "reader"
    assert join(site, "kenji", "健二").status_code == 303
    # the new member may sign in however they write the name
    assert site.app.state.site.accounts.authenticate("ZOE.NG", "a fine long passphrase").username == "zoe.ng"


def test_the_key_is_case_and_confusable_insensitive():
    from oncoguide.site.names import name_key

    assert name_key("admin") == name_key("ADMIN") == name_key("\u0410DMIN") == name_key("ａｄｍｉｎ")
    assert name_key("\u0430dm1") == name_key("adm1")
    assert name_key("admin") != name_key("admit")


def test_existing_accounts_keep_working_through_the_migration(site_url):
    """Accounts made under the old rule (mixed case, other scripts, look-alikes of each other) get a key;
    the older of two look-alikes keeps it, the later one a suffixed key; both still sign in."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import column, table

    from oncoguide.site.accounts import HASHER, AccountError, Accounts
    from oncoguide.site.db import alembic_config, engine_for, upgrade
    from oncoguide.site.names import name_key

    engine = engine_for(site_url)
    config = alembic_config(site_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
    old_users = table("users", *[column(c.name) for c in users.columns if c.name not in ("id", "username_key")])
    hashed = HASHER.hash(ACCOUNT_PASSWORD)
    with engine.begin() as conn:
        for name, role in (
            ("Ann.Lee", "reviewer"),
            ("ann.lee", "reader"),
            ("\u0410nn.Lee", "reader"),
            ("Bob", "editor"),
        ):
            conn.execute(
                old_users.insert().values(
                    username=name,
                    display_name=name,
                    role=role,
                    password_hash=hashed,
                    disabled=False,
                    created=datetime.now(UTC),
                )
            )
    upgrade(engine)
    with engine.connect() as conn:
        keys = dict(conn.execute(select(users.c.username, users.c.username_key).order_by(users.c.id)).all())
    assert keys["Ann.Lee"] == name_key("ann.lee") and keys["Bob"] == name_key("bob")
    assert keys["ann.lee"].startswith(name_key("ann.lee") + "#") and keys["\u0410nn.Lee"].startswith(
        name_key("ann.lee") + "#"
    )
    accounts = Accounts(engine)
    for name in keys:  # each signs in with its exact username
        assert accounts.authenticate(name, ACCOUNT_PASSWORD).username == name
    assert accounts.authenticate("BOB", ACCOUNT_PASSWORD).username == "Bob"  # and by its key
    with pytest.raises(AccountError, match="is taken"):
        accounts.add("ann.lee", "Someone", "reader", "a fine long passphrase")
    engine.dispose()
