"""Answer -> text, Markdown or JSON. Renderers format; they never choose content."""

from __future__ import annotations

import json
import textwrap

from oncoguide.engine.compose import Answer, Reference
from oncoguide.engine.references import LinkKind, reference_parts

FORMATS = ("text", "markdown", "json")
# The command line reads no site database, so it knows of no article or review: it says only what is true
REVIEW_NOTE = "Not clinician-reviewed: composed from the cited knowledge pack. Use with caution."


def cite_marks(nums: list[int]) -> str:
    return "[" + ",".join(str(n) for n in nums) + "]" if nums else ""


def reference_line(r: Reference) -> str:
    return reference_parts(r).text()


LIBRARY_HEADING = "From the library: quoted exactly, not reviewed"


def _where(e) -> str:
    return f"{e.section + ', ' if e.section else ''}characters {e.start}-{e.end} of {e.source}"


def to_json(answer: Answer) -> str:
    return json.dumps(answer.to_dict(), ensure_ascii=False, indent=2)


def to_text(answer: Answer, width: int = 88) -> str:
    wrap = textwrap.TextWrapper(width=width)
    bullet = textwrap.TextWrapper(width=width, initial_indent="  - ", subsequent_indent="    ")
    out = [answer.title, "=" * min(width, len(answer.title)), ""]
    if answer.in_scope:
        out += [REVIEW_NOTE, ""]
    for note in answer.notes:
        out += wrap.wrap(f"Note: {note}.")
    for c in answer.clarify:
        out += wrap.wrap(f"To tailor this answer: {c.question}") + [""]
    line = answer.bottom_line + (" " + cite_marks(answer.bottom_line_citations) if answer.bottom_line_citations else "")
    out += wrap.wrap(line) + [""]
    for sec in answer.sections:
        out += [sec.heading, "-" * len(sec.heading)]
        for st in sec.statements:
            out += bullet.wrap(f"{st.text} {cite_marks(st.citations)}")
        out.append("")
    if answer.conflicts:
        out += ["Where sources disagree", "-" * 22]
        for cf in answer.conflicts:
            out += wrap.wrap(f"{cf.topic}: {cf.summary}")
            for side in cf.sides:
                out += bullet.wrap(f"{side.text} {cite_marks(side.citations)}")
            out.append("")
    if answer.excerpts:
        out += [LIBRARY_HEADING, "-" * len(LIBRARY_HEADING)]
        quote = textwrap.TextWrapper(width=width, initial_indent="  > ", subsequent_indent="  > ")
        for i, e in enumerate(answer.excerpts, start=1):
            out += wrap.wrap(f"{i}. {e.citation}") + [f"   {_where(e)}"] + quote.wrap(e.text) + [""]
    if answer.follow_up_questions:
        out += ["Follow-up questions", "-" * 19]
        out += [f"  - {q}" for q in answer.follow_up_questions] + [""]
    if answer.references:
        out += ["References", "-" * 10]
        ref = textwrap.TextWrapper(width=width, subsequent_indent="     ")
        for r in answer.references:
            out += ref.wrap(f"{r.n:>3}. {reference_line(r)}")
        out.append("")
    if answer.reading_grade is not None:
        out.append(f"Reading grade (Flesch-Kincaid): {answer.reading_grade:.1f}")
    out += wrap.wrap(answer.disclaimer)
    return "\n".join(out) + "\n"


def _md_marks(nums: list[int]) -> str:
    return "".join(f"[^{n}]" for n in nums)


def to_markdown(answer: Answer) -> str:
    out = [f"# {answer.title}", ""]
    if answer.in_scope:
        out += [f"> {REVIEW_NOTE}", ""]
    for note in answer.notes:
        out += [f"*Note: {note}.*", ""]
    for c in answer.clarify:
        out += [f"*To tailor this answer: {c.question}*", ""]
    out += [
        f"**{'Bottom line' if answer.in_scope else 'Answer'}:** {answer.bottom_line}"
        f"{_md_marks(answer.bottom_line_citations)}",
        "",
    ]
    for sec in answer.sections:
        out += [f"## {sec.heading}", ""]
        out += [f"- {st.text}{_md_marks(st.citations)}" for st in sec.statements] + [""]
    if answer.conflicts:
        out += ["## Where sources disagree", ""]
        for cf in answer.conflicts:
            out += [f"**{cf.topic}.** {cf.summary}", ""]
            out += [f"- {side.text}{_md_marks(side.citations)}" for side in cf.sides] + [""]
    if answer.excerpts:
        out += [f"## {LIBRARY_HEADING}", ""]
        for i, e in enumerate(answer.excerpts, start=1):
            out += [f"{i}. {e.citation} ({_where(e)})", "", f"   > {e.text}", ""]
    if answer.follow_up_questions:
        out += ["## Follow-up questions", ""] + [f"- {q}" for q in answer.follow_up_questions] + [""]
    if answer.references:
        out += ["## References", ""]
        for r in answer.references:
            parts = reference_parts(r)
            read = [link.url for link in parts.links if link.kind != LinkKind.PAGE][:1]  # PubMed, else the DOI
            out.append(f"[^{r.n}]: {parts.text()}" + "".join(f" <{u}>" for u in read))
        out.append("")
    if answer.reading_grade is not None:
        out += [f"*Reading grade (Flesch-Kincaid): {answer.reading_grade:.1f}*", ""]
    out += [f"*{answer.disclaimer}*", ""]
    return "\n".join(out)


def render(answer: Answer, fmt: str) -> str:
    if fmt == "json":
        return to_json(answer) + "\n"
    if fmt == "markdown":
        return to_markdown(answer)
    if fmt == "text":
        return to_text(answer)
    raise ValueError(f"unknown format '{fmt}'; use one of: {', '.join(FORMATS)}")


def recommendation_text(rec, width: int = 88) -> str:
    wrap = textwrap.TextWrapper(width=width)
    ind = textwrap.TextWrapper(width=width, initial_indent="    ", subsequent_indent="    ")
    out = []
    if rec.derived:
        out.append("Read from the FHIR record:")
        for d in rec.derived:
            out += ind.wrap(f"{d.fact} {d.value.replace('|', ' or ')}: {d.because} ({d.resource})")
        out.append("")
    if rec.group is None:
        if rec.candidates:
            out.append("More than one patient group fits; one more fact decides:")
            for m in rec.missing:
                out += wrap.wrap(f"  - {m.question} ({', '.join(m.values)})")
            out += ["", "Candidate groups:"] + [f"  - {g.label} [{g.id}]" for g in rec.candidates]
        else:
            out.append("No patient group of the algorithm fits this description.")
        for n in rec.notes:
            out += wrap.wrap(f"Note: {n}.")
        return "\n".join(out) + "\n"
    g = rec.group
    out += [g.label, "=" * min(width, len(g.label))]
    out += wrap.wrap(g.definition) + [""]
    if rec.assumed:
        out += wrap.wrap("Assumed (not stated): " + ", ".join(f"{k} = {v}" for k, v in rec.assumed.items()))
    for n in rec.notes:
        out += wrap.wrap(f"Note: {n}.")
    if rec.assumed or rec.notes:
        out.append("")
    for i, st in enumerate(rec.steps, 1):
        tier = "ALL patients" if st.tier == "all" else "SOME patients"
        out.append(f"{i}. {st.name}  [{tier}; {st.timing}] {cite_marks(st.citations)}")
        if st.applies_when:
            out += ind.wrap(f"When: {st.applies_when}")
        out += ind.wrap(st.rationale)
        for opt in st.options:
            regs = "  OR  ".join(" + ".join(r) for r in opt.regimens)
            when = f" (when {opt.applies_when})" if opt.applies_when else ""
            fit = {True: " [fits the stated mutation]", False: " [for another genotype]"}.get(opt.matches, "")
            out += ind.wrap(f"{opt.line.capitalize()} options{when}: {regs}{fit}")
        if st.dosing:
            out += ind.wrap(f"Dosing: {st.dosing}")
        out.append("")
    if rec.references:
        out += ["References", "-" * 10]
        ref = textwrap.TextWrapper(width=width, subsequent_indent="     ")
        for r in rec.references:
            out += ref.wrap(f"{r.n:>3}. {reference_line(r)}")
    return "\n".join(out) + "\n"


def _prop(d: dict) -> str:
    lo, hi = d["exact_ci"]
    return f"{d['x']}/{d['n']} = {d['percent']:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def evidence_text(rep: dict) -> str:
    out = [rep["title"], "=" * len(rep["title"]), f"Outcome: {rep['outcome']}", ""]
    rows = rep["studies"]
    cats = list(rep["totals"])
    head = f"{'Study':<34}{'Arm':<26}{'n':>5}" + "".join(f"{c.upper():>7}" for c in cats)
    out += [head, "-" * len(head)]
    for r in rows:
        out.append(f"{r['study'][:33]:<34}{r['arm'][:25]:<26}{r['n']:>5}" + "".join(f"{r[c]:>7}" for c in cats))
    total_n = next(iter(rep["totals"].values()))["n"]
    out.append(f"{'Total':<60}{total_n:>5}" + "".join(f"{rep['totals'][c]['x']:>7}" for c in cats))
    out += ["", "Named statistics (exact Clopper-Pearson 95% CI)"]
    for s in rep["statistics"]:
        if s["total"]:
            continue  # counts every patient: not a rate
        out.append(f"  {s['label']:<52} {_prop(s)}")
        if s["note"]:
            out += textwrap.wrap(s["note"], 84, initial_indent="      ", subsequent_indent="      ")
    if rep["comparisons"]:
        out += ["", "Comparisons"]
        for c in rep["comparisons"]:
            lo, hi = c["rd_ci"]
            out.append(
                f"  {c['label']}: risk difference {100 * c['risk_difference']:.1f} points "
                f"(95% CI {100 * lo:.1f} to {100 * hi:.1f}); {c['p_text']} ({c['test']})"
            )
    if "by" in rep:
        by = rep["by"]
        out += ["", f"{by['outcome']} by {by['attribute']}"]
        for g in by["groups"]:
            out.append(f"  {by['attribute']} {g['group']:<12} {_prop(g)}")
        if "chi_square" in by:
            c = by["chi_square"]
            out.append(f"  chi-square {c['statistic']:.2f} on {c['df']} df, {c['p_text']}")
    if "meta_analysis" in rep:
        m = rep["meta_analysis"]
        out += ["", f"Random-effects meta-analysis of {m['outcome'].lower()} ({m['scale']} scale)"]
        for method in ("DL", "REML"):
            r = m[method]
            lo, hi = r["ci"]
            out.append(
                f"  {method:<5} {100 * r['estimate']:.1f}% (95% CI {100 * lo:.1f}-{100 * hi:.1f}; "
                f"prediction {100 * r['prediction_interval'][0]:.1f}-{100 * r['prediction_interval'][1]:.1f}); "
                f"tau2 {r['tau2']:.3f}, I2 {r['i2']:.1f}%, Q {r['q']:.2f} ({r['q_p_text']}), k = {r['k']}"
            )
        if m["REML"]["zero_event_corrections"]:
            out.append(
                f"  {m['REML']['zero_event_corrections']} study with 0 or all events: 0.5 added to each "
                "cell for the logit only"
            )
    return "\n".join(out) + "\n"
