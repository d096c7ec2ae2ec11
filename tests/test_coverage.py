"""The pack answers every question type of the NCI PDQ patient summaries for adult and childhood soft-tissue
sarcoma, rhabdomyosarcoma and GIST (issue 18): for each summary's sections, a question in PDQ's own terms gets an
answer whose bottom line opens with a claim of that condition that answers the asked type.

This checks coverage, not ranking quality: the development bank (`make eval`) measures how good the answers are.
"""

from __future__ import annotations

import pytest

from oncoguide.engine.select import select

# the PDQ patient summaries and how a reader names their subject
SUMMARIES = {
    "adult soft-tissue sarcoma": ("sts", "soft tissue sarcoma", ""),
    "childhood soft-tissue sarcoma": ("sts", "soft tissue sarcoma", " in children"),
    "childhood rhabdomyosarcoma": ("sts", "rhabdomyosarcoma", " in children"),
    "GIST": ("gist", "GIST", ""),
}
# each summary's sections, as a question, and the question type that answers it
SECTIONS = {
    "what it is": ("What is {x}{p}?", {"definition", "types"}),
    "risk factors": ("What are the risk factors for {x}{p}?", {"cause", "genetics", "inheritance"}),
    "signs": ("What are the signs and symptoms of {x}{p}?", {"symptoms"}),
    "diagnosis": ("Which tests diagnose {x}{p}?", {"diagnosis"}),
    "prognosis": ("What affects the prognosis of {x}{p}?", {"prognosis"}),
    "stages": ("What are the stages of {x}{p}?", {"staging"}),
    "treatment": ("What are the treatment options for {x}{p}?", {"treatment"}),
    "follow-up": ("What follow-up tests are needed after treatment for {x}{p}?", {"follow-up"}),
    "late effects": ("What are the late effects of treatment for {x}{p}?", {"side-effects"}),
    "recurrence": ("How is recurrent {x}{p} treated?", {"treatment"}),
    "clinical trials": ("Are there clinical trials for {x}{p}?", {"referral", "treatment"}),
}


def opening_claim(kb, question: str, audience: str):
    """The claim whose text opens the bottom line."""
    answer = kb.ask(question, audience)
    selection = select(kb.understand(question, audience), kb.contents, None, kb.index)
    best, at = None, len(answer.bottom_line) + 1
    for scored in selection.claims:
        claim = scored.claim
        text = claim.patient if audience == "patient" else claim.clinician
        i = answer.bottom_line.find(text.split(". ")[0][:60])
        if 0 <= i < at:
            best, at = claim, i
    return answer, best


@pytest.mark.parametrize("summary", sorted(SUMMARIES))
@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_pdq_section_is_answered(kb, summary, section):
    condition, name, population = SUMMARIES[summary]
    template, types = SECTIONS[section]
    question = template.format(x=name, p=population)
    for audience in ("clinician", "patient"):
        answer, claim = opening_claim(kb, question, audience)
        assert answer.in_scope and not answer.missing_aspect and answer.sections, (question, audience)
        assert claim is not None, (question, audience, answer.bottom_line)
        assert claim.condition == condition
        assert types & set(claim.answers[:2]), (question, audience, claim.id, claim.answers)
