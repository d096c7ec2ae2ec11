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
from oncoguide.algorithm.text import TOKEN, phrase_matches
from oncoguide.pack.typed import Exclusion, Lexicon, Term

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


# Words that make a sentence medical, so that a lower-case "gist" or "sts" in it names the condition.
MEDICAL_WORDS = frozenset(
    """
tumor tumors cancer cancers malignant oncologist oncology surgeon doctor doctors hospital patient patients
diagnosed diagnosis biopsy scan scans mutation mutations chemo chemotherapy treatment treated stomach bowel
bleeding sarcoma sarcomas lump growth mass clinic nurse metastatic metastasis stage imatinib
operation mastectomy excision radiotherapy radiation skin breast scar
""".split()
)
# "Is DFSP cancer?", "is a GIST malignant": a question about the nature of the tumour named in it
NATURE = re.compile(
    r"\bis (?:it |this |that |an? )?[a-z-]+(?: [a-z-]+)? (?:an? )?(?:(?:type|kind|form) of (?:[a-z]+ )?)?"
    r"(?:cancer|cancerous|malignant|benign)\b"
)
# "Does GIST spread?", "can DFSP metastasise": a question about the risk of spread, not about metastatic disease
# words that make a condition named after a lookalike the thing it is compared with ("treated like a GIST")
COMPARED = frozenset({"like", "than", "vs", "versus", "or", "from", "as", "resemble", "resembles", "mimic", "mimics"})
# "fertility after sarcoma treatment", "check-ups after treatment": treatment named as the time or the cause of
# what is asked, not as what is asked
TREATMENT_CONTEXT = re.compile(
    r"\b(?:after|during|from|since|following|post|of|before)\s+(?:(?:the|my|his|her|their|our|your|this|[a-z]+)\s+)?"
    r"(?:treatments?|therapy|therapies)\b"
    r"|\b(?:treatments?|therapy|therapies)\s+(?:affect|affects|cause|causes|harm|harms|damage|damages|change|changes)\b"
)
# "DFSP diagnosed in the second trimester: operate now?": being diagnosed is the situation, not the question
DIAGNOSED = re.compile(r"\b(?:diagnosed|diagnosis was made|was found to have|turned out to be)\b")
DIAGNOSED_ASKED = re.compile(r"\b(?:how|when|who|where|which|what tests?)\b[^.?!]*\bdiagnosed\b")
# "a 9 cm high-grade MPNST": a grade said of the tumour describes it; "what does high grade mean?" still asks
GRADE_SAID = re.compile(r"\b(?:high|low|intermediate)[- ]grade\b|\bgrade [123]\b")
SPREAD_QUESTION = re.compile(
    r"\b(?:does|do|can|will|could|would|might)\s+(?:it|this|they|[a-z-]+(?:\s[a-z-]+)?)\s+"
    r"(?:ever\s+)?(?:spread|metastasi[sz]e)\b"
)
# words that say the disease has spread, whatever else the question asks
SPREAD_STATED = frozenset({"metastatic", "metastases", "metastasized", "metastasised", "disseminated", "advanced"})
# Words of a plainly non-medical sentence ("the DFSP acronym in our finance report", "the gist of the
# meeting"): with one of them and no medical word, a condition's name is read as something else.
NON_MEDICAL_WORDS = frozenset(
    """
acronym acronyms finance financial pension pensions company companies business invoice accounting budget
software spreadsheet meeting meetings article essay book novel movie film song lyrics email stock stocks
shares fund funds department army military police government election lecture speech podcast school
scholarship application deadline quarterly fee fees salary tax payroll hr holiday interest rates hamlet
poem chapter summary summarise summarize
""".split()
)
# Words that carry no meaning for ranking claims against a question.
STOPWORDS = frozenset(
    """
a an the and or of in on at to for with by from is are was were be been being do does did can could should
would will shall may might must i me my we our you your he she it its they them their this that these those
what which who whom whose when where why how there here about as if than then so not no yes any some all
have has had having get got please tell know want need also just very much many more most other such into
out up down over under again only own same too s t am dr
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
    # the question's focus: what kind of question (definition, prognosis, dose...) in order of mention, and the
    # entities it names (genotype:pdgfra-d842v, drug:imatinib, modality:surgery, setting:adjuvant)
    types: tuple[str, ...] = ()
    entities: frozenset[str] = frozenset()
    # types named only as the situation ("diagnosed in pregnancy", "after treatment"), listed after the asked one
    context_types: frozenset[str] = frozenset()
    # a named disease we do not cover (Ewing sarcoma, desmoid tumour), refused by name
    exclusion: Exclusion | None = None
    # the question's content words (spelling mapped, typos fixed), for lexical ranking
    words: tuple[str, ...] = ()
    # sites the question names that the condition cannot occur at ("my bad knee" in a GIST question)
    ignored_sites: frozenset[str] = frozenset()
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
            "types": list(self.types),
            "entities": sorted(self.entities),
            "exclusion": self.exclusion.name if self.exclusion else None,
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
    # English words close to a lexicon word (computed at build): never "corrected" into the lexicon word
    english: frozenset[str] = frozenset()
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
        for ekind, entities in lex.entities.items():
            for key, entry in entities.items():
                for term in entry.terms:
                    self._add(term, "entity", f"{ekind}:{key}")
        for term in lex.out_of_scope:
            self._add(term, "out_of_scope", term)
        self.exclusions = {ex.id: ex for ex in lex.exclusions}
        for ex in lex.exclusions:
            for term in ex.terms:
                self._add(term, "exclusion", ex.id)
        self.weak_intents = {k for k, v in lex.intents.items() if v.weak}
        self.drug_words = {
            self._spell(term.lower()): f"drug:{key}"
            for key, entry in lex.entities.get("drug", {}).items()
            for term in entry.terms
            if " " not in term
        }
        # a term that is also an ordinary word ("the gist of it") names its condition only in capitals or
        # beside another medical word
        self.ambiguous = {t: c for c, entry in lex.conditions.items() for t in entry.ambiguous}

    def _add(self, term: str, kind: str, key: str) -> None:
        toks = tuple(self._spell(t) for t in TOKEN.findall(term.lower().replace("'s", "")))
        if not toks:
            return
        slot = self.phrases.setdefault(toks, [])
        if (kind, key) not in slot:
            slot.append((kind, key))
        self.max_len = max(self.max_len, len(toks))

    def _spell(self, tok: str) -> str:
        return self.spelling.get(tok, tok)

    def _names_intent(self, text: str, name: str) -> bool:
        """Whether a text holds one of an intent's phrases, word for word."""
        toks = [self._normal(t) for t in TOKEN.findall(text)]
        grams = {tuple(toks[i : i + n]) for n in range(1, self.max_len + 1) for i in range(len(toks) - n + 1)}
        return any((("intent", name) in self.phrases.get(g, ())) for g in grams)

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

    def _normal(self, tok: str) -> str:
        """A word as the phrase table knows it: possessive dropped ("ewing's"), a plural folded onto a known
        singular ("amputations"), British spelling mapped."""
        if tok.endswith("'s"):
            tok = tok[:-2]
        tok = self._spell(tok)
        if tok not in self.known and len(tok) > 4 and tok.endswith("s") and tok[:-1] in self.known:
            return tok[:-1]
        return tok

    def _correct(self, tok: str) -> str:
        if len(tok) < 5 or tok in self.known or tok in COMMON or tok in self.english or not tok.isalpha():
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

    def _condition_words(self, text: str, toks: list[str], found: dict[str, list[str]], loose: set[str]) -> list[str]:
        """The conditions named, leaving out one named only by an ambiguous term ("gist", "sts") written in
        lower case in a sentence with no other medical word: "the gist of the meeting" is not a tumour."""
        conditions = found.get("condition", [])
        if not conditions:
            return conditions
        medical = any(found.get(k) for k in ("subtype", "population", "entity", "topic", "exclusion"))
        medical = medical or any(i not in self.weak_intents for i in found.get("intent", []))
        strong = medical or _medical(toks) or any(found.get(k) for k in ("subtype", "entity"))
        if loose and NON_MEDICAL_WORDS & set(toks) and not (MEDICAL_WORDS & set(toks) or found.get("entity")):
            return [c for c in conditions if c not in loose]  # "DFSP in our pension plan" is not a tumour
        medical = strong
        keep = []
        for cond in conditions:
            names = [t for t, c in self.ambiguous.items() if c == cond]
            capitals = any(re.search(rf"\b{re.escape(n.upper())}S?\b", text) for n in names)
            # "the gist of what the surgeon said": a lower-case name followed by "of" is the ordinary word
            ordinary = any(re.search(rf"\b{re.escape(n)} of\b", text) for n in names)
            if cond in loose and ordinary and not capitals:
                continue
            if cond not in loose or capitals or medical:  # an unambiguous name, or GIST in capitals
                keep.append(cond)
        return keep

    def _parse(self, text: str, audience: str, wanted: bool | None) -> Query:
        if wanted is None and audience != "clinician":
            wanted = False
        if _is_foreign(text):
            return Query(
                text=text, audience=audience, foreign_script=True, facts=self._facts(text, None, wanted is True)
            )
        low = text.lower().replace("\u2019", "'")
        notes: list[str] = []
        stage = None
        m = question_stage(low)
        if m:
            stage = str(m.group)
            low = low[: m.start] + " " + low[m.end :]
        raw = [self._normal(t) for t in TOKEN.findall(low)]
        corrections = []
        toks = []
        for t in raw:
            c = self._correct(t)
            if c != t:
                corrections.append((t, c))
            toks.append(c)
        found: dict[str, list[str]] = {}
        named: set[str] = set()  # conditions named by a term that is not ambiguous
        loose: set[str] = set()  # conditions named only by an ambiguous term so far
        first_at: dict[tuple[str, str], int] = {}  # where each (kind, key) is first named
        for at, phrase, hits in phrase_matches(toks, self.phrases, self.max_len):
            for kind, key in hits:
                first_at.setdefault((kind, key), at)
                bucket = found.setdefault(kind, [])
                if key not in bucket:
                    bucket.append(key)
                if kind == "condition":
                    (loose if len(phrase) == 1 and phrase[0] in self.ambiguous else named).add(key)
            # a topic named inside a longer phrase ("spread to the lymph nodes") is named all the same
            for n in range(len(phrase) - 1, 0, -1):
                for j in range(len(phrase) - n + 1):
                    for kind, key in self.phrases.get(phrase[j : j + n], ()):
                        if kind == "topic" and key not in found.setdefault("topic", []):
                            found["topic"].append(key)
                            first_at.setdefault((kind, key), at + j)
        conditions = self._condition_words(text, toks, found, loose - named)
        if found.get("condition") and not conditions:
            # "the gist of the meeting", "DFSP in our finance report": a name used as an ordinary word
            found.setdefault("out_of_scope", []).append("a non-medical use of the name")
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
            # "is a mesenteric desmoid treated like a GIST?" is about the desmoid: another condition's subtype named
            # before GIST leads
            others = [s for s in subtypes if self.lexicon.subtypes[s].condition != "gist"]
            first_other = min(others, key=lambda s: first_at[("subtype", s)], default=None)
            if first_other and first_at[("subtype", first_other)] < first_at.get(("condition", "gist"), len(toks)):
                condition = self.lexicon.subtypes[first_other].condition
        subtypes = [s for s in subtypes if self.lexicon.subtypes[s].condition == condition]
        exclusion = None
        excluded = found.get("exclusion", [])
        # a named lookalike is refused unless the question also names one of ours by its own name (comparing
        # DFSP with dermatofibroma is a DFSP question); "sarcoma" counts only when it is asked about first ("does
        # immunotherapy work for sarcoma? it works for melanoma"), not inside the lookalike's name ("Ewing sarcoma")
        specific = bool(subtypes) or any(c in ("dfsp", "gist") for c in conditions)
        if excluded and "sts" in conditions and not specific:
            specific = first_at.get(("condition", "sts"), len(toks)) < first_at[("exclusion", excluded[0])]
        if specific and excluded and not subtypes and "comparison" not in found.get("intent", []):
            # "is a mesenteric desmoid treated like a GIST?" is about the desmoid: the lookalike comes first
            # but "reported as a phyllodes tumour, the excision shows DFSP" is about the DFSP: ours is named as
            # itself, not as what the lookalike is compared with
            first = first_at[("exclusion", excluded[0])]
            ours = min((first_at.get(("condition", c), len(toks)) for c in conditions), default=len(toks))
            compared = bool(COMPARED & set(toks[max(0, ours - 3) : ours]))
            specific = ours < first or not compared
        if excluded and not specific:
            exclusion = self.exclusions[excluded[0]]
            condition = None
        populations = set(found.get("population", []))
        populations.discard("any")
        if SPREAD_QUESTION.search(low) and not SPREAD_STATED & set(toks) and stage != "IV":
            populations.discard("metastatic")  # "will it spread?" asks about the risk, for everyone
            if "prognosis" in self.lexicon.intents:
                found.setdefault("intent", []).append("prognosis")
        if stage == "IV":
            populations.add("metastatic")
            notes.append("stage IV is read as metastatic disease (spread beyond the primary site)")
        elif stage and condition == "dfsp":
            notes.append(f"DFSP has no AJCC stage groups; 'stage {stage}' was not used to choose the answer")
        intents = found.get("intent", [])
        if "nature" in self.lexicon.intents and "nature" not in intents and NATURE.search(low):
            intents = ["nature", *intents]
        strong = [x for x in intents if x not in self.weak_intents]
        intents = strong or intents
        entities = set(found.get("entity", []))
        # a drug named inside a longer phrase ("after imatinib" is a setting) is named all the same
        entities |= {self.drug_words[t] for t in toks if t in self.drug_words}
        types: list[str] = []
        for name in intents:
            spec = self.lexicon.intents[name]
            if spec.type not in types:
                types.append(spec.type)
            if spec.entity:
                entities.add(spec.entity)
        # "what side effects does imatinib cause?" asks about side effects, not about what causes the disease
        if "side-effects" in types and "cause" in types:
            types.remove("cause")
            intents = [i for i in intents if self.lexicon.intents[i].type != "cause"]
        # "adjuvant imatinib: how long?" asks about duration: a type named only by a treatment's name (imatinib,
        # surgery) comes after the types the question asks in its own words
        plain = {self.lexicon.intents[n].type for n in intents if not self.lexicon.intents[n].entity}
        types = [t for t in types if t in plain] + [t for t in types if t not in plain]
        # being diagnosed, or treatment, said as the situation ("diagnosed in pregnancy", "late effects of
        # treatment") comes after the type that is asked
        context: set[str] = set()
        for qtype, said, asked in (
            ("diagnosis", DIAGNOSED, DIAGNOSED_ASKED),
            ("treatment", TREATMENT_CONTEXT, None),
            ("staging", GRADE_SAID, None),
        ):
            if qtype not in types or len(types) < 2 or not said.search(low) or (asked and asked.search(low)):
                continue
            rest = said.sub(" ", low)
            if not any(self._names_intent(rest, n) for n in intents if self.lexicon.intents[n].type == qtype):
                types = [t for t in types if t != qtype] + [qtype]
                context.add(qtype)
        # "what is Mohs surgery?", "what is imatinib?": a question about a treatment, not about the condition
        if types == ["definition"] and set(intents) <= self.weak_intents:
            if any(e.startswith(("modality:", "drug:")) for e in entities):
                types = ["treatment", "definition"]
        # the more specific of two genotypes named ("PDGFRA ... D842V") is the focus
        entities = {e for e in entities if not any(o != e and o.startswith(e + "-") for o in entities)}
        sites = set(found.get("site", []))
        ignored: set[str] = set()
        allowed = self.lexicon.conditions[condition].sites if condition else ()
        if allowed and sites - set(allowed):
            ignored = sites - set(allowed)
            sites &= set(allowed)
        words = tuple(t for t in toks if t not in STOPWORDS and len(t) > 1)
        return Query(
            text=text,
            audience=audience,
            condition=condition,
            subtypes=frozenset(subtypes),
            populations=frozenset(populations),
            sites=frozenset(sites),
            intents=tuple(intents),
            topics=frozenset(found.get("topic", [])),
            stage=stage,
            out_of_scope=tuple(found.get("out_of_scope", [])) + ((exclusion.name,) if exclusion else ()),
            notes=tuple(notes),
            corrections=tuple(corrections),
            types=tuple(types),
            context_types=frozenset(context),
            entities=frozenset(entities),
            exclusion=exclusion,
            words=words,
            ignored_sites=frozenset(ignored),
            facts=self._facts(text, condition, wanted, tuple(intents)),
        )


def _medical(toks: list[str]) -> bool:
    """Whether a word of the question is a medical word, allowing one typo ("cancr")."""
    for t in toks:
        if t in MEDICAL_WORDS:
            return True
        if len(t) >= 5 and any(
            abs(len(t) - len(w)) <= 1 and Levenshtein.distance(t, w, score_cutoff=1) <= 1
            for w in MEDICAL_WORDS
            if len(w) >= 5
        ):
            return True
    return False


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
