"""What readers ask that the pack lacks (issue 17, item 5): a covered condition's missing aspect or focus is
listed for editors in canonical form only (condition, question type, focus), never as typed; SQLite and
PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from oncoguide.site.db import pack_gaps
from tests.conftest import login


def missing_aspect_question(kb) -> tuple[str, str]:
    """A question (with a private detail) about a question type no claim of some condition answers, and that
    type's label; built from the lexicon's own words so it follows the pack as it grows."""
    lex = kb.contents.lexicon
    for cond, terms in lex.conditions.items():
        for intent in lex.intents.values():
            if intent.weak or kb.index.answering(cond, intent.type) or intent.type == "comparison":
                continue
            text = f"My name is Jane Smith. {intent.terms[0]} {terms.short}?"
            answer = kb.ask(text)
            if answer.missing_aspect == intent.type:
                return text, lex.question_types[intent.type].label
    raise AssertionError("every condition answers every question type: test the focus gap instead")


def test_a_missing_aspect_is_listed_for_editors_in_canonical_form(site):
    kb = site.app.state.site.kb
    question, label = missing_aspect_question(kb)
    r = site.post("/api/ask", json={"question": question})
    assert r.status_code == 200 and r.json()["in_scope"] and r.json()["missing_aspect"]
    gaps = site.app.state.site.questions.gaps()
    assert any(g.aspect == label and g.asks == 1 for g in gaps)
    site.post("/api/ask", json={"question": question})
    assert any(g.aspect == label and g.asks == 2 for g in site.app.state.site.questions.gaps())
    editor = login(TestClient(site.app, raise_server_exceptions=False), "editor1")
    page = editor.get("/review/questions").text
    assert label in page and "Jane" not in page and "Smith" not in page
    # only the canonical form is stored
    columns = {c["name"] for c in inspect(site.app.state.site.reviews.engine).get_columns("pack_gaps")}
    assert columns == {"gap_key", "condition", "aspect", "focus", "asks", "first_seen", "last_seen"}
    with site.app.state.site.reviews.engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(select(pack_gaps)) for v in row)
    assert "Jane" not in stored and "Smith" not in stored


def test_a_missing_focus_is_listed(site):
    kb = site.app.state.site.kb
    genotypes = kb.contents.lexicon.entities["genotype"]
    about = {
        e
        for c in kb.contents.claims.values()
        if c.condition == "gist" and "side-effects" in c.answers
        for e in c.entities
    }
    key = next(k for k in ("ntrk", "braf-v600e", "nf1", "kit-exon13") if f"genotype:{k}" not in about)
    r = site.post("/api/ask", json={"question": f"side effects of treatment for {genotypes[key].terms[0]} GIST"})
    assert r.json()["uncovered"] == [f"genotype:{key}"]
    gaps = site.app.state.site.questions.gaps()
    assert any(g.condition == "gist" and genotypes[key].label in g.focus for g in gaps)


def test_answered_questions_record_no_gap(site):
    site.post("/api/ask", json={"question": "What is the treatment for PDGFRA D842V mutant GIST?"})
    assert site.app.state.site.questions.gaps() == []
