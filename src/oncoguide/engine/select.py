"""Query -> the claims and conflicts that apply, scored by fit and strength of evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from oncoguide.engine.index import ClaimIndex, Features, fold
from oncoguide.engine.understand import TREATMENT_INTENTS, Query
from oncoguide.pack.contents import ClaimRec, ConflictRec, Contents, SafetyRule
from oncoguide.pack.typed import Lexicon

if TYPE_CHECKING:
    from oncoguide.algorithm.groups import Algorithm, Recommendation

# Populations a claim may be written for that never apply unless the question names them.
SPECIAL = frozenset({"children", "pregnancy"})
# Facets where claims for other subtypes still help (comparing classic and fibrosarcomatous DFSP).
COMPARATIVE = frozenset({"prognosis", "variants"})


# Focus entity kinds where a claim about another value is about other patients (a KIT exon 9 claim does not
# answer a D842V question); for drugs, modalities and settings another value only ranks lower.
EXCLUSIVE_KINDS = frozenset({"genotype"})
# How much each part of the fit counts (see select_claims)
TYPE_WEIGHT = 4.0
ENTITY_WEIGHT = 3.0
LEXICAL_WEIGHT = 4.0
SYNONYM_WEIGHT = 0.5
EVIDENCE_WEIGHT = 2.0  # a guideline or trial outranks a review's summary of the same point
FIGURE_BONUS = 1.5  # a prognosis question is answered with survival or recurrence figures


@dataclass(slots=True)
class Scored:
    score: float
    claim: ClaimRec
    tier: float = 1.0  # population fit: claims written for the asked-about patients come first
    topical: float = 0.0  # how much of the score comes from topics the question names
    answers_type: bool = False  # the claim answers the question's (first) type
    focus: frozenset[str] = frozenset()  # the question's focus items ("genotype:...", "population:...") it is about
    can_lead: bool = True  # may open the bottom line: not a figure from another cohort, not a ruled-out treatment
    position: int = 0  # the claim's order in the pack
    home: str | None = None  # the answer section it belongs to


@dataclass(frozen=True)
class RuledOut:
    """A treatment a claim of the pack says does not work (or must not be used) for this question's focus."""

    treatment: str  # drug:x or modality:x
    verdict: str
    claim: ClaimRec


def focus_items(query: Query) -> frozenset[str]:
    """What the question is specifically about, beyond its condition and type: entities, subtypes, and the
    populations that change an answer (children, pregnancy, an extent of disease)."""
    items = set(query.entities)
    items.update(f"subtype:{s}" for s in query.subtypes)
    items.update(f"population:{p}" for p in query.populations)
    items.update(f"site:{s}" for s in query.sites)
    return frozenset(items)


def rule_applies(rule: SafetyRule, focus: frozenset[str]) -> bool:
    return rule.when <= focus


def ruled_out(query: Query, claims: list[ClaimRec]) -> list[RuledOut]:
    focus = focus_items(query)
    return [RuledOut(r.treatment, r.verdict, c) for c in claims for r in c.safety if rule_applies(r, focus)]


def query_words(query: Query, lexicon: Lexicon) -> dict[str, float]:
    """The question's words for lexical ranking, with the lexicon's synonyms of the entities it names at a
    lower weight; the condition's own names are left out (every claim of the condition has them)."""
    skip = {fold(w) for t in lexicon.conditions[query.condition].terms for w in t.split()} if query.condition else set()
    # the words saying what kind of question it is ("prognosis", "treated") are left to the type fit: a short
    # claim that happens to contain "prognosis" is no better an answer for it
    # (a word that also names a topic, such as "spread" or "survival", still counts)
    topical = {fold(w) for topic in lexicon.topics.values() for t in topic.terms for w in t.split()}
    skip |= {fold(w) for i in query.intents for t in lexicon.intents[i].terms for w in t.split()} - topical
    words: dict[str, float] = {}
    for w in query.words:
        f = fold(w)
        if f not in skip:
            words[f] = 1.0
    synonyms: list[tuple[str, ...]] = []
    for ref in query.entities:
        kind, _, key = ref.partition(":")
        term = lexicon.entities.get(kind, {}).get(key)
        synonyms.append(term.terms if term else ())
    for topic in query.topics:
        synonyms.append(lexicon.topics[topic].terms)
    for phrases in synonyms:
        for phrase in phrases:
            for w in phrase.lower().split():
                words.setdefault(fold(w), SYNONYM_WEIGHT)
    return words


def wanted_facets(query: Query, lexicon: Lexicon) -> tuple[set[str], dict[str, set[str]]]:
    """Facets the question asks about, and extra facets admitted only for some tags."""
    intents = query.intents or ("overview",)
    facets: set[str] = set()
    tagged: dict[str, set[str]] = {}
    for name in intents:
        spec = lexicon.intents[name]
        facets.update(spec.facets)
        for facet, tags in spec.also_tagged.items():
            tagged.setdefault(facet, set()).update(tags)
    return facets, tagged


def population_fit(claim_pops: frozenset[str], query_pops: frozenset[str]) -> float | None:
    if "any" in claim_pops:
        return 1.0
    if claim_pops & query_pops:
        return 3.0
    if claim_pops <= SPECIAL:
        return None
    if not (query_pops - SPECIAL):
        return 0.5  # the question does not say which patients: show population-specific facts lower down
    return None


def subtype_fit(claim: ClaimRec, query: Query) -> float | None:
    if "any" in claim.subtypes:
        return 1.0
    if claim.subtypes & query.subtypes:
        return 3.0
    if not query.subtypes:
        return 0.5
    return 0.2 if claim.facet in COMPARATIVE else None


def site_fit(claim: ClaimRec, query: Query) -> float | None:
    if "any" in claim.sites:
        return 1.0
    if claim.sites & query.sites:
        return 3.0
    return 0.5 if not query.sites else None


# words by which a question asks about genotypes in general ("which KIT genotype responds best?")
GENOTYPE_WORDS = frozenset({"genotype", "genotypes", "mutation", "mutations", "mutational", "exon", "exons", "kit"})


def entity_fit(
    claim: ClaimRec,
    query: Query,
    kinds: frozenset[str] | None = None,
    asked_kinds: frozenset[str] | None = None,
    general: bool | None = None,
) -> float | None:
    """How well the claim's entities fit the question's: each named entity it is about counts; a claim about
    another genotype is left out, and one about another drug, modality or setting ranks lower. A claim about
    a specific genotype or setting ranks lower for a question that names none (specific beats general, and
    general questions get general answers)."""
    if kinds is None:
        kinds = frozenset(e.partition(":")[0] for e in claim.entities)
    if not kinds:
        return 0.0
    fit = 0.0
    if asked_kinds is None:
        asked_kinds = frozenset(e.partition(":")[0] for e in query.entities)
    for kind in EXCLUSIVE_KINDS & asked_kinds & kinds:
        theirs = {e for e in claim.entities if e.startswith(kind + ":")}
        if not theirs & query.entities:
            return None
    for ref in query.entities:
        kind = ref.partition(":")[0]
        if ref in claim.entities:
            fit += 1.0
        elif kind not in EXCLUSIVE_KINDS and kind in kinds:
            fit -= 0.5
    if general is None:
        general = bool(GENOTYPE_WORDS & set(query.words))
    for kind, cost in (("genotype", 0.0 if general else 1.0), ("setting", 0.5)):
        if kind not in asked_kinds and kind in kinds:
            fit -= cost
    return fit


def select_claims(query: Query, contents: Contents, index: ClaimIndex | None = None) -> list[Scored]:
    """The claims that apply to a question, each scored by its fit."""
    return _score(query, contents, index or ClaimIndex(contents))[0]


def _score(query: Query, contents: Contents, index: ClaimIndex) -> tuple[list[Scored], tuple[RuledOut, ...]]:
    """The scored claims, and the treatments the candidate claims rule out for this question's focus."""
    if query.condition is None:
        return [], ()
    facets, tagged = wanted_facets(query, contents.lexicon)
    # "DFSP in pregnancy" names patients but no aspect: answer with what is written for those patients
    only_specific = not query.intents and bool(query.populations)
    if only_specific:
        facets = set(contents.lexicon.intents["overview"].facets) | {
            c.facet for c in index.of_condition(query.condition) if c.populations & query.populations
        }
    types = set(query.types)
    primary = query.types[0] if query.types else None
    # claims of other facets come in by what they answer best, and only for a question type asked in general
    # words: "and radiotherapy?" asks about one modality, not about every treatment
    modal = {contents.lexicon.intents[i].type for i in query.intents if contents.lexicon.intents[i].entity}
    open_types = tuple(t for t in query.types if t not in modal)
    candidates = index.candidates(query.condition, facets | set(tagged), open_types, query.entities, query.subtypes)
    qwords = query_words(query, contents.lexicon)
    lexical = index.bm25(query.condition, qwords)
    top = max(max(lexical.values(), default=0.0), index.bm25_scale(query.condition, qwords))
    focus = focus_items(query)
    # with no aspect asked in words of its own, the question's words decide more
    weak = not query.intents or set(query.intents) <= {n for n, i in contents.lexicon.intents.items() if i.weak}
    lexical_weight = LEXICAL_WEIGHT * (2 if weak else 1)
    rules = tuple(ruled_out(query, candidates))
    blocked = {r.treatment for r in rules}
    topics = contents.lexicon.topics
    asked_drugs = frozenset(e for e in query.entities if e.startswith("drug:"))
    asked_kinds = frozenset(e.partition(":")[0] for e in query.entities)
    general = bool(GENOTYPE_WORDS & set(query.words))
    open_set = frozenset(open_types)
    # a desmoid tumour is not a sarcoma: statements written for every sarcoma, or for other subtypes, do not apply
    # to it, and its own statements answer only a question that names it (or names a drug they are about:
    # "nirogacestat side effects")
    apart = {k for k, s in contents.lexicon.subtypes.items() if s.standalone}
    standalone = bool(apart & set(query.subtypes))
    out = []
    for claim in candidates:
        if standalone and not (claim.subtypes & query.subtypes):
            continue
        if not standalone and claim.subtypes <= apart and not (claim.entities & asked_drugs):
            continue
        in_facet = claim.facet in facets or bool(claim.tags & tagged.get(claim.facet, set()))
        by_type = bool(open_set & index.features[claim.id].answer_set)
        if (
            not in_facet
            and not by_type
            and not (claim.entities & query.entities)
            and not (claim.subtypes & query.subtypes)
        ):
            continue
        sub = subtype_fit(claim, query)
        if sub is None:
            continue
        pop = population_fit(claim.populations, query.populations)
        if pop is None and sub == 3.0 and claim.populations <= SPECIAL:
            pop = 0.5  # rhabdomyosarcoma's claims are written for children: a rhabdomyosarcoma question gets them
        if pop is None or (only_specific and pop < 3.0):
            continue
        site = site_fit(claim, query)
        if site is None:
            continue
        feats: Features = index.features[claim.id]
        ent = entity_fit(claim, query, feats.kinds, asked_kinds, general)
        if ent is None:
            continue
        # a claim written for exactly the asked-about patients beats one that lists many populations
        narrow = 2.0 / len(claim.populations) if pop == 3.0 else 0.0
        topical = sum(topics[t].weight for t in claim.tags & query.topics)
        # the type a claim answers best is listed first: a survival figure that also says what DFSP is answers a
        # prognosis question better than a definition that mentions prognosis
        first = claim.answers[0] if claim.answers else None
        if first == primary or (query.subtypes and {first, primary} <= {"definition", "types"}):
            type_fit = 1.0  # (what a subtype is, and which types there are, answer each other)
        elif primary in feats.answer_set:
            type_fit = 0.6
        else:
            type_fit = 0.3 if types & feats.answer_set else 0.0
        score = (
            4 * pop
            + narrow
            + 2 * sub
            + site
            + topical
            + EVIDENCE_WEIGHT * feats.evidence
            + (1.0 if claim.key else 0.0)
            + (FIGURE_BONUS if primary == "prognosis" and feats.figure else 0.0)
            + TYPE_WEIGHT * type_fit
            + ENTITY_WEIGHT * ent
            + lexical_weight * lexical.get(claim.id, 0.0) / top
        )
        # a figure measured in a selected cohort never leads an answer about other patients; nor does a claim
        # proposing a treatment that another claim says does not work for this focus
        other_cohort = claim.cohort is not None and claim.cohort not in query.populations
        # (a claim saying the treatment does not work for these patients is the warning itself, not a proposal)
        warns = {r.treatment for r in claim.safety}
        unsafe = any(t in claim.entities and t not in warns for t in blocked)
        # a question about one drug is not led by a statement about another ("avapritinib side effects")
        unsafe = unsafe or bool(asked_drugs and feats.drugs and not asked_drugs & feats.drugs)
        out.append(
            Scored(
                score,
                claim,
                pop,
                topical,
                primary in claim.answers,
                focus & feats.items,
                not (other_cohort or unsafe),
                feats.position,
                feats.home,
            )
        )
    return out, rules


def infer_condition(query: Query, index: ClaimIndex) -> Query:
    """A question naming no condition but a drug or genotype the pack discusses for one condition only
    ("what did the eribulin trial show?") is about that condition; when several fit, it stays open."""
    from dataclasses import replace

    if query.condition is not None or query.exclusion is not None or query.out_of_scope or query.foreign_script:
        return query
    focus = frozenset(e for e in query.entities if e.startswith(("genotype:", "drug:", "setting:")))
    if not focus or not any(e.startswith(("genotype:", "drug:")) for e in focus):
        return query
    fits = index.conditions_about(focus)
    if len(fits) > 1:
        # a drug used for several conditions ("imatinib side effects"): the condition whose statements about it
        # answer this question's type, when only one has the most of them; the note names the others
        # how many of the question's types each condition answers about it, then how many such statements
        types = query.types or (None,)
        counts = {
            c: (
                sum(1 for t in types if index.answering_about(c, t, focus)),
                sum(index.answering_about(c, t, focus) for t in types),
            )
            for c in fits
        }
        best = max(counts.values())
        top = [c for c, n in counts.items() if n == best]
        if best[0] == 0 or len(top) != 1:
            return query
        others = ", ".join(c.upper() for c in fits if c != top[0])
        note = (
            f"read as a question about {top[0].upper()}, where the pack says most about this; "
            f"ask about {others} by name for that condition"
        )
        return replace(query, condition=top[0], notes=(*query.notes, note))
    if not fits:
        return query
    note = f"read as a question about {fits[0].upper()}: the pack discusses what it names for that condition only"
    return replace(query, condition=fits[0], notes=(*query.notes, note))


def select_conflicts(query: Query, facets: set[str], contents: Contents) -> list[ConflictRec]:
    return [
        c
        for c in contents.conflicts.values()
        if c.condition == query.condition
        and c.facet in facets
        and population_fit(c.populations, query.populations) is not None
    ]


@dataclass(frozen=True)
class Selection:
    """What answers one question: its claims and conflicts, and the patient group when one fits."""

    query: Query
    claims: list[Scored] = field(default_factory=list)
    facets: frozenset[str] = frozenset()
    conflicts: list[ConflictRec] = field(default_factory=list)
    group: Recommendation | None = None
    # question types of a covered condition that no claim of the pack answers yet
    missing: tuple[str, ...] = ()
    # treatments the pack says do not work for this question's focus (kept out of the bottom line and steps)
    ruled_out: tuple[RuledOut, ...] = ()


def select(
    query: Query, contents: Contents, algorithm: Algorithm | None = None, index: ClaimIndex | None = None
) -> Selection:
    """Query -> Selection; nothing is selected for a question without a condition (compose abstains)."""
    if query.foreign_script or query.condition is None:
        return Selection(query)
    index = index or ClaimIndex(contents)
    # a subtype the condition's general claims do not apply to (desmoid tumour) is covered only by its own claims
    apart = next((s for s in sorted(query.subtypes) if contents.lexicon.subtypes[s].standalone), None)
    missing = tuple(t for t in query.types if index.answering(query.condition, t, apart) == 0)
    claims, rules = _score(query, contents, index)
    if not claims:
        return Selection(query, missing=missing)
    facets, _ = wanted_facets(query, contents.lexicon)
    return Selection(
        query,
        claims,
        frozenset(facets),
        select_conflicts(query, facets, contents),
        select_group(query, contents, algorithm),
        missing,
        rules,
    )


def select_group(query: Query, contents: Contents, algorithm: Algorithm | None) -> Recommendation | None:
    """The algorithm's patient group for a clinician's treatment question, when exactly one fits."""
    from oncoguide.algorithm.groups import CriteriaError

    if (
        algorithm is None
        or query.audience != "clinician"
        or query.condition is None
        or query.foreign_script
        or not TREATMENT_INTENTS & set(query.intents)
        or not contents.algorithm.groups
    ):
        return None
    facts = query.facts.as_dict()
    if "metastatic" in query.populations and "metastases" not in facts:
        facts["metastases"] = {"regional-nodes", "oligometastatic", "disseminated"}
    try:
        rec = algorithm.recommend(query.condition, facts, list(query.facts.notes))
    except CriteriaError:
        return None
    return rec if rec.group is not None else None
