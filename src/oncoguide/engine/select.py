"""Query -> the claims and conflicts that apply, scored by fit and strength of evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from oncoguide.engine.understand import TREATMENT_INTENTS, Query
from oncoguide.pack.contents import ClaimRec, ConflictRec, Contents
from oncoguide.pack.typed import Lexicon

if TYPE_CHECKING:
    from oncoguide.algorithm.groups import Algorithm, Recommendation

# Populations a claim may be written for that never apply unless the question names them.
SPECIAL = frozenset({"children", "pregnancy"})
# Facets where claims for other subtypes still help (comparing classic and fibrosarcomatous DFSP).
COMPARATIVE = frozenset({"prognosis", "variants"})
TYPE_BONUS = {
    "guideline": 0.6,
    "consensus statement": 0.5,
    "systematic review": 0.5,
    "randomised trial": 0.4,
    "phase III trial": 0.4,
}


@dataclass(frozen=True)
class Scored:
    score: float
    claim: ClaimRec
    tier: float = 1.0  # population fit: claims written for the asked-about patients come first
    topical: float = 0.0  # how much of the score comes from topics the question names


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


def evidence_weight(claim: ClaimRec, contents: Contents) -> float:
    best = 0.0
    for source_id, _ in claim.citations:
        src = contents.sources[source_id]
        best = max(best, (6 - src.level) * 0.3 + TYPE_BONUS.get(src.type, 0.0))
    return best


def select_claims(query: Query, contents: Contents) -> list[Scored]:
    facets, tagged = wanted_facets(query, contents.lexicon)
    # "DFSP in pregnancy" names patients but no aspect: answer with what is written for those patients
    only_specific = not query.intents and bool(query.populations)
    if only_specific:
        facets = set(contents.lexicon.intents["overview"].facets) | {
            c.facet for c in contents.claims.values() if c.populations & query.populations
        }
    topics = contents.lexicon.topics
    out = []
    for claim in contents.claims.values():
        if claim.condition != query.condition:
            continue
        if claim.facet not in facets and not (claim.tags & tagged.get(claim.facet, set())):
            continue
        pop = population_fit(claim.populations, query.populations)
        sub = subtype_fit(claim, query)
        site = site_fit(claim, query)
        if pop is None or sub is None or site is None or (only_specific and pop < 3.0):
            continue
        # a claim written for exactly the asked-about patients beats one that lists many populations
        narrow = 2.0 / len(claim.populations) if pop == 3.0 else 0.0
        topical = sum(topics[t].weight for t in claim.tags & query.topics)
        score = (
            4 * pop + narrow + 2 * sub + site + topical + evidence_weight(claim, contents) + (1.0 if claim.key else 0.0)
        )
        out.append(Scored(score, claim, pop, topical))
    return out


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


def select(query: Query, contents: Contents, algorithm: Algorithm | None = None) -> Selection:
    """Query -> Selection; nothing is selected for a question without a condition (compose abstains)."""
    if query.foreign_script or query.condition is None:
        return Selection(query)
    claims = select_claims(query, contents)
    if not claims:
        return Selection(query)
    facets, _ = wanted_facets(query, contents.lexicon)
    return Selection(
        query,
        claims,
        frozenset(facets),
        select_conflicts(query, facets, contents),
        select_group(query, contents, algorithm),
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
