"""KnowledgeBase: the one core object, and the public Python API."""

from __future__ import annotations

from pathlib import Path

from oncoguide.engine.compose import Answer, compose
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
        # a callable giving the site database's engine, whose library is quoted when the pack has no answer
        self.library = None
        self.understander = Understander(contents.lexicon)
        self._algorithm = None

    @property
    def algorithm(self):
        from oncoguide.algorithm.groups import Algorithm

        if self._algorithm is None:
            self._algorithm = Algorithm(self.contents, self.understander)
        return self._algorithm

    @property
    def evidence(self):
        """Study data with every named statistic computed (built on first use)."""
        from oncoguide.evidence.report import Evidence

        if getattr(self, "_evidence", None) is None:
            self._evidence = Evidence(self.contents.evidence)
        return self._evidence

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
            found, facts, notes = self.algorithm.facts_from_text(text)
            if condition is None:
                condition = found
            elif found not in (None, condition):
                raise CriteriaError(f"the vignette describes {found} but the condition given is {condition}")
            if genotype is None:
                genotype = self.algorithm.genotype_from_text(text)
        facts.update(self.algorithm.facts_from_criteria(criteria))
        return self.algorithm.recommend(condition, facts, notes, genotype)

    @property
    def codebook(self):
        """The pack's clinical codes (SNOMED CT, ICD-10, ICD-O-3, LOINC), read from FHIR records."""
        from oncoguide.fhir.patient import CodeBook

        if getattr(self, "_codebook", None) is None:
            self._codebook = CodeBook(self.contents.algorithm.codes, self.algorithm)
        return self._codebook

    def read_fhir(self, record: dict, patient_id: str | None = None, where: str = "bundle"):
        """The patient-group facts of a FHIR Bundle (or one resource): one entry per coded condition.
        Raises FhirInputError naming the path of anything that cannot be read."""
        from oncoguide.fhir.patient import read_record, resources_of

        return read_record(resources_of(record, where), self.codebook, patient_id)

    def recommend_fhir(self, record: dict):
        """`recommend` for the one condition a FHIR Bundle describes; the result lists what was read
        from which resource. Raises FhirInputError or CriteriaError with the reason."""
        patient = self.read_fhir(record).only()
        rec = self.algorithm.recommend(patient.condition, patient.facts, patient.notes, patient.genotype)
        rec.derived = patient.derived
        return rec

    @classmethod
    def open(cls, settings: Settings | None = None, *, db: Path | None = None,
             pack_dir: Path | None = None) -> KnowledgeBase:
        """Open the store, building it from the pack first when it is missing or the pack has changed."""
        settings = settings or Settings()
        if db is not None or pack_dir is not None:
            settings = settings.model_copy(update={k: v for k, v in
                                                   (("db", db), ("pack_dir", pack_dir)) if v is not None})
        ensure_built(settings)
        return cls(load(settings.db), settings)

    def understand(self, question: str, audience: str = "clinician", context: Query | None = None) -> Query:
        text = clean_question(question, self.settings.max_question_chars)
        return follow_up(context, self.understander.parse(text, audience))

    def ask(self, question: str, audience: str = "clinician", context: Query | None = None) -> Answer:
        """Answer a free-text question. `context` is the Query of the previous question in a thread."""
        query = self.understand(question, audience, context)
        return self.answer(query)

    def answer(self, query: Query) -> Answer:
        answer = compose(query, self.contents, self.settings.section_limit, self._group_for(query))
        if self.library is not None and not answer.in_scope and not query.foreign_script:
            engine = self.library()  # only now: most questions never need the library
            if engine is not None:
                from oncoguide.library.excerpts import with_excerpts

                answer = with_excerpts(answer, engine, self.contents)
        return answer

    # a broad "how is it treated" question; a question about one modality gets only that modality
    TREATMENT_INTENTS = frozenset({"treatment"})

    def _group_for(self, query: Query):
        """The algorithm's patient group for a clinician's treatment question, when exactly one fits."""
        from oncoguide.algorithm.groups import CriteriaError

        if (query.audience != "clinician" or query.condition is None or query.foreign_script
                or not self.TREATMENT_INTENTS & set(query.intents) or not self.contents.algorithm.groups):
            return None
        try:
            _, facts, notes = self.algorithm.facts_from_text(query.text)
            if "metastatic" in query.populations and "metastases" not in facts:
                facts["metastases"] = {"regional-nodes", "oligometastatic", "disseminated"}
            rec = self.algorithm.recommend(query.condition, facts, notes)
        except CriteriaError:
            return None
        return rec if rec.group is not None else None

    def thread(self, audience: str = "clinician") -> Thread:
        return Thread(self, audience)


class Thread:
    """A conversation: each question inherits the condition and population of the ones before."""

    def __init__(self, kb: KnowledgeBase, audience: str = "clinician"):
        self.kb = kb
        self.audience = audience
        self.context: Query | None = None

    @classmethod
    def replay(cls, kb: KnowledgeBase, questions: list[str], audience: str = "clinician") -> Thread:
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
    return (meta.get("schema") != SCHEMA_VERSION
            or meta.get("pack_digest") != pack_digest(Path(settings.pack_dir)))


def ensure_built(settings: Settings):
    """Build the store when it is missing or older than the pack; return the BuildReport, or None."""
    if is_stale(settings):
        from oncoguide.pack.build import build

        return build(Path(settings.pack_dir), Path(settings.db))
    return None
