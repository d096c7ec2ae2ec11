"""Conversation threads, kept in the site database so that any server process can continue any thread.

A thread is a chain of turns. A turn's id is a hash of its parent's id and its question, so the
same conversation always gets the same ids: asking again writes nothing, and an id in a shared link
names the whole conversation up to that question.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from sqlalchemy import select, text

from oncoguide.site.db import connect, turns

MAX_TURNS = 40

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


class ThreadStore:
    def __init__(self, site):
        """`site`: the URL of the site database, or an engine from sitedb.connect shared with other stores."""
        self.engine = connect(site) if isinstance(site, str) else site

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
                conn.execute(
                    self._insert().values(
                        id=new_id, parent=parent, depth=len(earlier), question=question, created=datetime.now(UTC)
                    )
                )
                conn.commit()
        return new_id, earlier

    def _insert(self):
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(turns).on_conflict_do_nothing(index_elements=["id"])
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(turns).on_conflict_do_nothing(index_elements=["id"])

    def dispose(self) -> None:
        self.engine.dispose()


def ask_in_thread(site, store: ThreadStore, question: str, audience: str = "clinician", thread_id: str | None = None):
    """Answer `question` (through `site`, a Site, or a bare KnowledgeBase) as the next turn of thread
    `thread_id` (None starts a thread).

    Returns (the new turn's id, the Answer, the earlier questions of the thread). The question is
    checked before anything is stored.
    """
    from oncoguide.engine.understand import AUDIENCES, InputError, clean_question
    from oncoguide.kb import Thread

    if audience not in AUDIENCES:
        raise InputError(f"unknown audience '{audience}'; use one of: {', '.join(AUDIENCES)}")
    text = clean_question(question, site.settings.max_question_chars)
    new_id, earlier = store.add(thread_id, text)
    return new_id, Thread.replay(site, earlier, audience).ask(text), earlier


def answer_turn(site, store: ThreadStore, turn: str, audience: str = "clinician"):
    """The Answer for a stored turn, in the context of the turns before it; None for an unknown id."""
    from oncoguide.kb import Thread

    chain = store.chain(turn)
    if chain is None:
        return None
    return Thread.replay(site, chain[:-1], audience).ask(chain[-1])
