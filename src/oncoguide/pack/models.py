"""Pydantic models of the knowledge pack files: what a valid entry looks like."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Slug = Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", max_length=80)

SOURCE_TYPES = (
    "guideline",
    "consensus statement",
    "systematic review",
    "randomised trial",
    "phase II trial",
    "phase III trial",
    "cohort",
    "case series",
    "case report",
    "registry analysis",
    "patient information",
    "drug label",
    "review",
    # An expert reference text or regimen database (e.g. Medscape Reference): not a journal article, no PMID or DOI.
    "reference work",
)
SourceType = Literal[SOURCE_TYPES]  # type: ignore[valid-type]
# Kinds of source that are journal articles: each needs a PMID or DOI (as does any source with a `journal`). Every
# kind is one, except guidelines (checked by their journal), patient pages, labels and reference works.
NOT_ARTICLES = frozenset({"guideline", "patient information", "drug label", "reference work"})
ARTICLE_TYPES = tuple(t for t in SOURCE_TYPES if t not in NOT_ARTICLES)
# An allowed URL host: a host name, or "*." and a domain for its subdomains.
HOST_PATTERN = r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"

FACETS = (
    "definition",
    "variants",
    "epidemiology",
    "cause",
    "genetics",
    "inheritance",
    "contagion",
    "symptoms",
    "diagnosis",
    "staging",
    "prognosis",
    "surgery",
    "radiotherapy",
    "systemic-therapy",
    "dosing",
    "response",
    "adverse-effects",
    "follow-up",
    "complementary-therapy",
    "pitfalls",
    "referral",
)
Facet = Literal[FACETS]  # type: ignore[valid-type]

CONDITIONS = ("dfsp", "sts", "gist")
Condition = Literal[CONDITIONS]  # type: ignore[valid-type]

POPULATIONS = (
    "any",
    "localized",
    "locally-advanced",
    "unresectable",
    "metastatic",
    "recurrent",
    "margin-positive",
    "children",
    "pregnancy",
)
Population = Literal[POPULATIONS]  # type: ignore[valid-type]

# What kind of question a claim answers (and understand reads from a question): the question's type.
QUESTION_TYPES = (
    "definition",
    "types",
    "frequency",
    "cause",
    "genetics",
    "inheritance",
    "contagion",
    "symptoms",
    "diagnosis",
    "staging",
    "prognosis",
    "treatment",
    "dose",
    "duration",
    "response",
    "side-effects",
    "follow-up",
    "comparison",
    "living",
    "alternative",
    "referral",
    "pitfalls",
)
QuestionType = Literal[QUESTION_TYPES]  # type: ignore[valid-type]
# Kinds of focus entity a claim can be about besides its subtypes, sites and populations.
ENTITY_KINDS = ("genotype", "drug", "modality", "setting")
VERDICTS = ("ineffective", "contraindicated")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Source(Strict):
    """A published source with real bibliographic identity."""

    id: str = Slug
    type: SourceType = Field(description="Kind of publication")
    title: str = Field(min_length=5)
    authors: str = Field(min_length=2)
    journal: str | None = None
    year: int = Field(ge=1900, le=2100)
    volume: str | None = None
    pages: str | None = None
    pmid: str | None = Field(default=None, pattern=r"^[0-9]{1,9}$")
    doi: str | None = Field(default=None, pattern=r"^10\.[0-9]{4,9}/\S+$")
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    no_identifier_reason: str | None = Field(
        default=None,
        min_length=10,
        description="Why a journal article has neither PMID nor DOI (e.g. a meeting abstract); the rare exception",
    )
    level: int = Field(ge=1, le=5, description="Oxford CEBM 2011 level of evidence")
    verified: str = Field(min_length=5, description="How the identity of the source was checked")
    text_seen: bool | None = Field(
        default=None,
        description="False when nobody has read the source's text (known only through another work that cites it); "
        "such a source may not be cited",
    )

    @field_validator("pmid", "volume", "pages", mode="before")
    @classmethod
    def _as_text(cls, value):
        return str(value) if isinstance(value, int) else value


class Citation(Strict):
    source: str = Field(min_length=1)
    locator: str = Field(min_length=1, description="Where in the source: table, section, page")


class SafetyRule(Strict):
    """This claim says a treatment does not work (or must not be used) for some patients."""

    treatment: str = Field(pattern=r"^(drug|modality):[a-z0-9][a-z0-9-]*$", description="drug:x or modality:x")
    verdict: Literal[VERDICTS]  # type: ignore[valid-type]
    when: list[str] = Field(min_length=1, description="genotype:/setting:/population:/subtype:/site: refs, all of them")

    @field_validator("when")
    @classmethod
    def _refs(cls, v: list[str]) -> list[str]:
        kinds = "genotype|drug|modality|setting|population|subtype|site"
        bad = [x for x in v if not re.fullmatch(rf"({kinds}):[a-z0-9-]+", x)]
        if bad:
            raise ValueError(f"'when' entries are kind:key (genotype, setting, population, subtype, site): {bad}")
        return v


class Claim(Strict):
    """One atomic statement in the project's own words, with its citations."""

    id: str = Slug
    condition: Condition
    subtypes: list[str] = Field(default_factory=lambda: ["any"], min_length=1)
    sites: list[str] = Field(default_factory=lambda: ["any"], min_length=1)
    populations: list[Population] = Field(default_factory=lambda: ["any"], min_length=1)
    facet: Facet
    tags: list[str] = Field(default_factory=list)
    key: bool = False
    clinician: str = Field(min_length=10, max_length=1200)
    patient: str = Field(min_length=10, max_length=1200)
    citations: list[Citation] = Field(min_length=1)
    statistic: str | None = None
    answers: list[QuestionType] = Field(min_length=1, description="The question types this claim answers")
    entities: list[str] = Field(
        default_factory=list, description="Focus entities (genotype:, drug:, modality:, setting:) the claim is about"
    )
    cohort: Population | None = Field(
        default=None,
        description="Set when the claim's figure comes from a selected cohort (e.g. metastatic patients on a trial); "
        "it must be one of the claim's populations and the claim never leads an answer about other patients",
    )
    safety: list[SafetyRule] = Field(default_factory=list)

    @field_validator("entities")
    @classmethod
    def _entity_refs(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if not re.fullmatch(r"(genotype|drug|modality|setting):[a-z0-9][a-z0-9-]*", x)]
        if bad:
            raise ValueError(f"entities are kind:key with kind genotype, drug, modality or setting: {bad}")
        return v


class Side(Strict):
    position: str = Field(min_length=10)
    patient: str = Field(min_length=10)
    citations: list[Citation] = Field(min_length=1)


class Conflict(Strict):
    """Two or more sources that disagree; every side is cited."""

    id: str = Slug
    condition: Condition
    facet: Facet
    populations: list[Population] = Field(default_factory=lambda: ["any"], min_length=1)
    topic: str = Field(min_length=3)
    clinician: str = Field(min_length=10)
    patient: str = Field(min_length=10)
    sides: list[Side] = Field(min_length=2)


class Section(Strict):
    """How claims of some facets (and optionally tags) become one titled answer section."""

    id: str = Slug
    heading: str = Field(min_length=3)
    patient_heading: str = Field(min_length=3)
    facets: list[Facet] = Field(min_length=1)
    tags_any: list[str] = Field(default_factory=list)


class Faq(Strict):
    """A common question, offered as a follow-up."""

    id: str = Slug
    condition: Condition
    question: str = Field(min_length=5)
    facets: list[Facet] = Field(min_length=1)
    populations: list[Population] = Field(default_factory=lambda: ["any"])


class Term(Strict):
    """A named thing the question parser recognises, with the phrases that name it."""

    label: str
    terms: list[str] = Field(min_length=1)


class ConditionTerms(Term):
    name: str
    short: str
    display: str = Field(description="The condition's name as a page heading or a menu shows it")
    in_text: str = Field(description="The condition's name inside a sentence (a CDS card, a question)")
    sites: list[str] = Field(
        default_factory=list,
        description="Sites where the condition occurs; a site a question names elsewhere is not read as its site",
    )
    ambiguous: list[str] = Field(
        default_factory=list,
        description="Terms that are also ordinary words or other acronyms (gist, sts): they name the condition "
        "only in upper case or beside a medical word",
    )


class SubtypeTerms(Term):
    condition: Condition
    standalone: bool = Field(
        default=False,
        description="Not a form of the condition (a desmoid tumour is not a sarcoma): the condition's general "
        "statements do not answer a question about it, only statements written for it",
    )


class IntentTerms(Term):
    facets: list[Facet] = Field(min_length=1)
    type: QuestionType = Field(description="The question type a question using these words asks")
    entity: str | None = Field(default=None, description="A focus entity these words name too (modality:surgery)")
    weak: bool = Field(default=False, description="Counts only when the question names no other intent")
    also_tagged: dict[str, list[str]] = Field(
        default_factory=dict, description="Extra facet -> tags admitted by this intent"
    )


class TopicTerms(Term):
    weight: float = Field(
        default=4.0, ge=0, le=20, description="How much naming this topic lifts claims tagged with it"
    )


class QuestionTypeTerms(Strict):
    label: str = Field(description="The aspect as a sentence names it: 'causes and risk factors'")
    patient_label: str = Field(description="The same in plain words")


class EntityTerms(Term):
    pass


class Exclusion(Strict):
    """A disease we do not cover, refused by name with the reason."""

    id: str = Slug
    name: str = Field(min_length=3, description="As the refusal names it: 'Ewing sarcoma'")
    terms: list[str] = Field(min_length=1, description="Its names; possessives, hyphens and plurals match too")
    reason: str = Field(min_length=10, description="Why it is not covered (clinician)")
    patient_reason: str = Field(min_length=10, description="The same in plain words (grade 8 or below)")


class Lexicon(Strict):
    conditions: dict[Condition, ConditionTerms]
    subtypes: dict[str, SubtypeTerms]
    populations: dict[Population, Term]
    sites: dict[str, Term]
    intents: dict[str, IntentTerms]
    topics: dict[str, TopicTerms] = Field(description="Tags a question can ask about by name")
    out_of_scope: list[str] = Field(description="Conditions we do not cover, to abstain clearly")
    question_types: dict[QuestionType, QuestionTypeTerms] = Field(description="How answers name each question type")
    entities: dict[Literal[ENTITY_KINDS], dict[str, EntityTerms]] = Field(  # type: ignore[valid-type]
        description="Focus entities by kind (genotype, drug, modality, setting): key -> label and terms"
    )
    exclusions: list[Exclusion] = Field(default_factory=list, description="Named diseases refused with a reason")
    spelling: dict[str, str] = Field(description="British -> American spelling, applied before matching")
    abbreviations: dict[str, list[str]] = Field(
        default_factory=dict, description="Abbreviation -> what it stands for; library searches look for both"
    )


class Texts(Strict):
    """Fixed texts of the answer page, per audience."""

    disclaimer_clinician: str
    disclaimer_patient: str
    abstain: str
    abstain_patient: str
    not_english: str
    ask_condition: str
    library_intro: str = Field(description="Opens an answer made of unreviewed library excerpts (clinicians)")
    library_intro_patient: str = Field(description="The same, for patients (grade 8 or below)")
    updated: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="Date (YYYY-MM-DD) the pack's content was last revised; shown with answers.",
    )


# --- treatment algorithm -------------------------------------------------------------------------

TIERS = ("all", "some")
TIMINGS = ("neoadjuvant", "primary", "adjuvant", "palliative", "on-progression")
LINES = ("primary", "secondary", "tertiary")


class Dimension(Strict):
    """A fact that decides a patient group."""

    label: str
    question: str = Field(description="What to ask when this fact is missing")
    values: list[str] = Field(min_length=2)
    default: str | None = Field(default=None, description="Value taken when a description is silent")
    terms: dict[str, list[str]] = Field(
        default_factory=dict, description="value (or a|b for several) -> phrases naming it"
    )


class ConditionDimensions(Strict):
    dimensions: list[str] = Field(min_length=1)


class Contradiction(Strict):
    when: dict[str, list[str]] = Field(min_length=2)
    message: str


class AlgorithmSpec(Strict):
    dimensions: dict[str, Dimension]
    conditions: dict[Condition, ConditionDimensions]
    contradictions: list[Contradiction] = Field(default_factory=list)
    genotypes: dict[str, str] = Field(
        default_factory=dict, description="tumour genotypes that choose between regimen options: id -> label"
    )


class CodedFact(Strict):
    """A code a hospital record may carry, and the facts of the algorithm it establishes."""

    system: list[str] = Field(min_length=1, description="Keys of `systems` naming the code systems")
    code: str = Field(min_length=1, max_length=40)
    match: Literal["exact", "prefix"] = Field(
        "exact", description="prefix: every code starting with `code` (C49.1 covers C49.10, C49.11, ...)"
    )
    display: str = Field(min_length=3, description="The code's meaning as the code system states it")
    sets: dict[str, str] = Field(min_length=1, description="condition or dimension -> value (or a|b for several)")
    specific: bool = Field(
        True,
        description="false: a site-of-origin code whose condition yields to a histology code on the same Condition",
    )
    verified: str = Field(min_length=5, description="Where the code and its meaning were checked")


class ObservationCode(Strict):
    """The code of an Observation whose value is read as one fact."""

    system: str
    code: str = Field(min_length=1, max_length=40)
    display: str = Field(min_length=3)
    reads: Literal["stage", "n", "m", "genotype"] = Field(description="What the Observation's value gives")
    verified: str = Field(min_length=5)


class CodeSpec(Strict):
    """Codes (SNOMED CT, ICD-10, ICD-O-3, LOINC) read from a FHIR record to choose a patient group."""

    systems: dict[str, str] = Field(min_length=1, description="short name -> FHIR code system URI")
    conditions: list[CodedFact] = Field(min_length=1, description="Codes of Condition.code and Condition.bodySite")
    observations: list[ObservationCode] = Field(default_factory=list)


class Option(Strict):
    line: Literal[LINES]  # type: ignore[valid-type]
    regimens: list[list[str]] = Field(min_length=1)
    applies_when: str | None = Field(default=None, description="e.g. the mutation this option is for")
    genotypes: list[str] = Field(
        default_factory=list, description="genotype ids this option is for; empty: any genotype"
    )


class Step(Strict):
    name: str = Field(min_length=3)
    tier: Literal[TIERS]  # type: ignore[valid-type]
    timing: Literal[TIMINGS]  # type: ignore[valid-type]
    applies_when: str | None = None
    rationale: str = Field(min_length=10)
    options: list[Option] = Field(default_factory=list)
    dosing: str | None = None
    citations: list[Citation] = Field(min_length=1)
    choice: str | None = Field(
        default=None,
        min_length=3,
        description="the decision this step is one alternative of (e.g. 'how treatment starts'); steps of a "
        "group with the same choice are alternatives: a patient has one of them, not all",
    )


class Group(Strict):
    """A patient group of the treatment algorithm, with its ordered treatment steps."""

    id: str = Slug
    condition: Condition
    label: str = Field(min_length=5)
    definition: str = Field(min_length=10)
    criteria: list[dict[str, list[str]]] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def choices_have_alternatives(self):
        named = [s.choice for s in self.steps if s.choice]
        alone = sorted({c for c in named if named.count(c) == 1})
        if alone:
            raise ValueError(f"choice {', '.join(map(repr, alone))} names one step only; alternatives need two or more")
        return self


class Drug(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9 .-]*$")
    also: list[str] = Field(default_factory=list)
    drug_class: str | None = Field(default=None, alias="class")


# --- study-level evidence --------------------------------------------------------------------------

StatId = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)


class Arm(Strict):
    id: str = Slug
    label: str
    n: int = Field(description="patients in the arm")
    counts: dict[str, int] = Field(min_length=1, description="outcome category -> patients")
    attrs: dict[str, str | int] = Field(default_factory=dict, description="grouping attributes, e.g. dose")


class Study(Strict):
    id: str = Slug
    label: str
    design: str
    setting: str | None = None
    citations: list[Citation] = Field(min_length=1)
    arms: list[Arm] = Field(min_length=1)


class Aggregate(Strict):
    """A total reported without per-study rows (used only where the rows are not available)."""

    id: str = StatId
    label: str
    events: int
    n: int
    note: str
    citations: list[Citation] = Field(min_length=1)


class StatisticDef(Strict):
    id: str = StatId
    label: str
    numerator: list[str] = Field(min_length=1, description="count categories that make an event")
    where: dict[str, list[str | int]] = Field(
        default_factory=dict, description="arm attribute (or 'study') -> values to include"
    )
    patient: str | None = Field(
        default=None,
        min_length=10,
        description="plain words for what happened to the people counted, drawn as an icon array for patients "
        "('had the tumor come back after Mohs surgery')",
    )


class ComparisonDef(Strict):
    id: str = StatId
    label: str
    a: str
    b: str


class EvidenceTopic(Strict):
    id: str = Slug
    condition: Condition
    title: str
    outcome: str
    categories: list[str] = Field(min_length=1, description="outcome categories that partition each arm")
    citations: list[Citation] = Field(min_length=1)
    studies: list[Study] = Field(min_length=1)
    aggregates: list[Aggregate] = Field(default_factory=list)
    statistics: list[StatisticDef] = Field(default_factory=list)
    comparisons: list[ComparisonDef] = Field(default_factory=list)
    forest: StatisticDef | None = Field(default=None, description="per-study proportion drawn in the forest plot")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="how readers see each outcome category and arm attribute (recurred -> Recurred)",
    )
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="arm attribute -> its values as readers see them (mohs -> Mohs surgery)"
    )
