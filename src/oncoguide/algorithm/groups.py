"""The treatment algorithm: from a patient's situation (criteria or a free-text vignette) to the
patient group and its recommended treatment steps. Never guesses a deciding fact: when one is
missing it returns the candidate groups and names what to ask."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from oncoguide.algorithm.facts import VignetteFacts
from oncoguide.algorithm.stage import vignette_stage
from oncoguide.algorithm.text import TOKEN, longest_matches
from oncoguide.pack.contents import Contents
from oncoguide.pack.typed import AlgorithmSpec, Group, Step
from oncoguide.plain import plain

SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(cm|centimet(?:er|re)s?|mm|millimet(?:er|re)s?)\b")
GRADE_HIGH = re.compile(r"\b(high[- ]grade|grade (?:2|3|ii|iii)|g2|g3|intermediate[- ]grade)\b")
GRADE_LOW = re.compile(r"\b(low[- ]grade|grade (?:1|i)|g1|well[- ]differentiated)\b")
FEW_METS = re.compile(r"\b(single|solitary|isolated|one|two|three|limited|few)\b[\w\s-]{0,25}?\bmetasta")
MANY_METS = re.compile(r"\b(multiple|numerous|widespread|diffuse|extensive|many|innumerable)\b[\w\s-]{0,25}?\bmetasta")
# most specific first: "PDGFRA D842V" must not read as an imatinib-sensitive PDGFRA mutation
GENOTYPE_PATTERNS = [
    ("pdgfra-d842v", re.compile(r"\bd842v\b|\bpdgfra exon 18\b|\bexon 18 pdgfra\b")),
    ("kit-exon9", re.compile(r"\bexon 9\b")),
    ("sdh-deficient", re.compile(r"\bsdh[- ]?(?:b[- ])?(?:deficien|negative|loss)|\bsdh[a-d]? (?:mutation|loss)")),
    ("ntrk", re.compile(r"\bn?trk\b[\w\s-]{0,12}fusion|\bntrk\b")),
    ("braf-v600e", re.compile(r"\bbraf\b")),
    ("pdgfra", re.compile(r"\bpdgfra\b")),
    ("kit", re.compile(r"\bkit\b[\w\s-]{0,12}mutat|\bexon 11\b|\bc-?kit\b")),
]


class Numbering(Protocol):
    """Numbers sources in order of first use (the engine's oncoguide.engine.numbering.Numbering)."""

    def cite(self, citations: Iterable[tuple[str, str]]) -> tuple[list[int], list[dict]]: ...

    def references(self) -> list: ...


class CriteriaError(ValueError):
    """The described situation is invalid or contradictory; the message names the problem."""


@dataclass
class Missing:
    dimension: str
    question: str
    values: list[str]


@dataclass
class RegimenOption:
    line: str
    regimens: list[list[str]]
    applies_when: str | None = None
    genotypes: list[str] = field(default_factory=list)
    matches: bool | None = None  # for the stated genotype: True / False; None when either is unspecified


@dataclass
class StepOut:
    name: str
    tier: str
    timing: str
    applies_when: str | None
    rationale: str
    options: list[RegimenOption]
    dosing: str | None
    citations: list[int]
    choice: str | None = None  # steps with the same choice are alternatives: a patient has one of them


@dataclass
class GroupRef:
    id: str
    label: str
    definition: str


@dataclass
class Recommendation:
    condition: str | None
    facts: dict[str, list[str]]
    assumed: dict[str, str]
    group: GroupRef | None
    steps: list[StepOut]
    candidates: list[GroupRef]
    missing: list[Missing]
    references: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    genotype: str | None = None
    raw_steps: tuple[Step, ...] = field(default=(), repr=False)
    derived: list = field(default_factory=list)  # facts read from a FHIR record, each with its resource

    def to_dict(self) -> dict:
        data = plain(self)
        data.pop("raw_steps")
        return data


class Algorithm:
    """The algorithm part of the pack, compiled once per knowledge base."""

    def __init__(self, contents: Contents, numbering: Callable[[Contents], Numbering]):
        self.contents = contents
        self.numbering = numbering  # passed in by the engine, which numbers every citation shown
        doc = contents.algorithm
        if doc.spec is None:
            raise CriteriaError("the knowledge pack has no treatment algorithm")
        self.spec: AlgorithmSpec = doc.spec
        self.groups: tuple[Group, ...] = doc.groups
        self.by_id = {g.id: g for g in self.groups}
        self.dims = self.spec.dimensions
        self.phrases: dict[tuple[str, ...], list[tuple[str, frozenset[str]]]] = {}
        self.max_len = 1
        for dim, d in self.dims.items():
            for values, terms in d.terms.items():
                vals = frozenset(values.split("|"))
                for term in terms:
                    toks = tuple(TOKEN.findall(term.lower()))
                    self.phrases.setdefault(toks, []).append((dim, vals))
                    self.max_len = max(self.max_len, len(toks))

    # --- reading a situation -------------------------------------------------------------------

    def read_text(self, text: str, condition: str | None) -> VignetteFacts:
        """The facts and genotype a free text names (the condition read from it by engine.understand)."""
        facts, notes = self.facts_from_text(text, condition)
        return VignetteFacts(
            tuple((dim, frozenset(vals)) for dim, vals in facts.items()), tuple(notes), self.genotype_from_text(text)
        )

    def facts_from_text(self, text: str, condition: str | None) -> tuple[dict[str, set[str]], list[str]]:
        """Facts named in a free-text vignette about this condition; notes say what was derived."""
        low = text.lower().replace("’", "'")
        facts: dict[str, set[str]] = {}
        notes: list[str] = []
        m = vignette_stage(low)
        if m:
            facts["stage"] = {str(m.group)}
        for dim, vals in longest_matches(TOKEN.findall(low), self.phrases, self.max_len):
            facts[dim] = facts.get(dim, set(vals)) & vals or set(vals)
        mets = facts.get("metastases")
        if mets is not None and len(mets) > 1:
            if MANY_METS.search(low):
                facts["metastases"] = {"disseminated"}
            elif FEW_METS.search(low):
                facts["metastases"] = {"oligometastatic"}
        if condition == "sts" and "stage" not in facts:
            stage = self._derive_stage(low, facts)
            if stage:
                facts["stage"] = {stage}
                notes.append(f"AJCC 8th edition stage {stage} derived from the size and grade given")
        return facts, notes

    @staticmethod
    def _derive_stage(low: str, facts: dict[str, set[str]]) -> str | None:
        mets = facts.get("metastases")
        if mets and "none" not in mets:
            return "IV" if mets else None
        size = SIZE.search(low)
        high, lowg = GRADE_HIGH.search(low), GRADE_LOW.search(low)
        if not size or bool(high) == bool(lowg) or mets not in (None, {"none"}):
            return None
        cm = float(size.group(1)) / (10 if size.group(2).startswith("m") else 1)
        if lowg:
            return "I"
        return "II" if cm <= 5 else "III"

    @staticmethod
    def genotype_from_text(text: str) -> str | None:
        low = text.lower()
        return next((gid for gid, pattern in GENOTYPE_PATTERNS if pattern.search(low)), None)

    def check_genotype(self, genotype: str) -> str:
        known = self.spec.genotypes
        match = next((g for g in known if g == genotype.strip().lower()), None)
        if match is None:
            raise CriteriaError(f"mutation '{genotype}' is not one of: {', '.join(known)}")
        return match

    def facts_from_criteria(self, criteria: dict[str, str | None]) -> dict[str, set[str]]:
        facts: dict[str, set[str]] = {}
        for dim, value in criteria.items():
            if value is None:
                continue
            if dim not in self.dims:
                raise CriteriaError(f"unknown criterion '{dim}'; known: {', '.join(self.dims)}")
            allowed = self.dims[dim].values
            facts[dim] = set()
            for v in str(value).split("|"):  # a|b: either (a record may say "metastatic" but not where)
                v = v.strip()
                v = {"true": "yes", "false": "no"}.get(v.lower(), v)
                match = next((a for a in allowed if a.lower() == v.lower()), None)
                if match is None:
                    raise CriteriaError(f"{dim} '{value}' is not one of: {', '.join(allowed)} (or several joined by |)")
                facts[dim].add(match)
        return facts

    # --- matching --------------------------------------------------------------------------------

    def check(self, condition: str, facts: dict[str, set[str]]) -> None:
        known = dict(facts)
        known["condition"] = {condition}
        for rule in self.spec.contradictions:
            if all(dim in known and known[dim] <= set(vals) for dim, vals in rule.when.items()):
                named = ", ".join(f"{d} {'/'.join(sorted(known[d]))}" for d in rule.when)
                raise CriteriaError(f"contradictory criteria ({named}): {rule.message}")

    @staticmethod
    def _fits(alt: dict[str, tuple[str, ...]], facts: dict[str, set[str]]) -> bool:
        return all(dim not in facts or facts[dim] & set(vals) for dim, vals in alt.items())

    def recommend(
        self,
        condition: str | None,
        facts: dict[str, set[str]],
        notes: list[str] | None = None,
        genotype: str | None = None,
    ) -> Recommendation:
        notes = list(notes or [])
        if genotype is not None:
            genotype = self.check_genotype(genotype)
        if condition is None:
            raise CriteriaError("name the condition (dfsp, sts or gist), or describe it in the text")
        if condition not in self.spec.conditions:
            raise CriteriaError(f"unknown condition '{condition}'; use one of: {', '.join(self.spec.conditions)}")
        used = self.spec.conditions[condition]
        for dim in list(facts):
            if dim not in used and dim != "site":
                notes.append(f"{self.dims[dim].label} is not used to choose {condition.upper()} treatment")
                del facts[dim]
        self.check(condition, facts)
        assumed = {}
        for dim in used:
            default = self.dims[dim].default
            if dim not in facts and default is not None:
                facts[dim] = {default}
                assumed[dim] = default
        pool = [g for g in self.groups if g.condition == condition]
        candidates = [g for g in pool if any(self._fits(alt, facts) for alt in g.criteria)]
        shown = {k: sorted(v) for k, v in facts.items()}
        if len(candidates) == 1:
            unknown = self._unknown_constraints(candidates[0], facts)
            if not unknown:
                return self._build(condition, shown, assumed, candidates[0], notes, genotype)
            # the only group that could fit still depends on a fact nobody stated: ask, do not assume
            notes.append(f"only '{candidates[0].label}' could fit, but it depends on facts not given")
            return Recommendation(
                condition, shown, assumed, None, [], [self._ref(candidates[0])], unknown, [], notes, genotype
            )
        missing = self._missing(candidates, facts) if candidates else []
        if not candidates:
            notes.append("no patient group of the algorithm fits this description")
        return Recommendation(
            condition, shown, assumed, None, [], [self._ref(g) for g in candidates], missing, [], notes, genotype
        )

    def _unknown_constraints(self, group: Group, facts: dict[str, set[str]]) -> list[Missing]:
        """Facts the group depends on that were not given (so it might not apply at all)."""
        fitting = [alt for alt in group.criteria if self._fits(alt, facts)]
        out = []
        for dim, d in self.dims.items():
            if dim in facts and len(facts[dim]) == 1:
                continue
            known = facts.get(dim, set(d.values))
            if fitting and all(dim in alt and not known <= set(alt[dim]) for alt in fitting):
                out.append(Missing(dim, d.question, [v for v in d.values if v in known]))
        return out

    def _missing(self, candidates: list[Group], facts: dict[str, set[str]]) -> list[Missing]:
        """Dimensions whose value would tell the candidate groups apart."""
        out = []
        for dim, d in self.dims.items():
            if dim in facts and len(facts[dim]) == 1:
                continue
            options = set()
            for g in candidates:
                sets = [set(alt.get(dim, d.values)) for alt in g.criteria]
                options.add(frozenset().union(*sets))
            if len(options) > 1:
                possible = [v for v in d.values if dim not in facts or v in facts[dim]]
                out.append(Missing(dim, d.question, possible))
        return out

    def _ref(self, g: Group) -> GroupRef:
        return GroupRef(g.id, g.label, g.definition)

    def _build(self, condition, facts, assumed, g, notes, genotype: str | None = None) -> Recommendation:
        numbering = self.numbering(self.contents)
        steps, tagged = [], False
        for s in g.steps:
            nums, _ = numbering.cite([(c.source, c.locator) for c in s.citations])
            options = []
            for o in s.options:
                kinds = list(o.genotypes)
                tagged = tagged or bool(kinds)
                matches = None if genotype is None or not kinds else genotype in kinds
                options.append(RegimenOption(o.line, [list(r) for r in o.regimens], o.applies_when, kinds, matches))
            steps.append(
                StepOut(s.name, s.tier, s.timing, s.applies_when, s.rationale, options, s.dosing, nums, s.choice)
            )
        if genotype is not None and not tagged:
            notes = [*notes, "the tumour genotype does not change the options of this group"]
        return Recommendation(
            condition,
            facts,
            assumed,
            self._ref(g),
            steps,
            [],
            [],
            numbering.references(),
            notes,
            genotype,
            raw_steps=g.steps,
        )

    def group_detail(self, group_id: str) -> Recommendation:
        """One patient group with its steps, as if a patient had matched it (for browsing)."""
        g = self.by_id.get(group_id)
        if g is None:
            raise CriteriaError(f"unknown patient group '{group_id}'")
        return self._build(g.condition, {}, {}, g, [])

    def genotypes_for(self, condition: str) -> list[str]:
        """The genotypes worth asking about for a condition: those its regimen options are for, and, where
        the genotype chooses between several options, those no option is for (e.g. SDH-deficient, not yet
        known), which say that none of them fits. Empty when the genotype changes nothing (DFSP)."""
        named = {
            c: {k for g in self.groups if g.condition == c for s in g.steps for o in s.options for k in o.genotypes}
            for c in self.spec.conditions
        }
        mine = named.get(condition, set())
        nowhere = set(self.spec.genotypes) - set().union(*named.values())
        offered = mine | nowhere if len(mine) > 1 else mine
        return [k for k in self.spec.genotypes if k in offered]

    def group_list(self, condition: str | None = None) -> list[Group]:
        return [g for g in self.groups if condition in (None, g.condition)]

    def group_summaries(self, condition: str | None = None) -> list[dict]:
        """The groups as listed by `oncoguide groups --format json` and GET /api/groups."""
        return [
            {
                "id": g.id,
                "condition": g.condition,
                "label": g.label,
                "definition": g.definition,
                "criteria": [{dim: list(vals) for dim, vals in alt.items()} for alt in g.criteria],
                "steps": len(g.steps),
            }
            for g in self.group_list(condition)
        ]
