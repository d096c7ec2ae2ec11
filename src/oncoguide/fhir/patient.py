"""A patient's FHIR record (a Bundle, or CDS Hooks prefetch) read as the facts of the treatment algorithm.

Only coded facts are taken: the condition from Condition.code (SNOMED CT, ICD-10, ICD-O-3 morphology),
the primary site from ICD-10 / ICD-O-3 topography codes or the words of Condition.bodySite, spread
from secondary-neoplasm Conditions and TNM / stage-group Observations (LOINC), recurrence from
Condition.clinicalStatus, and the tumour genotype from genomic Observations. The codes and what they
mean live in the pack (algorithm/codes.yaml), each with where it was checked. Everything taken is
reported back with the resource it came from; a record that cannot be read is refused with the path
of what is wrong, never guessed at.

Reads FHIR R4 and R5 alike: only elements that are the same in both are used.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

from oncoguide.algorithm.stage import record_stage, stage_code, tnm_categories
from oncoguide.algorithm.text import TOKEN, longest_matches
from oncoguide.pack.typed import CodedFact, CodeSpec

MAX_RESOURCES = 2000
SYSTEM_NAMES = {
    "snomed": "SNOMED CT",
    "icd10": "ICD-10",
    "icd10cm": "ICD-10-CM",
    "icdo3": "ICD-O-3",
    "loinc": "LOINC",
}  # codes.yaml's short names, as shown to people
SKIPPED_CLINICAL = {"inactive", "remission", "resolved"}
SKIPPED_VERIFICATION = {"refuted", "entered-in-error", "unconfirmed", "provisional", "differential"}
RECURRENT_CLINICAL = {"recurrence", "relapse"}
ANY_SPREAD = {"regional-nodes", "oligometastatic", "disseminated"}
DISTANT = {"oligometastatic", "disseminated"}
NEGATIVE = re.compile(
    r"\b(not detected|negative|no (?:pathogenic )?(?:mutation|variant|fusion)s?|absent|"
    r"wild[- ]?type|normal)\b",
    re.I,
)


class FhirInputError(ValueError):
    """The FHIR input cannot be read; the message names where and what is wrong."""


@dataclass
class Derived:
    resource: str
    fact: str
    value: str
    because: str


@dataclass
class PatientFacts:
    """What one coded condition of the record, with the patient's other findings, says."""

    condition: str
    facts: dict[str, set[str]]
    genotype: str | None
    derived: list[Derived]
    notes: list[str] = field(default_factory=list)


@dataclass
class Reading:
    patients: list[PatientFacts]
    ignored: list[str]

    def only(self) -> PatientFacts:
        """The one condition the record describes (for `recommend`), or a message saying why not."""
        if not self.patients:
            why = "; ".join(self.ignored[:5]) or "it holds no Condition resource"
            raise FhirInputError(
                "the FHIR record holds no Condition coded as DFSP, soft-tissue sarcoma or "
                f"GIST that is active and confirmed ({why})"
            )
        if len(self.patients) > 1:
            named = ", ".join(p.condition for p in self.patients)
            raise FhirInputError(f"the FHIR record describes more than one condition ({named}); send one")
        return self.patients[0]


# --- shape checks: every message names the path --------------------------------------------------


def _obj(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise FhirInputError(f"{where}: must be a JSON object")
    return value


def _list(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FhirInputError(f"{where}: must be a JSON array")
    return value


def _str(value, where: str, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise FhirInputError(f"{where}: must be a non-empty string" if required else f"{where}: must be a string")
    return value


def _codings(concept, where: str) -> tuple[list[tuple[str, str, str]], str]:
    """(system, code, display) of a CodeableConcept, and its words (text and displays)."""
    if concept is None:
        return [], ""
    concept = _obj(concept, where)
    out, words = [], [_str(concept.get("text"), f"{where}.text") or ""]
    for i, c in enumerate(_list(concept.get("coding"), f"{where}.coding")):
        c = _obj(c, f"{where}.coding[{i}]")
        system = _str(c.get("system"), f"{where}.coding[{i}].system") or ""
        code = _str(c.get("code"), f"{where}.coding[{i}].code") or ""
        display = _str(c.get("display"), f"{where}.coding[{i}].display") or ""
        out.append((system, code.strip(), display))
        words.append(display)
    return out, " ".join(w for w in words if w)


def resources_of(value, where: str = "bundle") -> list[tuple[str, dict]]:
    """The resources of a Bundle (or a single resource), each with a label naming it for messages."""
    value = _obj(value, where)
    rtype = _str(value.get("resourceType"), f"{where}.resourceType", required=True)
    if rtype == "OperationOutcome":
        raise FhirInputError(f"{where}: is an OperationOutcome (the record could not be fetched), not data")
    if rtype != "Bundle":
        return [(_label(value, where), value)]
    entries = _list(value.get("entry"), f"{where}.entry")
    if len(entries) > MAX_RESOURCES:
        raise FhirInputError(f"{where}.entry: {len(entries)} entries; at most {MAX_RESOURCES} are read")
    out = []
    for i, entry in enumerate(entries):
        entry = _obj(entry, f"{where}.entry[{i}]")
        resource = entry.get("resource")
        if resource is None:
            continue  # a deleted entry of a history or a search outcome: nothing to read
        resource = _obj(resource, f"{where}.entry[{i}].resource")
        _str(resource.get("resourceType"), f"{where}.entry[{i}].resource.resourceType", required=True)
        if resource["resourceType"] == "Bundle":
            out.extend(resources_of(resource, f"{where}.entry[{i}].resource"))
        else:
            out.append((_label(resource, f"{where}.entry[{i}]"), resource))
    return out


def _label(resource: dict, where: str) -> str:
    rid = resource.get("id")
    return f"{resource['resourceType']}/{rid}" if isinstance(rid, str) and rid else where


def subject_of(resource: dict, label: str) -> str | None:
    subject = resource.get("subject")
    if subject is None:
        return None
    return _str(_obj(subject, f"{label}.subject").get("reference"), f"{label}.subject.reference")


# --- reading -----------------------------------------------------------------------------------------


class CodeBook:
    """The pack's codes, indexed for lookup by system URI."""

    def __init__(self, spec: CodeSpec | None, algorithm):
        self.algorithm = algorithm
        spec = spec or CodeSpec({}, (), ())
        self.systems = spec.systems
        self.names = {uri: name for name, uri in self.systems.items()}
        self.exact: dict[tuple[str, str], CodedFact] = {}
        self.prefixes: dict[str, list[CodedFact]] = {}
        for entry in spec.conditions:
            for name in entry.system:
                uri = self.systems[name]
                if entry.match == "prefix":
                    self.prefixes.setdefault(uri, []).append(entry)
                else:
                    self.exact[(uri, entry.code.upper())] = entry
        for entries in self.prefixes.values():
            entries.sort(key=lambda e: -len(e.code))  # longest prefix first: C49.A before C49
        self.observations = {(self.systems[o.system], o.code): o for o in spec.observations}
        self.site_phrases = {k: [(d, v) for d, v in vals if d == "site"] for k, vals in algorithm.phrases.items()}

    def lookup(self, system: str, code: str) -> CodedFact | None:
        hit = self.exact.get((system, code.upper()))
        if hit is None:
            hit = next((e for e in self.prefixes.get(system, []) if code.upper().startswith(e.code.upper())), None)
        return hit

    def system_name(self, uri: str) -> str:
        return SYSTEM_NAMES.get(self.names.get(uri, ""), uri)

    def site_from_words(self, words: str) -> set[str] | None:
        hits = [
            vals
            for _dim, vals in longest_matches(
                TOKEN.findall(words.lower()), {k: v for k, v in self.site_phrases.items() if v}, self.algorithm.max_len
            )
        ]
        return set(hits[0]) if len(hits) == 1 else None


@dataclass
class _Found:
    conditions: list[tuple[str, str, dict[str, set[str]], list[Derived]]] = field(default_factory=list)
    spread: list[tuple[set[str], Derived, str]] = field(default_factory=list)  # values, why, organ code
    stage: list[tuple[str, Derived]] = field(default_factory=list)
    tnm: dict[str, list[tuple[str, Derived]]] = field(default_factory=dict)
    genotypes: list[tuple[str, Derived]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def read_record(resources: list[tuple[str, dict]], book: CodeBook, patient_id: str | None = None) -> Reading:
    """The patient-group facts of a patient's Conditions and Observations."""
    subjects = set()
    found = _Found()
    for label, res in resources:
        subject = subject_of(res, label)
        if patient_id is not None and subject is not None and subject not in (f"Patient/{patient_id}", patient_id):
            raise FhirInputError(f"{label}.subject: is {subject}, not the patient in context (Patient/{patient_id})")
        if res["resourceType"] == "Condition":
            if subject:
                subjects.add(subject)
            _read_condition(label, res, book, found)
        elif res["resourceType"] == "Observation":
            if subject:
                subjects.add(subject)
            _read_observation(label, res, book, found)
    if len(subjects) > 1:
        raise FhirInputError(
            f"the record is about more than one patient ({', '.join(sorted(subjects))}); send one patient's resources"
        )
    return Reading(
        [_combine(label, cond, facts, derived, found) for label, cond, facts, derived in found.conditions],
        found.ignored,
    )


def _status(res: dict, label: str, name: str) -> str | None:
    codes, _ = _codings(res.get(name), f"{label}.{name}")
    return codes[0][1] if codes else None


def _read_condition(label: str, res: dict, book: CodeBook, found: _Found) -> None:
    clinical = _status(res, label, "clinicalStatus")
    verification = _status(res, label, "verificationStatus")
    codes, words = _codings(res.get("code"), f"{label}.code")
    if clinical in SKIPPED_CLINICAL or verification in SKIPPED_VERIFICATION:
        state = clinical if clinical in SKIPPED_CLINICAL else verification
        found.ignored.append(f"{label}: {words or 'condition'} is {state}")
        return
    facts: dict[str, set[str]] = {}
    derived: list[Derived] = []
    spread: tuple[set[str], Derived, str] | None = None
    named: dict[bool, set[str]] = {True: set(), False: set()}  # by specificity of the code
    for system, code, _display in codes:
        hit = book.lookup(system, code)
        if hit is None:
            continue
        why = f"{book.system_name(system)} {code} ({hit.display})"
        for fact, value in hit.sets.items():
            values = set(value.split("|"))
            if fact == "condition":
                named[hit.specific].add(value)
            elif fact == "metastases":
                values = values & spread[0] if spread else values
                spread = (values, Derived(label, fact, "|".join(sorted(values)), why), code[:5].upper())
            else:
                if not facts.get(fact, values) & values:
                    raise FhirInputError(
                        f"{label}.code: the codes give {fact} {'/'.join(sorted(facts[fact]))} "
                        f"and {value.replace('|', '/')}"
                    )
                facts[fact] = facts.get(fact, values) & values
            derived.append(Derived(label, fact, value, why))
    for i, site in enumerate(_list(res.get("bodySite"), f"{label}.bodySite")):
        site_codes, site_words = _codings(site, f"{label}.bodySite[{i}]")
        for system, code, _display in site_codes:
            hit = book.lookup(system, code)
            if hit and "site" in hit.sets and set(hit.sets) <= {"site"}:
                facts["site"] = set(hit.sets["site"].split("|"))
                derived.append(
                    Derived(label, "site", hit.sets["site"], f"{book.system_name(system)} {code} ({hit.display})")
                )
        if "site" not in facts and site_words:
            site_values = book.site_from_words(site_words)
            if site_values:
                facts["site"] = site_values
                derived.append(Derived(label, "site", "|".join(sorted(site_values)), f"body site '{site_words}'"))
    for j, stage in enumerate(_list(res.get("stage"), f"{label}.stage")):
        group = _stage_value(_obj(stage, f"{label}.stage[{j}]").get("summary"), f"{label}.stage[{j}].summary")
        if group:
            found.stage.append((group, Derived(label, "stage", group, "Condition.stage.summary")))
    if spread is not None:
        found.spread.append(spread)
    # a histology code (DFSP, GIST) says more than a site-of-origin code (ICD-10 C49: soft tissue)
    kinds = named[True] or named[False]
    if len(kinds) > 1:
        raise FhirInputError(f"{label}.code: codes for different conditions ({', '.join(sorted(kinds))})")
    condition = next(iter(kinds), None)
    derived = [d for d in derived if d.fact != "condition" or d.value == condition]
    if condition is None:
        if spread is None and codes:
            shown = ", ".join(f"{book.system_name(s)} {c}" for s, c, _ in codes[:3])
            found.ignored.append(
                f"{label}: {words or 'condition'} ({shown}) has no code oncoguide reads as "
                "DFSP, soft-tissue sarcoma or GIST"
            )
        return
    if clinical in RECURRENT_CLINICAL:
        facts["recurrence"] = {"recurrent"}
        derived.append(Derived(label, "recurrence", "recurrent", f"clinicalStatus {clinical}"))
    found.conditions.append((label, condition, facts, derived))


def _stage_value(concept, where: str) -> str | None:
    codes, words = _codings(concept, where)
    mention = record_stage(words)
    if mention:
        return str(mention.group)
    return next((str(group) for _system, code, _display in codes if (group := stage_code(code))), None)


def _value_words(res: dict, label: str) -> tuple[list[tuple[str, str, str]], str]:
    codes, words = _codings(res.get("valueCodeableConcept"), f"{label}.valueCodeableConcept")
    text = _str(res.get("valueString"), f"{label}.valueString") or ""
    parts = [words, text]
    for i, comp in enumerate(_list(res.get("component"), f"{label}.component")):
        comp = _obj(comp, f"{label}.component[{i}]")
        _, cwords = _codings(comp.get("code"), f"{label}.component[{i}].code")
        vcodes, vwords = _codings(comp.get("valueCodeableConcept"), f"{label}.component[{i}].valueCodeableConcept")
        vtext = _str(comp.get("valueString"), f"{label}.component[{i}].valueString") or ""
        parts += [cwords, vwords, vtext]
        codes += vcodes
    return codes, " ".join(p for p in parts if p)


def _read_observation(label: str, res: dict, book: CodeBook, found: _Found) -> None:
    status = _str(res.get("status"), f"{label}.status")
    codes, words = _codings(res.get("code"), f"{label}.code")
    if status in ("entered-in-error", "cancelled", "registered"):
        found.ignored.append(f"{label}: status {status}")
        return
    kind = next((book.observations[(s, c)] for s, c, _ in codes if (s, c) in book.observations), None)
    if kind is None:
        return
    value_codes, value_words = _value_words(res, label)
    why = f"{kind.display} ({book.system_name(book.systems[kind.system])} {kind.code})"
    if kind.reads == "stage":
        group = _stage_value(res.get("valueCodeableConcept"), f"{label}.valueCodeableConcept")
        if group:
            found.stage.append((group, Derived(label, "stage", group, why)))
    elif kind.reads in ("n", "m"):
        for text in [c for _, c, _ in value_codes] + [value_words]:
            category = next((c for c in tnm_categories(text) if c.kind == kind.reads), None)
            if category:
                value = category.value
                found.tnm.setdefault(kind.reads, []).append(
                    (value, Derived(label, kind.reads.upper(), f"{kind.reads.upper()}{value}", why))
                )
                break
    else:
        text = f"{words} {value_words}"
        if NEGATIVE.search(value_words):
            found.ignored.append(f"{label}: {value_words} (no genotype taken from a negative result)")
            return
        genotype = book.algorithm.genotype_from_text(text)
        if genotype:
            found.genotypes.append((genotype, Derived(label, "mutation", genotype, f"{why}: {value_words}")))


def _combine(
    label: str, condition: str, facts: dict[str, set[str]], derived: list[Derived], found: _Found
) -> PatientFacts:
    """One condition's facts with the patient-level findings (spread, stage, TNM, genotype)."""
    facts = {k: set(v) for k, v in facts.items()}
    derived, notes = list(derived), []

    def narrow(fact: str, values: set[str], why: Derived) -> None:
        merged = facts.get(fact, values) & values
        if not merged:
            shown = "/".join(sorted(facts[fact]))
            raise FhirInputError(
                f"{why.resource}: {why.because} gives {fact} {why.value}, but another resource gives {shown}"
            )
        facts[fact] = merged
        derived.append(why)

    stages = {s for s, _ in found.stage}
    if len(stages) > 1:
        raise FhirInputError(f"the record gives more than one stage group ({', '.join(sorted(stages))})")
    for group, why in found.stage[:1]:
        facts["stage"] = {group}
        derived.append(why)
        # AJCC 8th edition (trunk and extremity): stage IV is N1 or M1; stages I-III are N0 M0
        narrow(
            "metastases",
            ANY_SPREAD if group == "IV" else {"none"},
            Derived(
                why.resource, "metastases", "present" if group == "IV" else "none", f"stage {group} (AJCC 8th edition)"
            ),
        )
    for value, why in found.tnm.get("m", []):
        if value in ("1",):
            narrow("metastases", DISTANT, Derived(why.resource, "metastases", "distant", f"M1: {why.because}"))
        elif value == "0":
            narrow(
                "metastases",
                {"none", "regional-nodes"},
                Derived(why.resource, "metastases", "no distant", f"M0: {why.because}"),
            )
    for value, why in found.tnm.get("n", []):
        if value == "1":
            narrow("metastases", ANY_SPREAD, Derived(why.resource, "metastases", "nodal", f"N1: {why.because}"))
        elif value == "0":
            narrow(
                "metastases",
                {"none", "oligometastatic", "disseminated"},
                Derived(why.resource, "metastases", "no nodal", f"N0: {why.because}"),
            )
    distant_organs = {organ for values, _, organ in found.spread if values <= DISTANT}
    for values, why, _organ in found.spread:
        narrow("metastases", values, why)
    if len(distant_organs) > 1 and facts.get("metastases", set()) & {"disseminated"}:
        narrow(
            "metastases",
            {"disseminated"},
            Derived(
                label,
                "metastases",
                "disseminated",
                f"secondary neoplasms coded in {len(distant_organs)} different organs",
            ),
        )
    genotypes = {g for g, _ in found.genotypes}
    genotype = None
    if len(genotypes) == 1:
        genotype = found.genotypes[0][0]
        derived.append(found.genotypes[0][1])
    elif genotypes:
        notes.append(f"the Observations name more than one genotype ({', '.join(sorted(genotypes))}); none was used")
    return PatientFacts(condition, facts, genotype, derived, notes)


# --- a knowledge base's view of FHIR input (the KnowledgeBase itself knows nothing of FHIR) ------------

_codebooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def codebook(kb) -> CodeBook:
    """The pack's clinical codes (SNOMED CT, ICD-10, ICD-O-3, LOINC), read from FHIR records; one per kb."""
    book = _codebooks.get(kb)
    if book is None:
        book = _codebooks[kb] = CodeBook(kb.contents.algorithm.codes, kb.algorithm)
    return book


def read_fhir(kb, record: dict, patient_id: str | None = None, where: str = "bundle") -> Reading:
    """The patient-group facts of a FHIR Bundle (or one resource): one entry per coded condition.
    Raises FhirInputError naming the path of anything that cannot be read."""
    return read_record(resources_of(record, where), codebook(kb), patient_id)


def recommend_fhir(kb, record: dict):
    """`kb.recommend` for the one condition a FHIR Bundle describes; the result lists what was read
    from which resource. Raises FhirInputError or CriteriaError with the reason."""
    patient = read_fhir(kb, record).only()
    rec = kb.algorithm.recommend(patient.condition, patient.facts, patient.notes, patient.genotype)
    rec.derived = patient.derived
    return rec
