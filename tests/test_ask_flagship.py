"""The flagship question: stage 4 DFSP prognosis and treatment, fully cited."""

from __future__ import annotations

import pytest

from tests.conftest import FLAGSHIP, run_cli


@pytest.fixture(scope="module")
def answer(kb):
    return kb.ask(FLAGSHIP)


def _section(answer, sid):
    return next((s for s in answer.sections if s.id == sid), None)


def _text(section):
    return " ".join(st.text for st in section.statements)


def test_in_scope_and_titled(answer):
    assert answer.in_scope
    assert "stage IV" in answer.title and "prognosis and treatment" in answer.title
    assert answer.bottom_line and answer.bottom_line_citations


def test_covers_every_required_section(answer):
    ids = [s.id for s in answer.sections]
    for sid in (
        "prognosis",
        "first-line-systemic",
        "molecular-confirmation",
        "surgery",
        "radiotherapy",
        "second-line",
        "referral-surveillance",
        "pitfalls",
    ):
        assert sid in ids, f"missing section {sid}: {ids}"


def test_prognosis_distinguishes_subtypes(answer):
    text = _text(_section(answer, "prognosis")).lower()
    assert "fibrosarcomatous" in text


def test_molecular_confirmation_before_imatinib(answer):
    text = _text(_section(answer, "molecular-confirmation"))
    assert "imatinib" in text.lower() and ("t(17;22)" in text or "COL1A1" in text)


def test_surgery_after_response_is_covered(answer):
    text = _text(_section(answer, "surgery")).lower()
    assert "imatinib" in text and ("metastas" in text or "residual" in text)


def test_second_line_mentions_chemotherapy_or_other_kinase_inhibitors(answer):
    text = _text(_section(answer, "second-line")).lower()
    assert any(w in text for w in ("chemotherapy", "sunitinib", "sorafenib", "pazopanib", "doxorubicin"))


def test_dose_evidence_is_shown_as_a_conflict_with_both_sides_cited(answer):
    conflict = next(c for c in answer.conflicts if c.id == "imatinib-starting-dose")
    assert len(conflict.sides) >= 2
    cited = [set(side.citations) for side in conflict.sides]
    assert all(cited) and cited[0] != cited[1]
    text = " ".join(side.text for side in conflict.sides)
    assert "400" in text and "800" in text


def test_metastatic_statements_come_before_general_ones(answer, kb):
    for sec in answer.sections:
        specific = [
            "metastatic" in kb.contents.claims[st.claim_id].populations for st in sec.statements if st.kind == "claim"
        ]
        assert specific == sorted(specific, reverse=True), sec.id
    all_claims = [kb.contents.claims[st.claim_id] for st in answer.statements() if st.kind == "claim"]
    assert any("metastatic" in c.populations for c in all_claims)
    assert not any(c.populations <= {"localized"} for c in all_claims)


def test_every_statement_is_cited_and_every_citation_resolves(answer, kb):
    numbers = {r.n for r in answer.references}
    assert numbers == set(range(1, len(answer.references) + 1))
    for st in answer.statements():
        assert st.citations and set(st.citations) <= numbers
    for side in (s for c in answer.conflicts for s in c.sides):
        assert side.citations and set(side.citations) <= numbers
    for ref in answer.references:
        src = kb.contents.sources[ref.id]
        assert (ref.pmid, ref.doi) == (src.pmid, src.doi)
        assert ref.pmid or ref.doi or ref.url


def test_citations_are_numbered_in_order_of_first_use(answer):
    seen = []
    for n in answer.bottom_line_citations + [n for st in answer.statements() for n in st.citations]:
        if n not in seen:
            seen.append(n)
    assert seen == list(range(1, len(seen) + 1))


def test_patient_version_reads_at_grade_8(kb):
    a = kb.ask(FLAGSHIP, audience="patient")
    assert a.in_scope and a.reading_grade <= 8.0
    assert a.disclaimer != kb.ask(FLAGSHIP).disclaimer
    assert [s.heading for s in a.sections][0] == "Outlook"


def test_make_run_command_prints_cited_answer(tmp_path):
    res = run_cli("ask", FLAGSHIP, db=tmp_path / "kb.sqlite3")
    assert res.returncode == 0, res.stderr
    assert "References" in res.stdout and "PMID" in res.stdout and "[1" in res.stdout
