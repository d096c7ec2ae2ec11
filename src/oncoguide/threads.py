"""Conversation threads, kept in the site database so that any server process can continue any thread.

A thread is a chain of turns. A turn's id is a hash of its parent's id and its question, so the
same conversation always gets the same ids: asking again writes nothing, and an id in a shared link
names the whole conversation up to that question.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, event, select, text

MAX_TURNS = 40

metadata = MetaData()
turns = Table(
    "turns", metadata,
    Column("id", String(16), primary_key=True),
    Column("parent", String(16), nullable=True, index=True),
    Column("depth", Integer, nullable=False),
    Column("question", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

CHAIN = text("""
WITH RECURSIVE chain(id, parent, depth, question) AS (
    SELECT id, parent, depth, question FROM turns WHERE id = :id
    UNION ALL
    SELECT t.id, t.parent, t.depth, t.question FROM turns t JOIN chain c ON t.id = c.parent
)
SELECT question FROM chain ORDER BY depth
""")


class ThreadError(ValueError):
    """An unknown thread id, or a conversation that has grown too long."""


def turn_id(parent: str | None, question: str) -> str:
    digest = hashlib.blake2b(f"{parent or ''}\n{question}".encode(), digest_size=10).digest()
    return base64.b32encode(digest).decode().lower()


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
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
        return engine
    return create_engine(url, pool_pre_ping=True)


class ThreadStore:
    def __init__(self, url: str):
        self.engine = engine_for(url)
        metadata.create_all(self.engine)

    def chain(self, thread_id: str) -> list[str] | None:
        """The questions of a thread, oldest first; None for an unknown id."""
        with self.engine.connect() as conn:
            found = [r[0] for r in conn.execute(CHAIN, {"id": thread_id})]
        return found or None

    def add(self, parent: str | None, question: str) -> tuple[str, list[str]]:
        """Record a question after `parent` (None starts a thread); return its id and the earlier questions."""
        earlier: list[str] = []
        if parent is not None:
            found = self.chain(parent)
            if found is None:
                raise ThreadError(f"unknown thread_id '{parent}'; leave it out to start a new conversation")
            earlier = found
        if len(earlier) >= MAX_TURNS:
            raise ThreadError(f"this conversation has reached {MAX_TURNS} questions; please start a new one")
        new_id = turn_id(parent, question)
        with self.engine.connect() as conn:
            # a read first: repeating a conversation must not queue for the write lock
            if conn.execute(select(turns.c.id).where(turns.c.id == new_id)).first() is None:
                conn.execute(self._insert().values(id=new_id, parent=parent, depth=len(earlier),
                                                   question=question, created=datetime.now(UTC)))
                conn.commit()
        return new_id, earlier

    def _insert(self):
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(turns).on_conflict_do_nothing(index_elements=["id"])

    def dispose(self) -> None:
        self.engine.dispose()


def ask_in_thread(kb, store: ThreadStore, question: str, audience: str = "clinician",
                  thread_id: str | None = None):
    """Answer `question` as the next turn of thread `thread_id` (None starts a thread).

    Returns (the new turn's id, the Answer). The question is checked before anything is stored.
    """
    from oncoguide.kb import Thread
    from oncoguide.understand import AUDIENCES, InputError, clean_question

    if audience not in AUDIENCES:
        raise InputError(f"unknown audience '{audience}'; use one of: {', '.join(AUDIENCES)}")
    text = clean_question(question, kb.settings.max_question_chars)
    new_id, earlier = store.add(thread_id, text)
    return new_id, Thread.replay(kb, earlier, audience).ask(text)


def answer_turn(kb, store: ThreadStore, turn: str, audience: str = "clinician"):
    """The Answer for a stored turn, in the context of the turns before it; None for an unknown id."""
    from oncoguide.kb import Thread

    chain = store.chain(turn)
    if chain is None:
        return None
    return Thread.replay(kb, chain[:-1], audience).ask(chain[-1])
