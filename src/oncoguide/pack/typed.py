"""The pack's documents as frozen dataclasses, built once from the JSON stored in the knowledge base.

The field names are those of the pydantic models in pack/models.py (and so of the JSON the API shows);
these classes exist so that reading a question does not import pydantic: a command-line question is a
whole process. Every dict-keyed read of stored pack data happens in this module and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# the evidence layer defines the study data and the citation it carries; the pack builds them (pack.load and
# pack.build compute statistics with it, so it sits below the pack)
from oncoguide.evidence.topics import Citation, EvidenceTopic, evidence_topic
from oncoguide.evidence.topics import citations as _citations

__all__ = ["Citation", "EvidenceTopic", "evidence_topic"]


# --- lexicon ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    label: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class ConditionTerms(Term):
    name: str
    short: str
    display: str  # as a heading shows it: "Soft-tissue sarcoma (adult)"
    in_text: str  # inside a sentence: "soft-tissue sarcoma"
    sites: tuple[str, ...] = ()  # where it occurs; other sites a question names are not read as its site
    ambiguous: tuple[str, ...] = ()  # terms that are also ordinary words (gist): need capitals or a medical word


@dataclass(frozen=True)
class SubtypeTerms(Term):
    condition: str
    standalone: bool = False  # not a form of the condition (desmoid): its general statements do not apply


@dataclass(frozen=True)
class IntentTerms(Term):
    facets: tuple[str, ...]
    weak: bool
    also_tagged: dict[str, tuple[str, ...]]
    type: str = "definition"  # the question type these words ask
    entity: str | None = None  # a focus entity they name too ("modality:surgery")


@dataclass(frozen=True)
class QuestionTypeTerms:
    label: str
    patient_label: str


@dataclass(frozen=True)
class Exclusion:
    id: str
    name: str
    terms: tuple[str, ...]
    reason: str
    patient_reason: str


@dataclass(frozen=True)
class TopicTerms(Term):
    weight: float


@dataclass(frozen=True)
class Lexicon:
    conditions: dict[str, ConditionTerms]
    subtypes: dict[str, SubtypeTerms]
    populations: dict[str, Term]
    sites: dict[str, Term]
    intents: dict[str, IntentTerms]
    topics: dict[str, TopicTerms]
    out_of_scope: tuple[str, ...]
    spelling: dict[str, str]
    abbreviations: dict[str, tuple[str, ...]]
    question_types: dict[str, QuestionTypeTerms]
    entities: dict[str, dict[str, Term]]  # kind -> key -> label and terms
    exclusions: tuple[Exclusion, ...]


def _lexicon(d: dict) -> Lexicon:
    def terms(e: dict) -> tuple[str, ...]:
        return tuple(e["terms"])

    return Lexicon(
        conditions={
            k: ConditionTerms(
                e["label"],
                terms(e),
                e["name"],
                e["short"],
                e["display"],
                e["in_text"],
                tuple(e.get("sites", ())),
                tuple(e.get("ambiguous", ())),
            )
            for k, e in d["conditions"].items()
        },
        subtypes={
            k: SubtypeTerms(e["label"], terms(e), e["condition"], bool(e.get("standalone", False)))
            for k, e in d["subtypes"].items()
        },
        populations={k: Term(e["label"], terms(e)) for k, e in d["populations"].items()},
        sites={k: Term(e["label"], terms(e)) for k, e in d["sites"].items()},
        intents={
            k: IntentTerms(
                e["label"],
                terms(e),
                tuple(e["facets"]),
                bool(e.get("weak", False)),
                {f: tuple(t) for f, t in e.get("also_tagged", {}).items()},
                e["type"],
                e.get("entity"),
            )
            for k, e in d["intents"].items()
        },
        topics={k: TopicTerms(e["label"], terms(e), float(e.get("weight", 4.0))) for k, e in d["topics"].items()},
        out_of_scope=tuple(d["out_of_scope"]),
        spelling=dict(d["spelling"]),
        abbreviations={k: tuple(v) for k, v in d.get("abbreviations", {}).items()},
        question_types={k: QuestionTypeTerms(e["label"], e["patient_label"]) for k, e in d["question_types"].items()},
        entities={
            kind: {k: Term(e["label"], terms(e)) for k, e in table.items()} for kind, table in d["entities"].items()
        },
        exclusions=tuple(
            Exclusion(e["id"], e["name"], terms(e), e["reason"], e["patient_reason"]) for e in d.get("exclusions", ())
        ),
    )


# --- answer page: texts, sections, FAQs, conflict sides ------------------------------------------


@dataclass(frozen=True)
class Texts:
    disclaimer_clinician: str
    disclaimer_patient: str
    abstain: str
    abstain_patient: str
    not_english: str
    ask_condition: str
    library_intro: str
    library_intro_patient: str
    updated: str


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    patient_heading: str
    facets: tuple[str, ...]
    tags_any: tuple[str, ...]


@dataclass(frozen=True)
class Faq:
    id: str
    condition: str
    question: str
    facets: tuple[str, ...]
    populations: tuple[str, ...]


@dataclass(frozen=True)
class Side:
    position: str
    patient: str
    citations: tuple[Citation, ...]


def side_of(d: dict) -> Side:
    return Side(d["position"], d["patient"], _citations(d["citations"]))


# --- treatment algorithm -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    label: str
    question: str
    values: tuple[str, ...]
    default: str | None
    terms: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Contradiction:
    when: dict[str, tuple[str, ...]]
    message: str


@dataclass(frozen=True)
class AlgorithmSpec:
    dimensions: dict[str, Dimension]
    conditions: dict[str, tuple[str, ...]]  # condition -> the dimensions that decide its groups
    contradictions: tuple[Contradiction, ...]
    genotypes: dict[str, str]


@dataclass(frozen=True)
class Option:
    line: str
    regimens: tuple[tuple[str, ...], ...]
    applies_when: str | None
    genotypes: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    name: str
    tier: str
    timing: str
    applies_when: str | None
    rationale: str
    options: tuple[Option, ...]
    dosing: str | None
    citations: tuple[Citation, ...]
    choice: str | None = None  # steps with the same choice are alternatives (pack/models.py Step)


@dataclass(frozen=True)
class Group:
    id: str
    condition: str
    label: str
    definition: str
    criteria: tuple[dict[str, tuple[str, ...]], ...]  # alternatives: dimension -> values admitted
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Drug:
    name: str
    also: tuple[str, ...]
    drug_class: str | None


@dataclass(frozen=True)
class CodedFact:
    system: tuple[str, ...]
    code: str
    match: str
    display: str
    sets: dict[str, str]
    specific: bool
    verified: str


@dataclass(frozen=True)
class ObservationCode:
    system: str
    code: str
    display: str
    reads: str
    verified: str


@dataclass(frozen=True)
class CodeSpec:
    systems: dict[str, str]
    conditions: tuple[CodedFact, ...]
    observations: tuple[ObservationCode, ...]


@dataclass(frozen=True)
class AlgorithmDoc:
    spec: AlgorithmSpec | None
    groups: tuple[Group, ...]
    drugs: tuple[Drug, ...]
    codes: CodeSpec | None


def _spec(d: dict) -> AlgorithmSpec:
    dims = {
        k: Dimension(
            e["label"],
            e["question"],
            tuple(e["values"]),
            e.get("default"),
            {v: tuple(t) for v, t in e.get("terms", {}).items()},
        )
        for k, e in d["dimensions"].items()
    }
    return AlgorithmSpec(
        dims,
        {c: tuple(e["dimensions"]) for c, e in d["conditions"].items()},
        tuple(
            Contradiction({k: tuple(v) for k, v in r["when"].items()}, r["message"])
            for r in d.get("contradictions", [])
        ),
        dict(d.get("genotypes", {})),
    )


def _step(s: dict) -> Step:
    options = tuple(
        Option(o["line"], tuple(tuple(r) for r in o["regimens"]), o.get("applies_when"), tuple(o.get("genotypes", [])))
        for o in s.get("options", [])
    )
    return Step(
        s["name"],
        s["tier"],
        s["timing"],
        s.get("applies_when"),
        s["rationale"],
        options,
        s.get("dosing"),
        _citations(s["citations"]),
        s.get("choice"),
    )


def _group(g: dict) -> Group:
    return Group(
        g["id"],
        g["condition"],
        g["label"],
        g["definition"],
        tuple({k: tuple(v) for k, v in alt.items()} for alt in g["criteria"]),
        tuple(_step(s) for s in g["steps"]),
    )


def _codes(d: dict) -> CodeSpec:
    return CodeSpec(
        dict(d["systems"]),
        tuple(
            CodedFact(
                tuple(e["system"]),
                e["code"],
                e.get("match", "exact"),
                e["display"],
                dict(e["sets"]),
                bool(e.get("specific", True)),
                e["verified"],
            )
            for e in d["conditions"]
        ),
        tuple(
            ObservationCode(o["system"], o["code"], o["display"], o["reads"], o["verified"])
            for o in d.get("observations", [])
        ),
    )


def _algorithm(d: dict) -> AlgorithmDoc:
    return AlgorithmDoc(
        _spec(d["spec"]) if d.get("spec") else None,
        tuple(_group(g) for g in d.get("groups", [])),
        tuple(Drug(x["name"], tuple(x.get("also", [])), x.get("class")) for x in d.get("drugs", [])),
        _codes(d["codes"]) if d.get("codes") else None,
    )


# --- the whole set of stored documents ------------------------------------------------------------


@dataclass(frozen=True)
class Documents:
    lexicon: Lexicon
    texts: Texts
    sections: tuple[Section, ...]
    faqs: tuple[Faq, ...]
    algorithm: AlgorithmDoc
    evidence: tuple[EvidenceTopic, ...]
    english: frozenset[str] = frozenset()  # English words near a lexicon term: never typo-corrected


def documents(docs: dict[str, Any]) -> Documents:
    """The typed documents from the stored JSON (name -> parsed data of the pack_documents table)."""
    return Documents(
        lexicon=_lexicon(docs["lexicon"]),
        texts=Texts(**docs["texts"]),
        sections=tuple(
            Section(s["id"], s["heading"], s["patient_heading"], tuple(s["facets"]), tuple(s.get("tags_any", [])))
            for s in docs["sections"]
        ),
        faqs=tuple(
            Faq(f["id"], f["condition"], f["question"], tuple(f["facets"]), tuple(f.get("populations", ["any"])))
            for f in docs["faqs"]
        ),
        algorithm=_algorithm(docs.get("algorithm") or {}),
        evidence=tuple(evidence_topic(t) for t in docs.get("evidence", [])),
        english=frozenset(docs.get("english", ())),
    )
