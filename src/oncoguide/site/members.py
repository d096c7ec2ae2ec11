"""What members control about themselves: the country they share (opt-in, changeable, removable;
nothing finer than a country is stored), the members map's counts, and deleting their account with
their posts either removed or kept without their name."""

from __future__ import annotations

import threading
import time

from sqlalchemy import delete, func, select, update

from oncoguide.site.accounts import AccountError, Accounts, Role, User, now, throttle_key
from oncoguide.site.countries import country_names
from oncoguide.site.db import api_tokens, experience_flags, experiences, login_failures, sessions, users

FORMER_MEMBER = "Former member"
# accounts whose actions are part of the editorial record are closed by an admin (users disable), not deleted
SELF_DELETE_ROLES = {Role.READER, Role.CONTRIBUTOR}
STATS_SECONDS = 2.0  # each worker re-reads the map's counts at most this often (its own changes at once)
POST_CHOICES = {"remove": "delete my posts", "anonymise": "keep my posts without my pseudonym"}


class MemberError(ValueError):
    """A refused change; the message says why."""


def _active():
    return (users.c.deleted.is_(None)) & (users.c.disabled.is_(False))


class Members:
    def __init__(self, engine, accounts: Accounts | None = None):
        self.engine = engine
        self.accounts = accounts or Accounts(engine)
        self._stats: tuple[float, int, dict[str, int]] | None = None
        self._lock = threading.Lock()

    def stats(self) -> tuple[int, dict[str, int]]:
        """(members with an open account, members sharing each country), read at most every STATS_SECONDS."""
        with self._lock:
            cached = self._stats
        if cached is not None and time.monotonic() - cached[0] < STATS_SECONDS:
            return cached[1], cached[2]
        total, by_country = self.total(), self.by_country()
        with self._lock:
            self._stats = (time.monotonic(), total, by_country)
        return total, by_country

    def _changed(self) -> None:
        with self._lock:
            self._stats = None

    def set_country(self, user: User, code: str | None) -> str | None:
        """Share (a valid ISO 3166-1 alpha-2 code), change, or remove (None or "") the member's country."""
        code = (code or "").strip().upper() or None
        if code is not None and code not in country_names():
            raise MemberError("choose a country from the list, or 'Not shared'")
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(country=code))
        self._changed()
        return code

    def country_of(self, user: User) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(users.c.country).where(users.c.id == user.id)).scalar()

    def total(self) -> int:
        """Members with an open account."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(users).where(_active())).scalar_one()

    def by_country(self) -> dict[str, int]:
        """How many open accounts share each country."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(users.c.country, func.count())
                .where(_active(), users.c.country.is_not(None))
                .group_by(users.c.country)
            )
            return {code: n for code, n in rows}

    def delete(self, user: User, password: str, posts: str) -> None:
        """Close the member's account for good. Posts are deleted ("remove") or kept under "Former member"
        ("anonymise"); the pseudonym, country, password, sessions and tokens go in either case. The row
        stays as an empty placeholder, so flags and votes already counted keep pointing somewhere."""
        if posts not in POST_CHOICES:
            raise MemberError("choose whether to delete your posts or keep them without your pseudonym")
        if user.role not in SELF_DELETE_ROLES:
            raise MemberError(f"a {user.role}'s account is part of the editorial record; ask an admin to disable it")
        try:
            self.accounts.authenticate(user.username, password)
        except AccountError:
            raise MemberError("the password is wrong; your account was not deleted") from None
        with self.engine.begin() as conn:  # all or nothing
            if posts == "remove":
                mine = select(experiences.c.id).where(experiences.c.user_id == user.id)
                conn.execute(delete(experience_flags).where(experience_flags.c.experience_id.in_(mine)))
                conn.execute(delete(experiences).where(experiences.c.user_id == user.id))
            conn.execute(delete(sessions).where(sessions.c.user_id == user.id))
            conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user.id))
            conn.execute(delete(login_failures).where(login_failures.c.key == throttle_key(user.username)))
            conn.execute(
                update(users)
                .where(users.c.id == user.id)
                .values(
                    username=f"deleted-{user.id}",
                    username_key=f"#deleted-{user.id}",  # frees the name
                    display_name=FORMER_MEMBER,
                    password_hash="!",
                    disabled=True,
                    country=None,
                    credentials=None,
                    affiliation=None,
                    deleted=now(),
                )
            )
        self._changed()
