"""The knowledge base's own index of claims: by condition and facet, by question type, and by word (BM25).

Built once per knowledge base, so that answering a question costs what the claims that can apply cost, not
the size of the pack: selection reads the postings of the question's condition only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from oncoguide.algorithm.text import TOKEN
from oncoguide.pack.contents import ClaimRec, Contents
from oncoguide.pack.typed import Lexicon

# BM25's usual constants: term-frequency saturation and length normalisation
K1 = 1.2
B = 0.75
TYPE_BONUS = {
    "guideline": 0.6,
    "consensus statement": 0.5,
    "systematic review": 0.5,
    "randomised trial": 0.4,
    "phase III trial": 0.4,
}


def evidence_weight(claim: ClaimRec, contents: Contents) -> float:
    """The strength of a claim's best source: its level of evidence and kind of publication."""
    best = 0.0
    for source_id, _ in claim.citations:
        src = contents.sources[source_id]
        best = max(best, (6 - src.level) * 0.3 + TYPE_BONUS.get(src.type, 0.0))
    return best


def claim_items(claim: ClaimRec) -> frozenset[str]:
    """What a claim is about, in the question's focus terms: entities, subtypes, populations and sites."""
    items = set(claim.entities)
    items.update(f"subtype:{s}" for s in claim.subtypes if s != "any")
    items.update(f"population:{p}" for p in claim.populations if p != "any")
    items.update(f"site:{s}" for s in claim.sites if s != "any")
    return frozenset(items)


@dataclass(frozen=True)
class Features:
    """What ranking needs of a claim that does not depend on the question, computed once."""

    position: int  # order in the pack, which writers use to order ideas
    evidence: float
    figure: bool  # its clinician text quotes a number
    items: frozenset[str]
    kinds: frozenset[str]  # entity kinds it is about (genotype, drug, setting, modality)
    drugs: frozenset[str]
    answer_set: frozenset[str]  # its question types, as a set
    home: str | None  # the answer section it is shown in (sections with tags first, then by facet)


def home_section(claim: ClaimRec, contents: Contents) -> str | None:
    """The section a claim is shown in: the first tagged section of its facet sharing a tag, else the first
    section of its facet."""
    for s in contents.sections:
        if s.tags_any and claim.facet in s.facets and claim.tags & set(s.tags_any):
            return s.id
    return next((s.id for s in contents.sections if not s.tags_any and claim.facet in s.facets), None)


@dataclass
class ConditionIndex:
    """The claims of one condition: where each facet's and question type's claims are, and their words."""

    claims: list[ClaimRec] = field(default_factory=list)
    by_facet: dict[str, list[int]] = field(default_factory=dict)
    by_type: dict[str, list[int]] = field(default_factory=dict)
    by_entity: dict[str, list[int]] = field(default_factory=dict)
    by_subtype: dict[str, list[int]] = field(default_factory=dict)
    postings: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # word -> (claim, count)
    # word -> (claim, BM25 term weight: the count saturated and normalised by the claim's length), computed once
    weights: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)
    idf: dict[str, float] = field(default_factory=dict)
    average: float = 1.0


def claim_words(claim: ClaimRec, lexicon: Lexicon, spelling: dict[str, str]) -> list[str]:
    """The words a claim is found by: both its texts, its tags and the names of its entities and subtypes."""
    parts = [claim.clinician, claim.patient, " ".join(claim.tags)]
    for ref in claim.entities:
        kind, _, key = ref.partition(":")
        term = lexicon.entities.get(kind, {}).get(key)
        if term is not None:
            parts.append(" ".join(term.terms))
    for sub in claim.subtypes:
        if sub in lexicon.subtypes:
            parts.append(" ".join(lexicon.subtypes[sub].terms))
    return [fold(spelling.get(w, w)) for w in TOKEN.findall(" ".join(parts).lower())]


DIGIT = re.compile(r"[0-9]")


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """One form for a word and its plural ("sarcomas" ~ "sarcoma"); no stemming beyond that, so that
    "work-up" stays apart from "work"."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "is", "us")):
        return word[:-1]
    return word


class ClaimIndex:
    """Claims by condition, facet and question type, and a BM25 word index per condition."""

    def __init__(self, contents: Contents):
        self.contents = contents
        spelling = dict(contents.lexicon.spelling)
        self.spelling = spelling
        self.conditions: dict[str, ConditionIndex] = {}
        for claim in contents.claims.values():
            ci = self.conditions.setdefault(claim.condition, ConditionIndex())
            n = len(ci.claims)
            ci.claims.append(claim)
            ci.by_facet.setdefault(claim.facet, []).append(n)
            for t in claim.answers:
                ci.by_type.setdefault(t, []).append(n)
            for e in claim.entities:
                ci.by_entity.setdefault(e, []).append(n)
            for sub in claim.subtypes:
                ci.by_subtype.setdefault(sub, []).append(n)
            words = Counter(claim_words(claim, contents.lexicon, spelling))
            ci.lengths.append(sum(words.values()))
            for w, c in words.items():
                ci.postings.setdefault(w, []).append((n, c))
        for ci in self.conditions.values():
            total = len(ci.claims)
            ci.average = (sum(ci.lengths) / total) if total else 1.0
            ci.idf = {w: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5)) for w, p in ci.postings.items()}
            ci.weights = {
                w: [(n, tf * (K1 + 1) / (tf + K1 * (1 - B + B * ci.lengths[n] / ci.average))) for n, tf in p]
                for w, p in ci.postings.items()
            }
        self.position = {cid: i for i, cid in enumerate(contents.claims)}
        self.features = {
            c.id: Features(
                self.position[c.id],
                evidence_weight(c, contents),
                DIGIT.search(c.clinician) is not None,
                claim_items(c),
                frozenset(e.partition(":")[0] for e in c.entities),
                frozenset(e for e in c.entities if e.startswith("drug:")),
                frozenset(c.answers),
                home_section(c, contents),
            )
            for c in contents.claims.values()
        }

    def candidates(
        self,
        condition: str,
        facets: set[str],
        types: tuple[str, ...],
        entities: frozenset[str] = frozenset(),
        subtypes: frozenset[str] = frozenset(),
    ) -> list[ClaimRec]:
        """The claims of a condition in one of the facets, answering one of the question types, or about one of
        the named genotypes, drugs or subtypes."""
        ci = self.conditions.get(condition)
        if ci is None:
            return []
        picked: set[int] = set()
        for f in facets:
            picked.update(ci.by_facet.get(f, ()))
        for t in types:
            picked.update(ci.by_type.get(t, ()))
        for e in entities:
            if e.startswith(("genotype:", "drug:")):
                picked.update(ci.by_entity.get(e, ()))
        for sub in subtypes:
            picked.update(ci.by_subtype.get(sub, ()))
        return [ci.claims[i] for i in sorted(picked)]

    def of_condition(self, condition: str) -> list[ClaimRec]:
        """All claims of a condition, in pack order."""
        ci = self.conditions.get(condition)
        return ci.claims if ci else []

    def answering(self, condition: str, qtype: str, subtype: str | None = None) -> int:
        """How many claims of the condition (written for the subtype, when one is given) answer a question
        type."""
        ci = self.conditions.get(condition)
        if ci is None:
            return 0
        if subtype is None:
            return len(ci.by_type.get(qtype, ()))
        return len(set(ci.by_type.get(qtype, ())) & set(ci.by_subtype.get(subtype, ())))

    def bm25(self, condition: str, words: dict[str, float]) -> dict[str, float]:
        """BM25 score of each claim of the condition for weighted query words (claim id -> score)."""
        ci = self.conditions.get(condition)
        if ci is None:
            return {}
        scores: dict[int, float] = {}
        get = scores.get
        for w, weight in words.items():
            postings = ci.weights.get(w)
            if not postings:
                continue
            idf = ci.idf[w] * weight
            for n, tw in postings:
                scores[n] = get(n, 0.0) + idf * tw
        claims = ci.claims
        return {claims[n].id: s for n, s in scores.items()}

    def conditions_about(self, entities: frozenset[str]) -> list[str]:
        """The conditions that best fit these entities (genotype, drug, setting): those with claims about all of
        them together, else those whose claims are about the most of them. Several fits mean a tie."""
        together = sorted(
            cond
            for cond, ci in self.conditions.items()
            if entities and set.intersection(*(set(ci.by_entity.get(e, ())) for e in entities))
        )
        if together:
            return together
        counts = {cond: sum(1 for e in entities if ci.by_entity.get(e)) for cond, ci in self.conditions.items()}
        best = max(counts.values(), default=0)
        return sorted(c for c, n in counts.items() if n == best and best > 0)

    def answering_about(self, condition: str, qtype: str | None, entities: frozenset[str]) -> int:
        """How many claims of the condition are about one of these entities and answer the question type."""
        ci = self.conditions.get(condition)
        if ci is None:
            return 0
        about = set().union(*(set(ci.by_entity.get(e, ())) for e in entities)) if entities else set()
        if qtype is None:
            return len(about)
        return len(about & set(ci.by_type.get(qtype, ())))

    def bm25_scale(self, condition: str, words: dict[str, float]) -> float:
        """What a claim of average length naming every query word once scores: the scale that makes lexical
        fit comparable across questions (a claim matching only weak words stays low even when it is the best)."""
        ci = self.conditions.get(condition)
        if ci is None:
            return 1.0
        return sum(ci.idf.get(w, 0.0) * weight for w, weight in words.items()) or 1.0
