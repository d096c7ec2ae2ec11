"""Compose an Answer value from the selected claims: sections, numbered citations, conflicts, follow-ups."""

from __future__ import annotations

from dataclasses import dataclass, field

from oncoguide.engine.numbering import Numbering, Reference
from oncoguide.engine.select import Scored, Selection
from oncoguide.engine.understand import Query
from oncoguide.pack.contents import ClaimRec, Contents
from oncoguide.pack.readability import ZERO, grade_from_counts
from oncoguide.pack.typed import Citation
from oncoguide.pack.typed import Section as SectionSpec
from oncoguide.plain import plain


@dataclass
class Statement:
    text: str
    citations: list[int]
    claim_id: str
    locators: list[dict] = field(default_factory=list)
    kind: str = "claim"  # "claim", or "algorithm" for a step of the matched patient group


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


@dataclass
class Clarification:
    detail: str
    question: str
    options: list[str]


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

    def to_dict(self) -> dict:
        return plain(self)

    def statements(self) -> list[Statement]:
        return [st for sec in self.sections for st in sec.statements]


def _text(claim: ClaimRec, audience: str) -> str:
    return claim.patient if audience == "patient" else claim.clinician


def _arrange(scored: list[Scored], contents: Contents, limit: int) -> list[tuple[SectionSpec, list[Scored]]]:
    """Put each claim in its section (tagged sections first), best first, at most `limit` per section."""
    sections = contents.sections
    tagged = [s for s in sections if s.tags_any]
    plain = [s for s in sections if not s.tags_any]
    buckets: dict[str, list[Scored]] = {s.id: [] for s in sections}
    for item in scored:
        c = item.claim
        home = next((s for s in tagged if c.facet in s.facets and c.tags & set(s.tags_any)), None)
        home = home or next((s for s in plain if c.facet in s.facets), None)
        if home is not None:
            buckets[home.id].append(item)
    position = {cid: i for i, cid in enumerate(contents.claims)}
    out = []
    for s in sections:
        items = buckets[s.id]
        if not items:
            continue
        best = sorted(items, key=lambda x: (-x.score, position[x.claim.id]))[:limit]
        # statements written for the asked-about patients first; otherwise the writers' order, which
        # reads as an argument rather than a ranking
        best.sort(key=lambda x: (-x.tier, position[x.claim.id]))
        out.append((s, best))
    return out


def _title(query: Query, contents: Contents) -> str:
    lex = contents.lexicon
    if query.condition is None:  # answers are composed only once a condition is known
        raise ValueError("a title needs the question's condition")
    name = lex.conditions[query.condition].name
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


def _clarifications(query: Query) -> list[Clarification]:
    asks_treatment = {"treatment", "surgery", "systemic-therapy", "overview"} & set(query.intents or ("overview",))
    if asks_treatment and not (query.populations - {"children", "pregnancy"}):
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


def _algorithm_section(rec, numbering: Numbering) -> Section:
    """The matched patient group's steps as cited statements."""
    statements = []
    for i, st in enumerate(rec.steps):
        tier = "all patients in the group" if st.tier == "all" else "some patients in the group"
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
        if query.out_of_scope or not (query.intents or query.topics or query.populations):
            return abstain(query, contents, texts.abstain_patient if patient else texts.abstain)
        clarify = [Clarification("condition", texts.ask_condition, ["dfsp", "sts", "gist"])]
        return abstain(query, contents, texts.ask_condition, clarify, title="Which condition?")

    scored = selection.claims
    if not scored:
        return abstain(query, contents, texts.abstain_patient if patient else texts.abstain)
    arranged = _arrange(scored, contents, section_limit)

    # Bottom line: the three best-scored statements from different sections, in section order; a
    # candidate is a key statement or one about a topic the question names.
    best: dict[str, Scored] = {}
    for spec, items in arranged:
        candidates = [x for x in items if x.claim.key or x.claim.tags & query.topics]
        if candidates:
            best[spec.id] = max(candidates, key=lambda x: x.score)
    # each thing asked about gets its best statement first, then what the question names by topic
    ranked = sorted(best, key=lambda sid: -(best[sid].score + best[sid].topical))
    chosen: list[str] = []
    for intent in query.intents:
        wanted = set(contents.lexicon.intents[intent].facets)
        sid = next((sid for sid in ranked if sid not in chosen and best[sid].claim.facet in wanted), None)
        if sid and len(chosen) < 3:
            chosen.append(sid)
    chosen += [sid for sid in ranked if sid not in chosen][: 3 - len(chosen)]
    bottom = [best[sid].claim for sid in chosen]
    if not bottom:
        bottom = [arranged[0][1][0].claim]

    numbering = Numbering(contents)
    bl_text = " ".join(_text(c, query.audience) for c in bottom)
    bl_cits: list[int] = []
    for c in bottom:
        for n in numbering.cite(c.citations)[0]:
            if n not in bl_cits:
                bl_cits.append(n)
    in_bottom = {c.id for c in bottom}

    sections: list[Section] = []
    if recommendation is not None and recommendation.group is not None and not patient:
        sections.append(_algorithm_section(recommendation, numbering))
    counts = ZERO
    for c in bottom:
        counts += c.patient_counts if patient else c.clinician_counts
    covered: set[str] = set()
    for spec, items in arranged:
        shown = [x for x in items if x.claim.id not in in_bottom] or items
        statements = []
        for item in shown:
            c = item.claim
            nums, locs = numbering.cite(c.citations)
            statements.append(Statement(_text(c, query.audience), nums, c.id, locs))
            covered.add(c.facet)
            if c.id not in in_bottom:
                counts += c.patient_counts if patient else c.clinician_counts
        sections.append(Section(spec.id, spec.patient_heading if patient else spec.heading, statements))

    conflicts = []
    for cf in selection.conflicts:
        sides = []
        for side in cf.sides:
            nums, _ = numbering.cite([(x.source, x.locator) for x in side.citations])
            sides.append(ConflictSide(side.patient if patient else side.position, nums))
        conflicts.append(Conflict(cf.id, cf.topic, cf.patient if patient else cf.clinician, sides))

    return Answer(
        question=query.text,
        in_scope=True,
        audience=query.audience,
        title=_title(query, contents),
        bottom_line=bl_text,
        bottom_line_citations=bl_cits,
        sections=sections,
        references=numbering.references(),
        conflicts=conflicts,
        follow_up_questions=_follow_ups(query, covered, contents),
        reading_grade=grade_from_counts(counts),
        disclaimer=texts.disclaimer_patient if patient else texts.disclaimer_clinician,
        notes=list(query.notes),
        clarify=_clarifications(query),
        understood=query.to_dict(),
        pack_digest=contents.meta.get("pack_digest", ""),
        updated=texts.updated,
    )
