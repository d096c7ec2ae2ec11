"""Accounts, roles, passwords (Argon2id), login throttling, server-side sessions and API tokens."""

from __future__ import annotations

import builtins
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from oncoguide.site import names
from oncoguide.site.db import api_tokens, login_failures, sessions, users


class Role(StrEnum):
    """An account's role; the value is what the database stores and the JSON shows."""

    READER = "reader"
    CONTRIBUTOR = "contributor"
    MODERATOR = "moderator"
    REVIEWER = "reviewer"
    EDITOR = "editor"
    ADMIN = "admin"


ROLES = tuple(Role)
MIN_PASSWORD, MAX_PASSWORD = 8, 128  # OWASP ASVS: at least 8 (with other checks), accept at least 64
FREE_FAILURES = 5  # failed logins allowed before back-off starts
MAX_LOCK = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
STAFF_ROLES = (Role.MODERATOR, Role.REVIEWER, Role.EDITOR, Role.ADMIN)  # members must not be able to pass for them
TOKEN_USE_PRECISION = timedelta(minutes=1)  # last_used is written at most this often per token
# OWASP's minimum Argon2id settings (19 MiB, 2 passes, 1 lane): about 30 ms per hash here
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AccountError(ValueError):
    """A refused account operation; the message says why."""


class LoginThrottled(AccountError):
    def __init__(self, seconds: int):
        super().__init__(f"too many failed logins for this account; try again in {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    disabled: bool
    country: str | None = None
    credentials: str | None = None  # a reviewer's qualifications, shown beside "Reviewed by"
    affiliation: str | None = None


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed: never the token itself (only its hash is stored)."""

    username: str
    name: str
    created: datetime
    last_used: datetime | None
    revoked: bool


@dataclass(frozen=True)
class Session:
    user: User | None
    csrf: str


def now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)  # SQLite hands back naive datetimes


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # 30,000 most common passwords, shipped offline

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, username: str = "") -> None:
    """Password rules per OWASP ASVS 2.1: length, not common, no composition rules."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have at most {MAX_PASSWORD} characters")
    low = password.lower()
    if low in common_passwords() or (username and username.lower() in low):
        raise AccountError("this password is too common or contains the username; choose another")


def throttle_key(username: str) -> str:
    """Failed logins are counted per account however its name is written (case, look-alikes)."""
    return names.stored_key(username.strip()[:200])


def _user(row) -> User:
    return User(
        row.id,
        row.username,
        row.display_name,
        Role(row.role),
        bool(row.disabled),
        row.country,
        row.credentials,
        row.affiliation,
    )


class Accounts:
    def __init__(self, engine):
        self.engine = engine

    # --- users ---------------------------------------------------------------------------------

    def add(self, username: str, display_name: str, role: str, password: str) -> User:
        """A new account. Usernames are compared case- and confusable-insensitively (users.username_key);
        a member (a role outside STAFF_ROLES) may not take a name that reads as a staff account's."""
        try:
            username, display_name = names.username(username), names.display_name(display_name)
        except names.InvalidName as exc:
            raise AccountError(str(exc)) from None
        if role not in ROLES:
            raise AccountError(f"unknown role '{role}'; use one of: {', '.join(ROLES)}")
        check_password(password, username)
        key = names.stored_key(username)
        taken = f"the username '{username}' is taken (or looks the same as one that is)"
        try:
            with self.engine.begin() as conn:
                if conn.execute(
                    select(users.c.id).where(or_(users.c.username == username, users.c.username_key == key))
                ).first():
                    raise AccountError(taken)
                if role not in STAFF_ROLES:
                    self._not_like_staff(conn, username, display_name)
                conn.execute(
                    insert(users).values(
                        username=username,
                        username_key=key,
                        display_name=display_name,
                        role=role,
                        password_hash=HASHER.hash(password),
                        disabled=False,
                        created=now(),
                    )
                )
        except IntegrityError:  # another request took the name (or a look-alike) in the meantime
            raise AccountError(taken) from None
        return self._stored(username)

    @staticmethod
    def _not_like_staff(conn, username: str, display_name: str) -> None:
        staff = conn.execute(select(users.c.username, users.c.display_name).where(users.c.role.in_(STAFF_ROLES))).all()
        keys = {names.loose_key(n) for row in staff for n in row}
        if names.loose_key(display_name) in keys:
            raise AccountError("the display name looks like the name of a member of staff; choose another")
        if names.loose_key(username) in keys:
            raise AccountError("the username looks like the name of a member of staff; choose another")

    def _stored(self, username: str) -> User:
        """A user just written; gone only if deleted in between."""
        user = self.get(username)
        if user is None:
            raise AccountError(f"no user named '{username}'")
        return user

    def get(self, username: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return _user(row) if row else None

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def set_role(self, username: str, role: str) -> User:
        if role not in ROLES:
            raise AccountError(f"unknown role '{role}'; use one of: {', '.join(ROLES)}")
        return self._update(username, role=role)

    def set_disabled(self, username: str, disabled: bool = True) -> User:
        user = self._update(username, disabled=disabled)
        if disabled:
            with self.engine.begin() as conn:
                conn.execute(delete(sessions).where(sessions.c.user_id == user.id))
                conn.execute(update(api_tokens).where(api_tokens.c.user_id == user.id).values(revoked=True))
        return user

    def set_profile(self, username: str, credentials: str, affiliation: str) -> User:
        """A reviewer's credentials and affiliation, as readers see them beside "Reviewed by" ("" clears)."""
        try:
            cred = names.shown_text(credentials, "the credentials", names.CREDENTIALS_MAX)
            aff = names.shown_text(affiliation, "the affiliation", names.AFFILIATION_MAX)
        except names.InvalidName as exc:
            raise AccountError(str(exc)) from None
        return self._update(username, credentials=cred or None, affiliation=aff or None)

    def _update(self, username: str, **values) -> User:
        with self.engine.begin() as conn:
            if conn.execute(update(users).where(users.c.username == username).values(**values)).rowcount != 1:
                raise AccountError(f"no user named '{username}'")
        return self._stored(username)

    # --- login -----------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> User:
        """The user, or AccountError with one message for any wrong name or password (no enumeration)."""
        key = throttle_key(username)
        with self.engine.connect() as conn:
            fail = conn.execute(select(login_failures).where(login_failures.c.key == key)).first()
            # the exact username first (accounts from before the key kept theirs), else any way of writing it
            row = (
                conn.execute(select(users).where(users.c.username == username.strip())).first()
                or conn.execute(select(users).where(users.c.username_key == names.stored_key(username.strip()))).first()
            )
        if fail and fail.locked_until and _aware(fail.locked_until) > now():
            raise LoginThrottled(int((_aware(fail.locked_until) - now()).total_seconds()) + 1)
        ok = False
        if row is not None and len(password) <= MAX_PASSWORD:
            try:
                ok = HASHER.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        else:
            HASHER.hash("spend the same time as a real check")  # no timing difference for unknown names
        if not ok or row.disabled:
            self._record_failure(key)
            raise AccountError("wrong username or password, or the account is disabled")
        with self.engine.begin() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.key == key))
            if HASHER.check_needs_rehash(row.password_hash):
                conn.execute(update(users).where(users.c.id == row.id).values(password_hash=HASHER.hash(password)))
        return _user(row)

    def _record_failure(self, key: str) -> int:
        """Count one failed login; returns the count. One upsert adds 1 in the database, so failures from
        parallel requests and workers are all counted (reading the count first and writing count + 1 lost
        half of them); the lock that follows from the count is set in the same transaction."""
        dialect = self.engine.dialect.name
        upsert: Any  # two dialects' inserts: both have on_conflict_do_update, no common type has it
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as upsert
        else:
            raise AccountError(f"login throttling does not support the {dialect} database")
        stmt = upsert(login_failures).values(key=key, failures=1, locked_until=None)
        stmt = stmt.on_conflict_do_update(
            index_elements=[login_failures.c.key], set_={"failures": login_failures.c.failures + 1}
        )
        with self.engine.begin() as conn:
            failures = conn.execute(stmt.returning(login_failures.c.failures)).scalar_one()
            if failures >= FREE_FAILURES:  # back-off doubles from 1 s: 1, 2, 4, ... up to 15 minutes
                wait = timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20))
                conn.execute(
                    update(login_failures)
                    .where(login_failures.c.key == key)
                    .values(locked_until=now() + min(MAX_LOCK, wait))
                )
        return failures

    # --- sessions ---------------------------------------------------------------------------------

    def start_session(self, user: User, old_cookie: str | None = None) -> tuple[str, Session]:
        """A new session id for a login (the old one is dropped: no session fixation)."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            if old_cookie:
                conn.execute(delete(sessions).where(sessions.c.id_hash == digest(old_cookie)))
            conn.execute(delete(sessions).where(sessions.c.expires < now()))
            conn.execute(
                insert(sessions).values(
                    id_hash=digest(cookie), user_id=user.id, csrf=csrf, created=now(), expires=now() + SESSION_LIFETIME
                )
            )
        return cookie, Session(user, csrf)

    def session(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 100:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(sessions.c.csrf, sessions.c.expires, users)
                .join(users, users.c.id == sessions.c.user_id)
                .where(sessions.c.id_hash == digest(cookie))
            ).first()
        if row is None or _aware(row.expires) < now() or row.disabled:
            return None
        return Session(_user(row), row.csrf)

    def end_session(self, cookie: str | None) -> None:
        if cookie:
            with self.engine.begin() as conn:
                conn.execute(delete(sessions).where(sessions.c.id_hash == digest(cookie)))

    # --- API tokens -----------------------------------------------------------------------------

    def create_token(self, username: str, name: str) -> str:
        """A new API token for the user; only its hash is stored, so it is shown once.

        A user's active tokens have distinct names, so that (username, name) names one token to revoke.
        """
        user = self.get(username)
        if user is None:
            raise AccountError(f"no user named '{username}'")
        name = name.strip()
        if not name or len(name) > 80 or any(unicodedata.category(c)[0] == "C" for c in name):
            raise AccountError("the token name must be 1-80 visible characters")
        token = "og_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            if conn.execute(
                select(api_tokens.c.id).where(
                    api_tokens.c.user_id == user.id, api_tokens.c.name == name, api_tokens.c.revoked.is_(False)
                )
            ).first():
                raise AccountError(
                    f"{user.username} already has an active token named '{name}'; revoke it first "
                    f"(oncoguide users token {user.username} --revoke {name}) or choose another name"
                )
            conn.execute(
                insert(api_tokens).values(
                    user_id=user.id, token_hash=digest(token), name=name, created=now(), revoked=False
                )
            )
        return token

    def revoke_token(self, username: str, name: str) -> int:
        """Revoke the user's active token(s) named `name`; returns how many (more than one only for tokens
        made before names were unique per user)."""
        user = self.get(username)
        if user is None:
            raise AccountError(f"no user named '{username}'")
        with self.engine.begin() as conn:
            count = conn.execute(
                update(api_tokens)
                .where(
                    api_tokens.c.user_id == user.id, api_tokens.c.name == name.strip(), api_tokens.c.revoked.is_(False)
                )
                .values(revoked=True)
            ).rowcount
        if not count:
            raise AccountError(
                f"{user.username} has no active token named '{name}' (see oncoguide users tokens {user.username})"
            )
        return count

    def tokens(self, username: str | None = None) -> builtins.list[TokenInfo]:  # list: the method above
        query = (
            select(
                users.c.username, api_tokens.c.name, api_tokens.c.created, api_tokens.c.last_used, api_tokens.c.revoked
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(users.c.username, api_tokens.c.created, api_tokens.c.id)
        )
        if username is not None:
            if self.get(username) is None:
                raise AccountError(f"no user named '{username}'")
            query = query.where(users.c.username == username)
        with self.engine.connect() as conn:
            return [
                TokenInfo(r.username, r.name, _aware(r.created), r.last_used and _aware(r.last_used), bool(r.revoked))
                for r in conn.execute(query)
            ]

    def user_for_token(self, token: str) -> User | None:
        if not token.startswith("og_") or len(token) > 100:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users, api_tokens.c.id.label("token_id"), api_tokens.c.last_used)
                .join(api_tokens, api_tokens.c.user_id == users.c.id)
                .where(api_tokens.c.token_hash == digest(token), api_tokens.c.revoked.is_(False))
            ).first()
        if row is None or row.disabled:
            return None
        if row.last_used is None or _aware(row.last_used) < now() - TOKEN_USE_PRECISION:
            with self.engine.begin() as conn:  # the WHERE makes parallel requests write it once
                conn.execute(
                    update(api_tokens)
                    .where(
                        api_tokens.c.id == row.token_id,
                        or_(api_tokens.c.last_used.is_(None), api_tokens.c.last_used < now() - TOKEN_USE_PRECISION),
                    )
                    .values(last_used=now())
                )
        return _user(row)
