"""The site database: what users create (conversation threads, accounts, sessions, reviewed articles
and their audit log), as opposed to the knowledge base, which is rebuilt from the pack.

SQLite (WAL) by default, PostgreSQL through ONCOGUIDE_DATABASE_URL. The schema is defined once here
with SQLAlchemy Core; Alembic migrations (src/oncoguide/migrations) create and upgrade it on both.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)

from oncoguide.library import tables as library_tables
from oncoguide.library.tables import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

turns = Table(
    "turns",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("parent", String(16), nullable=True, index=True),
    Column("depth", Integer, nullable=False),
    Column("question", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    # names.name_key(username): a look-alike of a taken name (case, full-width, Cyrillic...) collides here
    Column("username_key", String(200), nullable=False, unique=True),
    Column("display_name", String(120), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("country", String(2), nullable=True, index=True),  # ISO 3166-1 alpha-2, only if the member shares it
    Column("deleted", DateTime(timezone=True), nullable=True),  # set when the member deleted the account
    # shown beside "Reviewed by" (since 0011): a reviewer's qualifications ("MD, FRCPath") and where they work
    Column("credentials", String(120), nullable=True),
    Column("affiliation", String(200), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie value; the value is never stored
    Column("user_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("csrf", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("last_used", DateTime(timezone=True), nullable=True),  # to the minute: not a write per request
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(200), primary_key=True),  # the username tried (lower case)
    Column("failures", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("query_key", String(64), nullable=False),
    Column("audience", String(20), nullable=False),
    Column("question", Text, nullable=False),
    Column("status", String(30), nullable=False),
    Column("version", Integer, nullable=False),  # the current version number
    Column("revision", Integer, nullable=False),  # bumped by every change: optimistic concurrency
    Column("updated", DateTime(timezone=True), nullable=False),
    UniqueConstraint("query_key", "audience", name="uq_articles_query_audience"),
)

article_versions = Table(
    "article_versions",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("answer", JSON, nullable=False),
    Column("basis", JSON, nullable=False),  # {"claims": {id: digest}, "sources": {...}, "statistics": {...}}
    Column("pack_digest", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

review_events = Table(  # append-only audit log: rows are inserted, never updated or deleted
    "review_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("from_status", String(30), nullable=True),
    Column("to_status", String(30), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=True),  # None: the system (pack change)
    Column("role", String(20), nullable=True),
    Column("comment", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
Index("ix_review_events_article", review_events.c.article_id, review_events.c.id)

asked_questions = Table(  # canonical questions, counted by their normalised form; no asker is recorded
    "asked_questions",
    metadata,
    Column("query_key", String(64), primary_key=True),
    Column("condition", String(10), nullable=False),
    Column("text", Text, nullable=False),  # canonical wording only: the pack FAQ's, or an editor's
    Column("asks", Integer, nullable=False),
    Column("helpful", Integer, nullable=False),
    Column("seeded", Boolean, nullable=False),  # true: a pack FAQ; false: promoted by an editor (since 0008)
    Column("last_asked", DateTime(timezone=True), nullable=True),
    Column("score", Integer, nullable=False, server_default="0"),  # asks + HELPFUL_WEIGHT * helpful, kept on write
)
Index("ix_asked_questions_rank", asked_questions.c.condition, asked_questions.c.score)

unmatched_questions = Table(  # questions matching no canonical one: masked, for editors, kept for a limited time
    "unmatched_questions",
    metadata,
    Column("query_key", String(64), primary_key=True),
    Column("condition", String(10), nullable=False),
    Column("text", Text, nullable=False),  # the first wording seen, masked (experiences.mask_question)
    Column("asks", Integer, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False, index=True),  # purged by this date
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

pack_gaps = Table(  # aspects of a covered condition the pack lacks, as asked: canonical form only, no wording
    "pack_gaps",
    metadata,
    Column("gap_key", String(200), primary_key=True),  # condition|aspect|focus
    Column("condition", String(10), nullable=False),
    Column("aspect", String(40), nullable=False),  # a question type the condition has no claim for, or ""
    Column("focus", String(160), nullable=False),  # kind:key items no statement is about, comma-separated
    Column("asks", Integer, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

experiences = Table(  # members' first-person stories; published only after a moderator approves
    "experiences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("condition", String(10), nullable=False),
    Column("question_key", String(64), nullable=True),  # the top question the story is about, if any
    Column("body", Text, nullable=False),  # as published: contact details already masked
    Column("masked", JSON, nullable=False),  # what kinds of contact details were masked
    Column("held", Text, nullable=True),  # why the automatic checks flagged it for the moderator
    Column("status", String(20), nullable=False),  # pending, approved, rejected
    Column("reason", Text, nullable=True),  # the moderator's reason for a rejection
    Column("moderator_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("decided", DateTime(timezone=True), nullable=True),
)
Index("ix_experiences_published", experiences.c.condition, experiences.c.status, experiences.c.created)

experience_flags = Table(
    "experience_flags",
    metadata,
    Column("experience_id", Integer, ForeignKey("experiences.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

question_votes = Table(  # one "helpful" vote per account and question
    "question_votes",
    metadata,
    Column("query_key", String(64), ForeignKey("asked_questions.query_key"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)


# --- CDS Hooks: the cards this service issued and what clinicians did with them ---------------------
# Nothing that identifies a patient or a clinician is stored: the card, its patient group, the
# random hookInstance, and the outcome.

cds_cards = Table(
    "cds_cards",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("hook_instance", String(100), nullable=False),
    Column("condition", String(10), nullable=False),
    Column("group_id", String(80), nullable=True),  # null: the card asks for a fact or warns
    Column("indicator", String(10), nullable=False),
    Column("issued", DateTime(timezone=True), nullable=False, index=True),
)

cds_tokens = Table(  # JWTs already used to call the service, kept until they expire: replays are refused
    "cds_tokens",
    metadata,
    Column("iss", String(300), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires", DateTime(timezone=True), nullable=False, index=True),
)

cds_feedback = Table(  # one row per feedback item; a card may be reported more than once
    "cds_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card", String(36), ForeignKey("cds_cards.uuid"), nullable=False, index=True),
    Column("outcome", String(12), nullable=False),
    Column("reason_system", Text, nullable=True),
    Column("reason_code", String(100), nullable=True),
    Column("reason_display", Text, nullable=True),
    Column("comment", Text, nullable=True),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("outcome_at", DateTime(timezone=True), nullable=False),
    Column("received", DateTime(timezone=True), nullable=False),
)
# The library defines its own tables (library/tables.py: the site layer sits above the library, so the
# library cannot import them from here); the site database's schema, which migrations, backups and the
# schema test follow, holds a copy of each, in the order they were defined.
for _table in library_tables.metadata.tables.values():
    _table.to_metadata(metadata)


def engine_for(url: str):
    """An engine for the site database; SQLite gets WAL, a busy timeout and its folder created."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            cur = conn.cursor()
            # switching a new file to WAL needs a moment alone with it; workers starting together may
            # get SQLITE_BUSY here without the busy handler being consulted, so wait and try again
            for attempt in range(100):
                try:
                    cur.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 99:
                        raise
                    time.sleep(0.02)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


MIGRATIONS = Path(__file__).parent / "migrations"
_heads: dict[str, str] = {}


def alembic_config(url: str | None = None):
    """Alembic configured from code: the migrations shipped in the package, no alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version (read once per process).

    Read from the `revision = ` / `down_revision = ` lines of the migration files, so that starting
    against an up-to-date database does not have to import Alembic; Alembic decides if that is ambiguous.
    """
    if "head" not in _heads:
        import re

        revisions: set[str] = set()
        parents: set[str] = set()
        for f in (MIGRATIONS / "versions").glob("*.py"):
            source = f.read_text()
            rev = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", source, re.M)
            down = re.search(r"^down_revision\s*=\s*(.*)$", source, re.M)
            if rev is None or down is None:
                revisions.clear()
                break
            revisions.add(rev.group(1))
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
        heads = revisions - parents
        if len(heads) == 1:
            _heads["head"] = heads.pop()
        else:
            from alembic.script import ScriptDirectory

            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            if head is None:
                raise RuntimeError(f"no migration in {MIGRATIONS}")
            _heads["head"] = head
    return _heads["head"]


def current_revision(conn) -> str | None:
    """The migration a database is at; None for one that has never been migrated."""
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine_or_url) -> str:
    """Bring the site database to the newest schema (`alembic upgrade head`); returns the revision.

    Cheap when the database is already up to date: one look at alembic_version. Concurrent callers
    (several server workers starting at once) are serialised by a write lock on SQLite and an
    advisory lock on PostgreSQL, and the second one finds the work done.
    """
    engine = engine_for(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        head = head_revision()
        with engine.connect() as conn:
            if current_revision(conn) == head:
                return head
            conn.rollback()
        _migrate(engine, "upgrade", head, skip_if_at=head)
        return head
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def downgrade(engine_or_url, revision: str) -> None:
    """Take the site database back to `revision` (`alembic downgrade`), with the same locking as upgrade."""
    engine = engine_for(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        _migrate(engine, "downgrade", revision)
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def _migrate(engine, direction: str, revision: str, skip_if_at: str | None = None) -> None:
    """Run migrations in one transaction under the database's write lock.

    SQLite alters a table by copying it and dropping the old one, which enforced foreign keys refuse
    while other tables point at its rows (sessions, votes and posts at users); the pragma cannot change
    inside a transaction, so keys are switched off around it and checked with foreign_key_check before
    the commit, as SQLite's documented procedure for schema changes does.
    """
    from alembic import command
    from sqlalchemy import text

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock before looking again
        elif engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7243516017)"))
        try:
            if skip_if_at is None or current_revision(conn) != skip_if_at:
                config = alembic_config(engine.url.render_as_string(hide_password=False))
                config.attributes["connection"] = conn
                getattr(command, direction)(config, revision)
                if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").first()):
                    raise RuntimeError(f"the migration left a row of {broken[0]} pointing at a missing {broken[2]}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def connect(url: str):
    """The site database at `url`, migrated to the newest schema: what the app and the CLI open."""
    engine = engine_for(url)
    upgrade(engine)
    return engine
