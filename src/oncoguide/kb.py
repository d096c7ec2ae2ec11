"""KnowledgeBase: the one core object, and the public Python API."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Protocol

from oncoguide.engine.compose import Answer, compose
from oncoguide.engine.index import ClaimIndex
from oncoguide.engine.select import infer_condition, select
from oncoguide.engine.understand import Query, Understander, clean_question, follow_up
from oncoguide.pack.contents import SCHEMA_VERSION, Contents, load, read_meta
from oncoguide.settings import Settings


class KnowledgeBase:
    """The curated pack, loaded from the embedded store, with the functions that answer from it.

    >>> kb = KnowledgeBase.open()
    >>> answer = kb.ask("What is the prognosis of stage 4 DFSP?", audience="patient")
    """

    def __init__(self, contents: Contents, settings: Settings | None = None):
        self.contents = contents
        self.settings = settings or Settings()
        self.understander = Understander(contents.lexicon, self._read_facts, english=contents.english)

    @cached_property
    def algorithm(self):
        from oncoguide.algorithm.groups import Algorithm
        from oncoguide.engine.numbering import Numbering

        return Algorithm(self.contents, Numbering)

    def _read_facts(self, text: str, condition: str | None):
        """The algorithm's facts in a question or vignette (none when the pack has no algorithm)."""
        from oncoguide.algorithm.facts import VignetteFacts

        if self.contents.algorithm.spec is None:
            return VignetteFacts()
        return self.algorithm.read_text(text, condition)

    @cached_property
    def evidence(self):
        """Study data with every named statistic computed (built on first use)."""
        from oncoguide.evidence.report import Evidence

        return Evidence(self.contents.evidence)

    def recommend(self, vignette: str | None = None, condition: str | None = None, **criteria):
        """Match a patient (free-text vignette and/or criteria) to a patient group of the algorithm.

        Criteria given as arguments override what the vignette says; `mutation` (a genotype id such as
        kit-exon9) marks which regimen options are for this tumour. Raises CriteriaError when the
        description is invalid or contradictory.
        """
        from oncoguide.algorithm.groups import CriteriaError

        facts, notes = {}, []
        criteria = dict(criteria)
        genotype = criteria.pop("mutation", None) or None
        if vignette is not None:
            text = clean_question(vignette, self.settings.max_question_chars)
            query = self.understander.parse(text, facts=True)
            found, facts, notes = query.condition, query.facts.as_dict(), list(query.facts.notes)
            if condition is None:
                condition = found
            elif found not in (None, condition):
                raise CriteriaError(f"the vignette describes {found} but the condition given is {condition}")
            if genotype is None:
                genotype = query.facts.genotype
        facts.update(self.algorithm.facts_from_criteria(criteria))
        return self.algorithm.recommend(condition, facts, notes, genotype)

    @classmethod
    def open(
        cls, settings: Settings | None = None, *, db: Path | None = None, pack_dir: Path | None = None
    ) -> KnowledgeBase:
        """Open the store, building it from the pack first when it is missing or the pack has changed."""
        settings = settings or Settings()
        if db is not None or pack_dir is not None:
            settings = settings.model_copy(
                update={k: v for k, v in (("db", db), ("pack_dir", pack_dir)) if v is not None}
            )
        ensure_built(settings)
        return cls(load(settings.db), settings)

    def understand(self, question: str, audience: str = "clinician", context: Query | None = None) -> Query:
        text = clean_question(question, self.settings.max_question_chars)
        return infer_condition(follow_up(context, self.understander.parse(text, audience)), self.index)

    def ask(self, question: str, audience: str = "clinician", context: Query | None = None) -> Answer:
        """Answer a free-text question. `context` is the Query of the previous question in a thread."""
        query = self.understand(question, audience, context)
        return self.answer(query)

    def answer(self, query: Query) -> Answer:
        """The pack's answer; oncoguide.site.Site.answer adds the library's excerpts when there is none."""
        algorithm = self.algorithm if self.contents.algorithm.spec is not None else None
        selection = select(query, self.contents, algorithm, self.index)
        return compose(selection, self.contents, self.settings.section_limit)

    @cached_property
    def index(self) -> ClaimIndex:
        """The claims indexed by condition, facet, question type and word (built on first use)."""
        return ClaimIndex(self.contents)

    def thread(self, audience: str = "clinician") -> Thread:
        return Thread(self, audience)


class Answerer(Protocol):
    """What a thread asks: the KnowledgeBase, or the Site (which adds library excerpts)."""

    def understand(self, question: str, audience: str = ..., context: Query | None = ...) -> Query: ...

    def answer(self, query: Query) -> Answer: ...


class Thread:
    """A conversation: each question inherits the condition and population of the ones before."""

    def __init__(self, kb: Answerer, audience: str = "clinician"):
        self.kb = kb
        self.audience = audience
        self.context: Query | None = None

    @classmethod
    def replay(cls, kb: Answerer, questions: list[str], audience: str = "clinician") -> Thread:
        """The thread as it stands after these earlier questions (from the site database)."""
        from oncoguide.engine.understand import InputError

        thread = cls(kb, audience)
        for question in questions:
            try:
                thread.understand(question)
            except InputError:  # stored under older settings (say, a longer question limit): skip it
                continue
        return thread

    def understand(self, question: str) -> Query:
        query = self.kb.understand(question, self.audience, self.context)
        if query.condition is not None:
            self.context = query
        return query

    def ask(self, question: str) -> Answer:
        return self.kb.answer(self.understand(question))


def is_stale(settings: Settings) -> bool:
    from oncoguide.pack.files import pack_digest

    meta = read_meta(settings.db)
    return meta.get("schema") != SCHEMA_VERSION or meta.get("pack_digest") != pack_digest(Path(settings.pack_dir))


def ensure_built(settings: Settings):
    """Build the store when it is missing or older than the pack; return the BuildReport, or None."""
    if is_stale(settings):
        from oncoguide.pack.build import build

        return build(Path(settings.pack_dir), Path(settings.db))
    return None
