"""Compose an Answer value from the selected claims: sections, numbered citations, conflicts, follow-ups."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from oncoguide.engine.numbering import Numbering, Reference
from oncoguide.engine.select import Scored, Selection, focus_items
from oncoguide.engine.understand import Query
from oncoguide.evidence.pictures import IconArray, icon_arrays
from oncoguide.pack.contents import ClaimRec, ConflictRec, Contents
from oncoguide.pack.readability import ZERO, grade_from_counts
from oncoguide.pack.typed import Citation, Lexicon
from oncoguide.pack.typed import Section as SectionSpec
from oncoguide.plain import plain


@dataclass
class Statement:
    text: str
    citations: list[int]
    claim_id: str
    locators: list[dict] = field(default_factory=list)
    kind: str = "claim"  # "claim", or "algorithm" for a step of the matched patient group
    # for patients: the recurrence or response figures the statement quotes, each drawn as 100 people
    figures: list[IconArray] = field(default_factory=list)


@dataclass
class Section:
    id: str
    heading: str
    statements: list[Statement]


@dataclass
class ConflictSide:
    text: str
    citations: list[int]


@dataclass
class Conflict:
    id: str
    topic: str
    summary: str
    sides: list[ConflictSide]
    facet: str = ""
    # the answer's statements (claim ids, in answer order) this disagreement is about: those of its facet that
    # cite one of its sources, else every one of its facet; empty when the answer shows none of its facet
    claims: list[str] = field(default_factory=list)


@dataclass
class Choice:
    """One answer to a clarifying question, and the question re-asked with it."""

    value: str  # the option ("metastatic", "gist")
    label: str  # as a button shows it ("metastatic", "Gastrointestinal stromal tumour (GIST)")
    question: str  # the question to ask instead ("How is DFSP treated? (metastatic)")


@dataclass
class Clarification:
    detail: str
    question: str
    options: list[str]
    choices: list[Choice] = field(default_factory=list)


@dataclass
class Answer:
    question: str
    in_scope: bool
    audience: str
    title: str
    bottom_line: str
    bottom_line_citations: list[int]
    sections: list[Section]
    references: list[Reference]
    conflicts: list[Conflict]
    follow_up_questions: list[str]
    reading_grade: float | None
    disclaimer: str
    message: str = ""
    notes: list[str] = field(default_factory=list)
    clarify: list[Clarification] = field(default_factory=list)
    understood: dict = field(default_factory=dict)
    pack_digest: str = ""
    updated: str = ""  # date the pack's content was last revised
    excerpts: list = field(default_factory=list)  # unreviewed library quotes (library.excerpts), never claims
    # the question's aspect of a covered condition that the pack has no statement on yet ("cause"), or ""
    missing_aspect: str = ""
    # what the question is about that no statement of the answer is ("genotype:ntrk"), for the editors' gaps
    uncovered: list[str] = field(default_factory=list)
    # for patients: the recurrence or response figures the bottom line quotes, each drawn as 100 people
    bottom_line_figures: list[IconArray] = field(default_factory=list)

    def to_dict(self) -> dict:
        return plain(self)

    def statements(self) -> list[Statement]:
        return [st for sec in self.sections for st in sec.statements]


def _text(claim: ClaimRec, audience: str) -> str:
    return claim.patient if audience == "patient" else claim.clinician


def _arrange(scored: list[Scored], contents: Contents, limit: int) -> list[tuple[SectionSpec, list[Scored]]]:
    """Put each claim in its section (tagged sections first), best first, at most `limit` per section."""
    sections = contents.sections
    buckets: dict[str, list[Scored]] = {s.id: [] for s in sections}
    for item in scored:
        if item.home is not None:  # (the index placed each claim in its section once)
            buckets[item.home].append(item)
    out: list[tuple[SectionSpec, list[Scored]]] = []
    for s in sections:
        items = buckets[s.id]
        if not items:
            continue
        best = sorted(items, key=lambda x: (-x.score, x.position))[:limit]
        # statements written for the asked-about patients first; otherwise the writers' order, which
        # reads as an argument rather than a ranking
        best.sort(key=lambda x: (-x.tier, x.position))
        out.append((s, best))
    # the section holding the best statement for the question's type comes first, the others in pack order
    lead = max(scored, key=lambda x: (x.answers_type, x.score), default=None)
    out.sort(key=lambda sec: 0 if lead is not None and any(x.claim.id == lead.claim.id for x in sec[1]) else 1)
    return out


def _title(query: Query, contents: Contents, uncovered: frozenset[str] = frozenset()) -> str:
    lex = contents.lexicon
    if query.condition is None:  # answers are composed only once a condition is known
        raise ValueError("a title needs the question's condition")
    name = lex.conditions[query.condition].name
    # a title never names patients or a subtype the answer has no statement about
    query = replace(
        query,
        subtypes=frozenset(s for s in query.subtypes if f"subtype:{s}" not in uncovered),
        populations=frozenset(p for p in query.populations if f"population:{p}" not in uncovered),
    )
    if query.subtypes:
        labels = [lex.subtypes[s].label for s in sorted(query.subtypes)]
        name = " and ".join(labels)
        if query.condition == "dfsp" and "DFSP" in name:
            name = name.replace("DFSP", "dermatofibrosarcoma protuberans")
    pops = [
        p
        for p in (
            "metastatic",
            "unresectable",
            "locally-advanced",
            "recurrent",
            "margin-positive",
            "localized",
            "children",
            "pregnancy",
        )
        if p in query.populations
    ]
    prefix = ""
    if "metastatic" in pops:
        prefix = "Metastatic (stage IV) " if query.stage == "IV" else "Metastatic "
    elif pops and pops[0] not in ("children", "pregnancy"):
        prefix = lex.populations[pops[0]].label.capitalize() + " "
    if query.sites and query.condition != "dfsp":
        site = lex.sites[sorted(query.sites)[0]].label
        name = f"{site} {name[0].lower()}{name[1:]}"
    head = prefix + name[0].lower() + name[1:] if prefix else name[0].upper() + name[1:]
    suffix = ""
    if "children" in pops:
        suffix = " in children"
    elif "pregnancy" in pops:
        suffix = " in pregnancy"
    intents = [lex.intents[i].label for i in (query.intents or ("overview",))]
    what = intents[0] if len(intents) == 1 else ", ".join(intents[:-1]) + " and " + intents[-1]
    return f"{head}{suffix}: {what}"


def with_choices(clarification: Clarification, query: Query, contents: Contents) -> Clarification:
    """The clarification with one choice per option: the asked question with the option named after it, which
    the question reader understands ("How is DFSP treated? (metastatic)")."""
    lex = contents.lexicon
    choices = []
    for value in clarification.options:
        if clarification.detail == "condition":
            label, term = lex.conditions[value].display, lex.conditions[value].short
        else:
            label = term = lex.populations[value].label
        choices.append(Choice(value, label, f"{query.text.strip()} ({term})"))
    return replace(clarification, choices=choices)


def _clarifications(query: Query, contents: Contents) -> list[Clarification]:
    return [with_choices(c, query, contents) for c in _extent_clarifications(query, contents)]


def _extent_clarifications(query: Query, contents: Contents) -> list[Clarification]:
    asks_treatment = {"treatment", "surgery", "systemic-therapy", "overview"} & set(query.intents or ("overview",))
    # a desmoid tumour does not spread: asking whether it is localized or metastatic would mislead
    apart = any(contents.lexicon.subtypes[s].standalone for s in query.subtypes)
    if asks_treatment and not apart and not (query.populations - {"children", "pregnancy"}):
        if query.condition == "dfsp":
            return [
                Clarification(
                    "extent",
                    "Can the tumour be removed with surgery, or has it spread? The answer below covers each case.",
                    ["localized", "locally-advanced", "unresectable", "metastatic", "recurrent"],
                )
            ]
        if query.condition in ("sts", "gist"):
            return [
                Clarification(
                    "extent",
                    "Is the tumour localized and resectable, or unresectable or "
                    "metastatic? The answer below covers each case.",
                    ["localized", "unresectable", "metastatic", "recurrent"],
                )
            ]
    return []


def _follow_ups(query: Query, covered: set[str], contents: Contents, limit: int = 4) -> list[str]:
    from oncoguide.engine.select import population_fit

    picks: list[tuple[float, int, str]] = []
    for faq in contents.faqs:
        if faq.condition != query.condition or faq.question.lower() == query.text.lower():
            continue
        fit = population_fit(frozenset(faq.populations), query.populations)
        if fit is None or set(faq.facets) <= covered:
            continue
        picks.append((-fit, len(picks), faq.question))
    return [q for _, _, q in sorted(picks)[:limit]]


def abstain(
    query: Query,
    contents: Contents,
    message: str,
    clarify: list[Clarification] | None = None,
    title: str = "Not covered",
) -> Answer:
    texts = contents.texts
    return Answer(
        question=query.text,
        in_scope=False,
        audience=query.audience,
        title=title,
        bottom_line=message,
        bottom_line_citations=[],
        sections=[],
        references=[],
        conflicts=[],
        follow_up_questions=[],
        reading_grade=None,
        disclaimer=texts.disclaimer_patient if query.audience == "patient" else texts.disclaimer_clinician,
        message=message,
        notes=list(query.notes),
        clarify=clarify or [],
        understood=query.to_dict(),
        pack_digest=contents.meta.get("pack_digest", ""),
        updated=texts.updated,
    )


COVERS = "oncoguide covers soft-tissue sarcoma, DFSP and GIST"
COVERS_PATIENT = "This service covers soft-tissue sarcoma, DFSP and GIST"


def excluded(query: Query, contents: Contents) -> Answer:
    """A refusal that names the disease asked about and says why it is not covered."""
    ex = query.exclusion
    assert ex is not None
    patient = query.audience == "patient"
    if patient:
        message = f"{COVERS_PATIENT}. {ex.patient_reason[0].upper()}{ex.patient_reason[1:]}."
    else:
        message = f"{COVERS}; {ex.reason}."
    return abstain(query, contents, message, title=f"Not covered: {ex.name}")


def aspect_missing(query: Query, contents: Contents, missing: tuple[str, ...]) -> Answer:
    """A covered condition asked about an aspect the pack has no statement on: said plainly, not refused and
    not answered with another aspect."""
    lex = contents.lexicon
    assert query.condition is not None
    patient = query.audience == "patient"
    cond = lex.conditions[query.condition]
    labels = " or ".join(
        lex.question_types[t].patient_label if patient else lex.question_types[t].label for t in missing
    )
    # a subtype only its own claims cover (desmoid tumour) is named: the gap is about it, not the condition
    labels += "".join(f" for {lex.subtypes[s].label}" for s in sorted(query.subtypes) if lex.subtypes[s].standalone)
    if patient:
        message = f"This service covers {cond.in_text}, but we do not yet have facts on {labels}."
    else:
        message = f"oncoguide covers {cond.in_text}, but the pack has no statement yet on {labels}."
    answer = abstain(query, contents, message, title=f"{cond.display}: {labels}")
    answer.in_scope = True
    answer.missing_aspect = ",".join(missing)
    answer.follow_up_questions = _follow_ups(query, set(), contents)
    return answer


def _algorithm_section(rec, numbering: Numbering, blocked: frozenset[str] = frozenset()) -> Section:
    """The matched patient group's steps as cited statements. An option for another genotype than the
    tumour's, or naming a drug the pack rules out for this question's focus, is not offered; a step left
    with no option is not recommended."""
    statements = []
    for i, st in enumerate(rec.steps):
        if st.options:
            kept = [
                o
                for o in st.options
                if o.matches is not False and not any(d.lower() in blocked for r in o.regimens for d in r)
            ]
            if not kept:
                continue
            st = replace(st, options=kept)
        tier = "all patients in the group" if st.tier == "all" else "some patients in the group"
        if st.choice:  # an alternative: a patient has this or another step of the same choice, not all of them
            tier = f"one of the alternatives for {st.choice}"
        text = f"{st.name[0].upper()}{st.name[1:]} ({st.timing}; for {tier}"
        text += f"; when {st.applies_when})" if st.applies_when else ")"
        text += f": {st.rationale}"
        for opt in st.options:
            regs = "; or ".join(" + ".join(r) for r in opt.regimens)
            when = f" (when {opt.applies_when})" if opt.applies_when else ""
            text += f" {opt.line.capitalize()} options{when}: {regs}."
        if st.dosing:
            text += f" Dosing: {st.dosing}"
        group = rec.group
        cits = [(c.source, c.locator) for c in group_step_citations(rec, i)]
        nums, locs = numbering.cite(cits)
        statements.append(Statement(text, nums, f"group:{group.id}:step:{i + 1}", locs, kind="algorithm"))
    return Section("algorithm", f"Recommended treatment for this patient group: {rec.group.label}", statements)


def _blocked_drugs(selection: Selection, contents: Contents) -> frozenset[str]:
    """Names of the drugs ruled out for this focus, as regimens spell them (lower case)."""
    drugs = contents.lexicon.entities.get("drug", {})
    names: set[str] = set()
    for r in selection.ruled_out:
        kind, _, key = r.treatment.partition(":")
        if kind == "drug" and key in drugs:
            names.update(t.lower() for t in drugs[key].terms)
    return frozenset(names)


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
# a first sentence this short (in words) is followed by the next one in a bottom line
SHORT_SENTENCE = 10


def lead_sentences(text: str) -> str:
    """The opening of a claim for a bottom line: its first sentence, or two when the first is very short."""
    parts = SENTENCE_END.split(text.strip())
    out = parts[0]
    if len(out.split()) < SHORT_SENTENCE and len(parts) > 1:
        out += " " + parts[1]
    return out


@dataclass(frozen=True)
class Lead:
    text: str
    claims: list[ClaimRec]
    uncovered: frozenset[str]  # focus items no selected claim is about


def focus_label(item: str, lex: Lexicon, condition: str | None = None) -> str:
    """A focus item ("genotype:pdgfra-d842v") as an answer names it ("PDGFRA D842V-mutant GIST")."""
    kind, _, key = item.partition(":")
    if kind == "subtype":
        return lex.subtypes[key].label
    if kind == "population":
        return {"children": "children", "pregnancy": "pregnancy"}.get(key, lex.populations[key].label + " disease")
    if kind == "site":
        return lex.sites[key].label + " tumours"
    term = lex.entities.get(kind, {}).get(key)
    label = term.label if term else key
    if kind == "genotype" and condition:
        return f"{label} {lex.conditions[condition].short}"
    if kind == "setting":
        return f"{label} treatment"
    return label


def _names(text: str, item: str, contents: Contents) -> bool:
    """Whether a text already names a focus item (by any of its terms)."""
    lex = contents.lexicon
    kind, _, key = item.partition(":")
    terms: tuple[str, ...] = ()
    if kind == "subtype" and key in lex.subtypes:
        terms = lex.subtypes[key].terms
    elif kind == "population" and key in lex.populations:
        terms = lex.populations[key].terms
    elif kind in lex.entities and key in lex.entities[kind]:
        terms = lex.entities[kind][key].terms
    # the text's British spellings read as the lexicon's ("tumour" names "tumor")
    low = re.sub(r"[a-z]+", lambda m: lex.spelling.get(m.group(), m.group()), text.lower())
    return any(re.search(rf"(?<![a-z0-9]){re.escape(t.lower())}", low) for t in terms)


# the focus items a bottom line names or says it has nothing on: settings, modalities, sites and the extent of
# disease only order the statements (the title names the extent)
FOCUS_KINDS = ("genotype", "drug", "subtype", "population")
FOCUS_POPULATIONS = frozenset({"children", "pregnancy"})


def _answers(claim: ClaimRec, qtype: str) -> bool:
    """Whether a claim answers a question type; what a subtype is, and which types there are, answer each other."""
    if qtype in claim.answers:
        return True
    return qtype in ("definition", "types") and bool({"definition", "types"} & set(claim.answers))


def _lead(selection: Selection, contents: Contents) -> Lead:
    """The bottom line: one or two statements that answer the question's type for its focus, opened with what
    the pack lacks when no statement is about part of that focus."""
    query = selection.query
    patient = query.audience == "patient"
    # statements about what the question names (its subtype, genotype, drug, children...) come first, then
    # the best scored: "what is a Bednar tumour?" opens with the pigmented-DFSP statement
    wanted = {
        f
        for f in focus_items(query)
        if f.startswith(("subtype:", "genotype:", "drug:")) or f in ("population:children", "population:pregnancy")
    }
    scored = sorted(selection.claims, key=lambda x: (-len(x.focus & wanted), -x.score))
    leads = [x for x in scored if x.can_lead] or scored
    types = [t for t in query.types if t not in selection.missing] or list(query.types)
    # a type named only by a treatment's name ("imatinib" in "imatinib side effects") gets no sentence of its own
    # when the question asks another type in its own words
    lex = contents.lexicon
    plain = {lex.intents[i].type for i in query.intents if not lex.intents[i].entity} - query.context_types
    types = [t for t in types if t in plain] or types
    # a question about a drug or genotype whose only statements on the asked type come from a selected cohort
    # (doxorubicin's heart effects, measured in a trial of advanced sarcoma) is answered by them, since the
    # cohort is named in the statement: the rule keeps such figures from leading answers about other patients
    named_focus = {f for f in wanted if f.startswith(("drug:", "genotype:"))}
    if named_focus and types and not any(x.focus & named_focus and _answers(x.claim, types[0]) for x in leads):
        blocked = {r.treatment for r in selection.ruled_out}
        cohort_leads = [
            x
            for x in scored
            if x.claim.cohort
            and x.focus & named_focus
            and _answers(x.claim, types[0])
            and not (x.claim.entities & blocked and not x.claim.safety)
        ]
        leads = cohort_leads + [x for x in leads if x not in cohort_leads]
    chosen: list[Scored] = []
    for t in types[:2]:
        best = next((x for x in leads if _answers(x.claim, t) and x not in chosen), None)
        if best is not None:
            chosen.append(best)
    if not chosen:
        chosen = [next((x for x in leads if x.claim.key), leads[0])]
    named = {e for e in query.entities if e.startswith(("genotype:", "drug:"))}
    if len(chosen) == 1 and named:
        # one question, one type: a second statement about the named genotype or drug (it may come from a
        # selected cohort, since it does not lead), unless it proposes a ruled-out treatment
        safe = [x for x in scored if x not in chosen and x.claim.entities & named and (x.can_lead or x.claim.cohort)]
        blocked = {r.treatment for r in selection.ruled_out}
        safe = [x for x in safe if not (x.claim.entities & blocked) or x.claim.safety]
        if safe and types and types[0] in safe[0].claim.answers:
            chosen.append(safe[0])
    focus = {
        f
        for f in (
            {e for e in query.entities}
            | {f"subtype:{s}" for s in query.subtypes}
            | {f"population:{p}" for p in query.populations if p in FOCUS_POPULATIONS}
        )
        if f.partition(":")[0] in FOCUS_KINDS
    }
    # modalities named by the question's words ("surgery", "radiotherapy") are its aspect, not a focus to flag
    focus = {f for f in focus if not f.startswith("modality:")}
    # what the statements answering the question's type are about (a D842V trial does not cover D842V side effects)
    # (those answering the type the bottom line leads with: a GIST side-effects answer is not "for NTRK GIST"
    # because an NTRK treatment statement exists)
    answering = [x for x in selection.claims if types and _answers(x.claim, types[0])] or selection.claims
    about = set().union(*(x.focus for x in answering)) if answering else set()
    uncovered = frozenset(f for f in focus if f not in about)
    texts = [lead_sentences(_text(x.claim, query.audience)) for x in chosen]
    text = " ".join(texts)
    cond = lex.conditions[query.condition].in_text if query.condition else ""
    # a population the pack says nothing about for a subtype it covers: what follows applies to that subtype
    covered = sorted(s for s in query.subtypes if f"subtype:{s}" in about)
    if covered:
        cond = lex.subtypes[covered[0]].label
    prefix = ""
    if uncovered:
        names = " or ".join(sorted(focus_label(f, lex, query.condition) for f in uncovered))
        prefix = (
            f"We have no facts just for {names}. Here is what applies to {cond} in general. "
            if patient
            else f"The pack has no statement specific to {names}; what follows applies to {cond} in general. "
        )
    else:
        # name the focus when the lead statement does not
        unnamed = [f for f in sorted(focus) if not _names(text, f, contents)]
        if unnamed:
            prefix = "For " + " and ".join(focus_label(f, lex, query.condition) for f in unnamed) + ": "
    missing = [t for t in query.types if t in selection.missing]
    suffix = ""
    if missing:
        labels = " or ".join(
            lex.question_types[t].patient_label if patient else lex.question_types[t].label for t in missing
        )
        suffix = (
            f" We do not yet have facts on {labels}."
            if patient
            else f" The pack has no statement yet on {labels} for {cond}."
        )
    return Lead(prefix + text + suffix, [x.claim for x in chosen], uncovered)


def concerned(conflict: ConflictRec, shown: list[ClaimRec]) -> list[str]:
    """The shown claims a disagreement is about: those of its facet citing one of its sources, else all of its
    facet (a disagreement on the starting dose concerns the dosing statements)."""
    sources = {c.source for side in conflict.sides for c in side.citations}
    same = [c for c in shown if c.facet == conflict.facet]
    citing = [c for c in same if sources & {source for source, _ in c.citations}]
    return list(dict.fromkeys(c.id for c in citing or same))


def group_step_citations(rec, index: int) -> tuple[Citation, ...]:
    return rec.raw_steps[index].citations


def compose(selection: Selection, contents: Contents, section_limit: int = 6) -> Answer:
    """Selection -> Answer: arranges, numbers and words what was selected; never selects."""
    query = selection.query
    recommendation = selection.group
    texts = contents.texts
    patient = query.audience == "patient"
    if query.foreign_script:
        return abstain(query, contents, texts.not_english, title="Please ask in English")
    if query.condition is None:
        if query.exclusion is not None:
            return excluded(query, contents)
        if query.out_of_scope or not (query.intents or query.topics or query.populations):
            return abstain(query, contents, texts.abstain_patient if patient else texts.abstain)
        clarify = [
            with_choices(Clarification("condition", texts.ask_condition, ["dfsp", "sts", "gist"]), query, contents)
        ]
        return abstain(query, contents, texts.ask_condition, clarify, title="Which condition?")

    scored = selection.claims
    if query.types and set(query.types) <= set(selection.missing):
        return aspect_missing(query, contents, selection.missing)
    if not scored:
        return abstain(query, contents, texts.abstain_patient if patient else texts.abstain)
    arranged = _arrange(scored, contents, section_limit)

    numbering = Numbering(contents)
    lead = _lead(selection, contents)
    bottom = lead.claims
    bl_text = lead.text
    bl_cits: list[int] = []
    for c in bottom:
        for n in numbering.cite(c.citations)[0]:
            if n not in bl_cits:
                bl_cits.append(n)
    in_bottom = {c.id for c in bottom}
    bl_figures: list[IconArray] = []
    for c in bottom if patient else []:
        bl_figures += [f for f in icon_arrays(contents.evidence, c.statistic) if f not in bl_figures]
    quoted_whole = {
        c.id for c in bottom if lead_sentences(_text(c, query.audience)) == _text(c, query.audience).strip()
    }
    blocked = {r.treatment for r in selection.ruled_out}

    sections: list[Section] = []
    if recommendation is not None and recommendation.group is not None and not patient:
        sections.append(_algorithm_section(recommendation, numbering, _blocked_drugs(selection, contents)))
    counts = ZERO
    for c in bottom:
        counts += c.patient_counts if patient else c.clinician_counts
    covered: set[str] = set()
    for spec, items in arranged:
        # a claim proposing a treatment the pack rules out for this focus is not shown at all
        items = [x for x in items if x.can_lead or not (x.claim.entities & blocked) or x.claim.safety]
        # a statement the bottom line quoted whole is not repeated; one it opened with is shown in full
        shown = [x for x in items if x.claim.id not in quoted_whole] or items
        if not shown:
            continue
        statements = []
        for item in shown:
            c = item.claim
            nums, locs = numbering.cite(c.citations)
            figures = icon_arrays(contents.evidence, c.statistic) if patient else []
            statements.append(Statement(_text(c, query.audience), nums, c.id, locs, figures=figures))
            covered.add(c.facet)
            if c.id not in in_bottom:
                counts += c.patient_counts if patient else c.clinician_counts
        sections.append(Section(spec.id, spec.patient_heading if patient else spec.heading, statements))

    conflicts = []
    on_page = [c for c in bottom if c.id in quoted_whole] + [
        contents.claims[st.claim_id] for sec in sections for st in sec.statements if st.claim_id in contents.claims
    ]
    for cf in selection.conflicts:
        sides = []
        for side in cf.sides:
            nums, _ = numbering.cite([(x.source, x.locator) for x in side.citations])
            sides.append(ConflictSide(side.patient if patient else side.position, nums))
        summary = cf.patient if patient else cf.clinician
        conflicts.append(Conflict(cf.id, cf.topic, summary, sides, cf.facet, concerned(cf, on_page)))

    return Answer(
        question=query.text,
        in_scope=True,
        audience=query.audience,
        title=_title(query, contents, lead.uncovered),
        bottom_line=bl_text,
        bottom_line_citations=bl_cits,
        sections=sections,
        references=numbering.references(),
        conflicts=conflicts,
        follow_up_questions=_follow_ups(query, covered, contents),
        reading_grade=grade_from_counts(counts),
        disclaimer=texts.disclaimer_patient if patient else texts.disclaimer_clinician,
        notes=list(query.notes),
        clarify=_clarifications(query, contents),
        understood=query.to_dict(),
        pack_digest=contents.meta.get("pack_digest", ""),
        updated=texts.updated,
        missing_aspect=",".join(selection.missing),
        uncovered=sorted(lead.uncovered),
        bottom_line_figures=bl_figures,
    )
