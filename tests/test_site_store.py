"""The site database on SQLite and on PostgreSQL: Alembic migrations build exactly the schema of
oncoguide.site.db, and the thread store works the same on both."""

from __future__ import annotations

import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, inspect, select, text

from oncoguide.site.db import alembic_config, engine_for, head_revision, metadata, turns, upgrade
from oncoguide.site.threads import ThreadError, ThreadStore, turn_id
from tests.conftest import run_cli

# the library's full-text index is dialect-specific DDL in migration 0006, outside the shared metadata
FULL_TEXT = {
    "library_fts",
    "library_fts_data",
    "library_fts_idx",
    "library_fts_docsize",
    "library_fts_config",
    "library_fts_content",
    "library_terms",
    "library_stats",
    "tsv",
    "tsv_len",
    "ix_library_passages_tsv",
}


def schema_differences(url: str) -> list:
    engine = engine_for(url)

    def include(_obj, name, _type, reflected, _compare_to):
        return not (reflected and name in FULL_TEXT)

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = engine_for(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_head_revision_is_the_one_alembic_finds():
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrations_create_exactly_the_schema(site_url):
    assert table_names(site_url) == set()
    assert upgrade(site_url) == head_revision()
    assert table_names(site_url) - FULL_TEXT == set(metadata.tables) | {"alembic_version"}
    assert "library_fts" in table_names(site_url) or "library_terms" in table_names(site_url)
    assert schema_differences(site_url) == []
    engine = engine_for(site_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    engine.dispose()


def test_constraints_hold(site_url):
    """Unique and foreign-key constraints from sitedb are really in the migrated database."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from oncoguide.site.db import api_tokens, users

    upgrade(site_url)
    engine = engine_for(site_url)
    now = datetime.now(UTC)
    user = dict(
        username="ann",
        username_key="ann",
        display_name="Ann",
        role="reviewer",
        password_hash="x",
        disabled=False,
        created=now,
    )
    with engine.begin() as conn:
        conn.execute(users.insert().values(**user))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(users.insert().values(**user))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # a look-alike name has the same key
        conn.execute(users.insert().values(**dict(user, username="ANN")))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(api_tokens.insert().values(user_id=999, token_hash="h", name="n", created=now, revoked=False))
    engine.dispose()


def test_downgrade_and_upgrade_again(site_url):
    upgrade(site_url)
    engine = engine_for(site_url)
    config = alembic_config(site_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert table_names(site_url) == {"alembic_version"}
    engine.dispose()
    upgrade(site_url)
    assert schema_differences(site_url) == []


def test_a_database_made_before_migrations_keeps_its_threads(site_url):
    """Before migrations, ThreadStore made the turns table with create_all; upgrading adopts it."""
    legacy = MetaData()
    Table(
        "turns",
        legacy,
        Column("id", String(16), primary_key=True),
        Column("parent", String(16), nullable=True, index=True),
        Column("depth", Integer, nullable=False),
        Column("question", Text, nullable=False),
        Column("created", DateTime(timezone=True), nullable=False),
    )
    engine = engine_for(site_url)
    legacy.create_all(engine)
    engine.dispose()
    store = ThreadStore(site_url)  # the old schema has no alembic_version: this migrates
    first, _ = store.add(None, "What is DFSP?")
    store.dispose()
    store = ThreadStore(site_url)
    assert store.chain(first) == ["What is DFSP?"]
    store.dispose()
    assert schema_differences(site_url) == []


def test_workers_starting_together_migrate_once(site_url):
    """Several server workers open the same new database at once: all succeed, one schema results."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start():
        try:
            barrier.wait()
            ThreadStore(site_url).dispose()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=start) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers), "a worker is stuck migrating"
    assert errors == []
    assert schema_differences(site_url) == []


def test_thread_store_on_both_databases(site_url):
    store = ThreadStore(site_url)
    try:
        first, earlier = store.add(None, "What is DFSP?")
        assert earlier == [] and first == turn_id(None, "What is DFSP?")
        second, earlier = store.add(first, "How is it treated?")
        assert earlier == ["What is DFSP?"] and second == turn_id(first, "How is it treated?")
        assert store.chain(second) == ["What is DFSP?", "How is it treated?"]
        assert store.chain(first) == ["What is DFSP?"]

        # the same conversation again gets the same ids and writes nothing
        assert store.add(None, "What is DFSP?") == (first, [])
        assert store.add(first, "How is it treated?") == (second, ["What is DFSP?"])
        # a different follow-up branches off the same first turn
        other, _ = store.add(first, "What is the prognosis?")
        assert other != second
        with store.engine.connect() as conn:
            ids = sorted(conn.execute(select(turns.c.id)).scalars())
        assert ids == sorted([first, second, other])

        assert store.chain("nosuchthread") is None
        with pytest.raises(ThreadError, match="unknown thread_id"):
            store.add("nosuchthread", "And then?")
    finally:
        store.dispose()

    reopened = ThreadStore(site_url)  # another process later: the conversation is still there
    try:
        assert reopened.chain(second) == ["What is DFSP?", "How is it treated?"]
    finally:
        reopened.dispose()


def test_db_upgrade_command(site_url):
    done = run_cli("db", "upgrade", env_extra={"ONCOGUIDE_DATABASE_URL": site_url})
    assert done.returncode == 0, done.stderr
    assert f"is at revision {head_revision()}" in done.stdout
    assert schema_differences(site_url) == []
    again = run_cli("db", "upgrade", env_extra={"ONCOGUIDE_DATABASE_URL": site_url})
    assert again.returncode == 0 and f"is at revision {head_revision()}" in again.stdout


def test_db_upgrade_reports_an_unreachable_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'not-a-db.sqlite3'}"
    (tmp_path / "not-a-db.sqlite3").write_text("this is a text file, not a database\n" * 100)
    done = run_cli("db", "upgrade", env_extra={"ONCOGUIDE_DATABASE_URL": url})
    assert done.returncode == 1
    assert "error: cannot upgrade the site database" in done.stderr
