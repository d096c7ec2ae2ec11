"""Free text -> Query: what condition, which patients, what the asker wants to know.

Pure functions over the pack's lexicon: words are lower-cased, British spellings mapped, small
typos corrected against the lexicon's own vocabulary, then phrases are matched longest first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from rapidfuzz.distance import Levenshtein

from oncoguide.algorithm.facts import VignetteFacts
from oncoguide.algorithm.stage import question_stage
from oncoguide.algorithm.text import TOKEN, longest_matches
from oncoguide.pack.typed import Lexicon, Term

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
AUDIENCES = ("clinician", "patient")
# a broad "how is it treated" question; a question about one modality gets only that modality
TREATMENT_INTENTS = frozenset({"treatment"})

# Everyday words never "corrected" into a lexicon term, however close they are.
COMMON = frozenset(
    """
about above after again against along also although always among another answer anyone anything
around asked because become been before being below better between both bring called cancer cancers
cannot care certain chance change could daily doctor doing done during each early either else
enough even every family father feel fine first found friend from getting given going good great
happen happens have having health hello help here high home hospital husband into just know large
later least less like little long looking made make many maybe mean might mind more most mother much
must near need never next night normal nothing often okay only other others over part people person
please point pretty quite rather really right said same say says second seen should since some
someone something sometimes soon still such sure take taken tell than thank thanks that their them
then there these they thing things think this those though through time times today together told
under until very want wanted week weeks well were what when where whether which while whole wife
will with within without woman women work would year years your yours
""".split()
)


class InputError(ValueError):
    """The question cannot be read; the message says why."""


@dataclass(frozen=True)
class Query:
    text: str
    audience: str = "clinician"
    condition: str | None = None
    subtypes: frozenset[str] = frozenset()
    populations: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    intents: tuple[str, ...] = ()
    topics: frozenset[str] = frozenset()
    stage: str | None = None
    out_of_scope: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    corrections: tuple[tuple[str, str], ...] = ()
    foreign_script: bool = False
    inherited: bool = False
    # the treatment algorithm's facts named in this text (for the patient group); not part of to_dict
    facts: VignetteFacts = VignetteFacts()

    def to_dict(self) -> dict:
        return {
            "condition": self.condition,
            "subtypes": sorted(self.subtypes),
            "populations": sorted(self.populations),
            "sites": sorted(self.sites),
            "intents": list(self.intents),
            "topics": sorted(self.topics),
            "stage": self.stage,
            "out_of_scope": list(self.out_of_scope),
            "notes": list(self.notes),
            "corrections": [list(c) for c in self.corrections],
            "inherited_context": self.inherited,
        }


def clean_question(text: object, max_chars: int) -> str:
    """Check a question before parsing; raise InputError with a clear message when it cannot be used."""
    if not isinstance(text, str):
        raise InputError("the question must be text")
    if len(text) > max_chars:
        raise InputError(
            f"the question is too long: {len(text):,} characters (the limit is {max_chars:,}); "
            "please ask one shorter question"
        )
    bad = CONTROL.search(text)
    if bad:
        raise InputError(
            f"the question contains a control character (U+{ord(bad.group()):04X} at position "
            f"{bad.start() + 1}); please type it as plain text"
        )
    text = unicodedata.normalize("NFKC", text).strip()
    text = re.sub(r"\s+", " ", text)
    if not text:
        raise InputError("the question is empty; please type a question")
    return text


def _is_foreign(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    return latin / len(letters) < 0.5


@dataclass
class Understander:
    """Compiled lexicon: phrase table and typo vocabulary, built once per knowledge base."""

    lexicon: Lexicon
    # the algorithm's reader of facts (text, condition) -> VignetteFacts; None when the pack has none
    read_facts: Callable[[str, str | None], VignetteFacts] | None = None
    phrases: dict[tuple[str, ...], list[tuple[str, str]]] = field(default_factory=dict)
    max_len: int = 1

    def __post_init__(self) -> None:
        lex = self.lexicon
        self.spelling = dict(lex.spelling)
        tables: list[tuple[str, Mapping[str, Term]]] = [
            ("condition", lex.conditions),
            ("subtype", lex.subtypes),
            ("population", lex.populations),
            ("site", lex.sites),
            ("intent", lex.intents),
            ("topic", lex.topics),
        ]
        for kind, table in tables:
            for key, entry in table.items():
                for term in entry.terms:
                    self._add(term, kind, key)
        for term in lex.out_of_scope:
            self._add(term, "out_of_scope", term)
        self.weak_intents = {k for k, v in lex.intents.items() if v.weak}

    def _add(self, term: str, kind: str, key: str) -> None:
        toks = tuple(self._spell(t) for t in TOKEN.findall(term.lower()))
        if not toks:
            return
        slot = self.phrases.setdefault(toks, [])
        if (kind, key) not in slot:
            slot.append((kind, key))
        self.max_len = max(self.max_len, len(toks))

    def _spell(self, tok: str) -> str:
        return self.spelling.get(tok, tok)

    @cached_property
    def vocabulary(self) -> dict[str, list[str]]:
        words = {w for phrase in self.phrases for w in phrase}
        by_first: dict[str, list[str]] = {}
        for w in sorted(words):
            if len(w) >= 5 and w.isalpha() and w not in COMMON:
                by_first.setdefault(w[0], []).append(w)
        return by_first

    @cached_property
    def known(self) -> frozenset[str]:
        return frozenset(w for phrase in self.phrases for w in phrase)

    def _correct(self, tok: str) -> str:
        if len(tok) < 5 or tok in self.known or tok in COMMON or not tok.isalpha():
            return tok
        limit = 2 if len(tok) >= 8 else 1
        best, best_d = tok, limit + 1
        for cand in self.vocabulary.get(tok[0], ()):
            if abs(len(cand) - len(tok)) > limit:
                continue
            d = Levenshtein.distance(tok, cand, score_cutoff=limit)
            if d < best_d:
                best, best_d = cand, d
        return best

    def parse(self, text: str, audience: str = "clinician", *, facts: bool | None = None) -> Query:
        """The Query of a text; `facts` reads the algorithm's facts too (by default when the answer may
        show a patient group: a clinician's question about treatment, or one inheriting its aspect)."""
        if audience not in AUDIENCES:
            raise InputError(f"unknown audience '{audience}'; use one of: {', '.join(AUDIENCES)}")
        return self._parse(text, audience, facts)

    def _facts(
        self, text: str, condition: str | None, wanted: bool | None, intents: tuple[str, ...] = ()
    ) -> VignetteFacts:
        if wanted is None:
            wanted = not intents or bool(TREATMENT_INTENTS & set(intents))
        return self.read_facts(text, condition) if wanted and self.read_facts else VignetteFacts()

    def _parse(self, text: str, audience: str, wanted: bool | None) -> Query:
        if wanted is None and audience != "clinician":
            wanted = False
        if _is_foreign(text):
            return Query(
                text=text, audience=audience, foreign_script=True, facts=self._facts(text, None, wanted is True)
            )
        low = text.lower().replace("’", "'")
        notes: list[str] = []
        stage = None
        m = question_stage(low)
        if m:
            stage = str(m.group)
            low = low[: m.start] + " " + low[m.end :]
        raw = [self._spell(t) for t in TOKEN.findall(low)]
        corrections = []
        toks = []
        for t in raw:
            c = self._correct(t)
            if c != t:
                corrections.append((t, c))
            toks.append(c)
        found: dict[str, list[str]] = {}
        for kind, key in longest_matches(toks, self.phrases, self.max_len):
            bucket = found.setdefault(kind, [])
            if key not in bucket:
                bucket.append(key)
        conditions = found.get("condition", [])
        subtypes = found.get("subtype", [])
        condition = conditions[0] if conditions else None
        # a DFSP subtype named alone (e.g. "Bednar tumour") still means DFSP
        sub_conditions = {self.lexicon.subtypes[s].condition for s in subtypes}
        if condition is None and len(sub_conditions) == 1:
            condition = next(iter(sub_conditions))
        if "dfsp" in conditions:
            condition = "dfsp"  # "DFSP is a sarcoma" is about DFSP
        elif "gist" in conditions:
            condition = "gist"
        subtypes = [s for s in subtypes if self.lexicon.subtypes[s].condition == condition]
        populations = set(found.get("population", []))
        populations.discard("any")
        if stage == "IV":
            populations.add("metastatic")
            notes.append("stage IV is read as metastatic disease (spread beyond the primary site)")
        elif stage and condition == "dfsp":
            notes.append(f"DFSP has no AJCC stage groups; 'stage {stage}' was not used to choose the answer")
        intents = found.get("intent", [])
        strong = [x for x in intents if x not in self.weak_intents]
        intents = strong or intents
        return Query(
            text=text,
            audience=audience,
            condition=condition,
            subtypes=frozenset(subtypes),
            populations=frozenset(populations),
            sites=frozenset(found.get("site", [])),
            intents=tuple(intents),
            topics=frozenset(found.get("topic", [])),
            stage=stage,
            out_of_scope=tuple(found.get("out_of_scope", [])),
            notes=tuple(notes),
            corrections=tuple(corrections),
            facts=self._facts(text, condition, wanted, tuple(intents)),
        )


def follow_up(previous: Query | None, new: Query) -> Query:
    """A follow-up inherits the condition and the population of the thread unless it names its own."""
    if previous is None or previous.condition is None or new.foreign_script:
        return new
    if new.condition not in (None, previous.condition):
        return new
    if new.out_of_scope and new.condition is None:
        return new
    return replace(
        new,
        condition=previous.condition,
        subtypes=new.subtypes or previous.subtypes,
        populations=new.populations or previous.populations,
        sites=new.sites or previous.sites,
        stage=new.stage or previous.stage,
        intents=new.intents or previous.intents,
        notes=new.notes or previous.notes,
        inherited=True,
    )
