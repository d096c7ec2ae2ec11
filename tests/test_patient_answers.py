"""Patient answers read at grade 8 or below and carry the patient wording and disclaimer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from questions import QUESTIONS  # noqa: E402


@pytest.mark.parametrize("question", QUESTIONS)
def test_patient_answer_reads_at_grade_8(kb, question):
    a = kb.ask(question, audience="patient")
    if not a.in_scope:
        assert a.sections == []
        return
    assert a.reading_grade is not None and a.reading_grade <= 8.0, (question, a.reading_grade)
    for st in a.statements():
        assert st.text == kb.contents.claims[st.claim_id].patient


def test_grade_matches_textstat_on_the_same_text(kb):
    """The summed-count grade agrees with textstat run on the answer's own text (within rounding)."""
    import textstat

    a = kb.ask("How long do people live with DFSP?", audience="patient")
    texts = [a.bottom_line] + [st.text for st in a.statements() if st.text not in a.bottom_line]
    assert abs(textstat.flesch_kincaid_grade(" ".join(texts)) - a.reading_grade) <= 0.5


def test_special_population_gets_its_own_statements(kb):
    a = kb.ask("DFSP during pregnancy", audience="patient")
    assert a.in_scope and a.statements()
    assert all("pregnancy" in kb.contents.claims[st.claim_id].populations for st in a.statements())


def test_children_questions_do_not_show_pregnancy_statements(kb):
    a = kb.ask("Can children get dermatofibrosarcoma protuberans?")
    pops = [kb.contents.claims[st.claim_id].populations for st in a.statements()]
    assert pops and all("pregnancy" not in p for p in pops)
    assert any("children" in p for p in pops)


def test_natural_treatment_answer_says_there_is_no_evidence(kb):
    a = kb.ask("Is there any natural treatment for DFSP?", audience="patient")
    assert [s.id for s in a.sections] == ["complementary"]
    text = (a.bottom_line + " ".join(st.text for st in a.statements())).lower()
    assert "shown" in text or "evidence" in text
    assert "surgery" in text
