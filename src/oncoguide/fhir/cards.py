"""CDS Hooks cards (specification 2.0) from a patient-group recommendation.

A card says which patient group the coded record fits and what the algorithm recommends for it, in
GitHub-flavoured Markdown with numbered citations and the reference list, and links to the full
answer, the patient group and this patient's recommendation. When one fact is missing it says which
and what would decide; when the coded facts contradict each other it warns.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from urllib.parse import urlencode

from oncoguide.engine.references import reference_parts
from oncoguide.engine.render import cite_marks
from oncoguide.fhir.export import CANONICAL_BASE
from oncoguide.fhir.patient import PatientFacts
from oncoguide.pack.typed import ConditionTerms

# The lexicon's conditions (kb.contents.lexicon.conditions): a card names its condition as a sentence does
Conditions = Mapping[str, ConditionTerms]

SUMMARY_MAX = 139  # the specification: a summary of fewer than 140 characters
SOURCE_LABEL = "oncoguide treatment algorithm"
OVERRIDE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/cds-override-reason"
OVERRIDE_REASONS = [
    ("not-applicable", "Does not apply to this patient"),
    ("record-out-of-date", "The coded record is wrong or out of date"),
    ("specialist-care", "Already decided by a sarcoma multidisciplinary team"),
    ("disagree", "Disagree with the recommendation"),
]
MARKUP = set("\\`*_[]<>|~")  # characters that start inline Markdown or HTML
TIER_WORDS = {"all": "all patients in the group", "some": "some patients in the group"}


def shorten(text: str, limit: int = SUMMARY_MAX) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def md(text: str) -> str:
    """Text set into Markdown without being read as markup (the record's own words included)."""
    return "".join("\\" + ch if ch in MARKUP else ch for ch in text)


def card_question(rec, conditions: Conditions) -> str:
    """The free-text question whose answer article covers this patient group."""
    name = conditions[rec.condition].in_text
    label = rec.group.label if rec.group else ""
    head, _, rest = label.partition(": ")
    if head.lower() == rec.condition:  # "DFSP: metastatic ..." after the condition's name: drop "DFSP"
        label = rest
    # clauses saying what the group is not ("no metastases", "or stage IV ... (N1 M0)") would be read
    # as asking about metastatic disease
    label = ", ".join(p for p in label.split(", ") if not p.startswith("no ") and "(N1 M0)" not in p)
    return f"What is the treatment of {name}: {label}?" if label else f"What is the treatment of {name}?"


def finder_url(base: str, patient: PatientFacts) -> str:
    params = {"condition": patient.condition}
    params.update({k: "|".join(sorted(v)) for k, v in patient.facts.items()})
    if patient.genotype:
        params["mutation"] = patient.genotype
    return f"{base}/algorithm/find?{urlencode(params)}"


def _links(base: str, patient: PatientFacts, rec=None, question: str = "") -> list[dict]:
    links = []
    if rec is not None and rec.group is not None:
        links.append(
            {
                "label": "Full answer (oncoguide)",
                "type": "absolute",
                "url": f"{base}/ask?{urlencode({'question': question})}",
            }
        )
        links.append(
            {
                "label": f"Patient group: {rec.group.label}",
                "type": "absolute",
                "url": f"{base}/algorithm/groups/{rec.group.id}",
            }
        )
    links.append(
        {"label": "This patient's recommendation in full", "type": "absolute", "url": finder_url(base, patient)}
    )
    return links


def _from_record(patient: PatientFacts) -> list[str]:
    lines = ["**Read from the record**", ""]
    for d in patient.derived:
        lines.append(f"- {md(d.fact)} {md(d.value.replace('|', ' or '))}: {md(d.because)} ({md(d.resource)})")
    return lines


def _card(
    base: str, patient: PatientFacts, summary: str, indicator: str, detail: list[str], rec=None, question: str = ""
) -> dict:
    return {
        "uuid": str(uuid.uuid4()),
        "summary": shorten(summary),
        "indicator": indicator,
        "detail": "\n".join(detail).strip() + "\n",
        "source": {"label": SOURCE_LABEL, "url": f"{base}/algorithm/{patient.condition}"},
        "overrideReasons": [{"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in OVERRIDE_REASONS],
        "links": _links(base, patient, rec, question),
    }


def group_card(base: str, rec, patient: PatientFacts, conditions: Conditions) -> dict | None:
    """The card for one condition of the record, or None when no patient group could apply."""
    name = conditions[rec.condition].in_text
    if rec.group is not None:
        return _card(
            base,
            patient,
            f"{rec.group.label}: {len(rec.steps)} recommended steps, with cited sources",
            "info",
            _group_detail(rec, patient),
            rec,
            card_question(rec, conditions),
        )
    if rec.candidates and rec.missing:
        asks = ", ".join(m.dimension for m in rec.missing)
        detail = [
            f"The coded record fits {len(rec.candidates)} patient groups of {md(name)}; "
            "one more fact decides between them.",
            "",
        ]
        detail += [f"- **{md(m.question)}** ({md(', '.join(m.values))})" for m in rec.missing]
        detail += ["", "**Candidate groups**", ""] + [f"- {md(g.label)}" for g in rec.candidates]
        detail += [""] + _from_record(patient) + _notes(rec, patient)
        return _card(
            base, patient, f"{name.capitalize()}: record the {asks} to choose the treatment group", "info", detail, rec
        )
    return None


def contradiction_card(base: str, message: str, patient: PatientFacts, conditions: Conditions) -> dict:
    detail = [f"oncoguide could not choose a patient group: {md(message)}.", ""] + _from_record(patient)
    name = conditions[patient.condition].in_text
    return _card(base, patient, f"{name.capitalize()}: the coded record is contradictory; check it", "warning", detail)


def _notes(rec, patient: PatientFacts) -> list[str]:
    notes = list(rec.notes) + patient.notes
    return ["", *[f"_Note: {md(n)}._" for n in notes]] if notes else []


def _group_detail(rec, patient: PatientFacts) -> list[str]:
    g = rec.group
    out = [f"**{md(g.label)}**: {md(g.definition)}", ""]
    out += _from_record(patient)
    if rec.assumed:
        out += [
            "",
            "Assumed because the record does not say: "
            + ", ".join(f"{md(k)} {md(v)}" for k, v in rec.assumed.items())
            + ".",
        ]
    out += _notes(rec, patient)
    out += ["", "**Recommended steps**", ""]
    for i, st in enumerate(rec.steps, 1):
        out.append(f"{i}. **{md(st.name)}** ({TIER_WORDS[st.tier]}; {md(st.timing)}) {cite_marks(st.citations)}")
        if st.applies_when:
            out.append(f"   When: {md(st.applies_when)}")
        out.append(f"   {md(st.rationale)}")
        for opt in st.options:
            regs = " or ".join(" + ".join(r) for r in opt.regimens)
            when = f" (when {opt.applies_when})" if opt.applies_when else ""
            fit = {True: " (fits the recorded genotype)", False: " (for another genotype)"}.get(opt.matches, "")
            out.append(f"   - {md(opt.line.capitalize())} options{md(when)}: {md(regs)}{md(fit)}")
        if st.dosing:
            out.append(f"   Dosing: {md(st.dosing)}")
    if rec.references:
        out += ["", "**References**", ""]
        for r in rec.references:
            out.append(f"{r.n}. {reference_parts(r).markdown(md)}")
    return out
