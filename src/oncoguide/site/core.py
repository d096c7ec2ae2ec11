"""Site: the one object for the site's user data, built in one place for the web app and the CLI alike.

It owns the Settings, the KnowledgeBase and the site database's engine, and hands out the stores that
work on that database. Everything is built on first use, so a CLI command that needs only the knowledge
base never imports SQLAlchemy, and one that finds no site database never creates one.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from oncoguide.settings import Settings

if TYPE_CHECKING:
    from oncoguide.engine.compose import Answer
    from oncoguide.engine.understand import Query
    from oncoguide.kb import KnowledgeBase, Thread


class Site:
    """The knowledge base and the site database together.

    >>> site = Site(Settings())
    >>> answer = site.ask("What is DFSP?")  # quotes the library when the pack has no answer
    """

    def __init__(self, settings: Settings, kb: KnowledgeBase | None = None):
        self.settings = settings
        if kb is not None:
            self.kb = kb

    STORES = ("accounts", "reviews", "questions", "experiences", "members", "library", "threads", "cds")

    def open(self) -> Site:
        """Open the knowledge base, the database and every store now: a server does so before it takes
        requests, so a broken pack or database stops the start, and no two threads build the same store."""
        for name in ("kb", "engine", *self.STORES):
            getattr(self, name)
        return self

    @cached_property
    def kb(self) -> KnowledgeBase:
        from oncoguide.kb import KnowledgeBase

        return KnowledgeBase.open(self.settings)

    @cached_property
    def engine(self):
        """The site database's engine, created and migrated to the newest schema when needed."""
        from oncoguide.site.db import connect

        return connect(self.settings.database_url)

    def exists(self) -> bool:
        """Whether the site database is there already (opened, or a SQLite file on disk, or a server)."""
        if "engine" in self.__dict__:
            return True
        url = self.settings.database_url
        return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()

    @cached_property
    def data_version(self):
        """What tells whether anything was written to the site database since (site/changes.py)."""
        from oncoguide.site.changes import DataVersion

        _ = self.engine  # the database exists (created and migrated) before it is watched
        return DataVersion(self.settings.database_url)

    @cached_property
    def accounts(self):
        from oncoguide.site.accounts import Accounts

        return Accounts(self.engine)

    @cached_property
    def reviews(self):
        from oncoguide.site.review import Reviews

        return Reviews(self.engine, self.kb, self.settings.page_cache_entries)

    @cached_property
    def questions(self):
        from oncoguide.site.questions import Questions

        return Questions(self.engine, self.kb, self.settings.question_retention_days)

    @cached_property
    def experiences(self):
        from oncoguide.site.experiences import Experiences

        return Experiences(self.engine)

    @cached_property
    def members(self):
        from oncoguide.site.members import Members

        return Members(self.engine, self.accounts)

    @cached_property
    def library(self):
        from oncoguide.library.store import Library

        return Library(self.engine)

    @cached_property
    def threads(self):
        from oncoguide.site.threads import ThreadStore

        return ThreadStore(self.engine)

    @cached_property
    def cds(self):
        from oncoguide.site.cds import CdsLog

        return CdsLog(self.engine)

    # --- answering: the knowledge base's answer, with library excerpts when the pack has none ---------

    def understand(self, question: str, audience: str = "clinician", context: Query | None = None) -> Query:
        return self.kb.understand(question, audience, context)

    def answer(self, query: Query) -> Answer:
        answer = self.kb.answer(query)
        # only now, and only if a database exists: most questions never need the library
        if not answer.in_scope and not query.foreign_script and self.exists():
            from oncoguide.library.excerpts import with_excerpts

            answer = with_excerpts(answer, self.engine, self.kb.contents, self.settings.max_question_chars)
        return answer

    def ask(self, question: str, audience: str = "clinician", context: Query | None = None) -> Answer:
        """Answer a free-text question, quoting the library when the pack has no answer."""
        return self.answer(self.understand(question, audience, context))

    def thread(self, audience: str = "clinician") -> Thread:
        from oncoguide.kb import Thread

        return Thread(self, audience)
