"""Free text -> Query: synonyms, extent, intents, spelling, typos, patient phrasing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncoguide.engine.understand import InputError, clean_question, follow_up
from tests.conftest import FLAGSHIP


@pytest.fixture(scope="module")
def parse(kb):
    return lambda text, audience="clinician": kb.understand(text, audience)


@pytest.mark.parametrize(
    "text",
    [
        "What is DFSP?",
        "tell me about dermatofibrosarcoma",
        "Darier-Ferrand tumour treatment",
        "dermatofibrosarcoma protuberans outlook",
        "What is a Bednar tumor?",
        "FS-DFSP survival",
        "is dermatofibrosarcome protuberans curable",  # typo
    ],
)
def test_dfsp_names(parse, text):
    assert parse(text).condition == "dfsp"


@pytest.mark.parametrize(
    "text, condition",
    [
        ("How is a GIST treated?", "gist"),
        ("gastrointestinal stromal tumour adjuvant imatinib", "gist"),
        ("retroperitoneal sarcoma surgery", "sts"),
        ("soft-tissue sarcoma of the thigh", "sts"),
        ("leiomyosarcoma second line options", "sts"),
    ],
)
def test_other_conditions(parse, text, condition):
    assert parse(text).condition == condition


@pytest.mark.parametrize(
    "text",
    [
        "stage 4 DFSP",
        "Stage IV dermatofibrosarcoma",
        "metastatic DFSP",
        "DFSP that has spread to the lungs",
        "dfsp metastasised to lung",
    ],
)
def test_metastatic_extent(parse, text):
    assert "metastatic" in parse(text).populations


def test_stage_iv_is_noted(parse):
    q = parse(FLAGSHIP)
    assert q.stage == "IV"
    assert set(q.intents) >= {"prognosis", "treatment"}
    assert any("stage IV" in n for n in q.notes)


@pytest.mark.parametrize(
    "text, population",
    [
        ("inoperable DFSP", "unresectable"),
        ("DFSP that cannot be removed", "unresectable"),
        ("locally advanced dermatofibrosarcoma", "locally-advanced"),
        ("recurrent DFSP", "recurrent"),
        ("my DFSP came back", "recurrent"),
        ("DFSP in children", "children"),
        ("DFSP while pregnant", "pregnancy"),
        ("DFSP with positive margins", "margin-positive"),
        ("localised DFSP", "localized"),
    ],
)
def test_populations(parse, text, population):
    assert population in parse(text).populations


@pytest.mark.parametrize(
    "text, intent",
    [
        ("What is the life expectancy with DFSP?", "prognosis"),
        ("Will DFSP kill me", "prognosis"),
        ("Is DFSP hereditary?", "inheritance"),
        ("does dfsp run in families", "inheritance"),
        ("Is DFSP contagious?", "contagion"),
        ("Is there any natural treatment for DFSP?", "complementary-therapy"),
        ("what does DFSP look like", "symptoms"),
        ("imatinib dose for dfsp", "dosing"),
        ("side effects of imatinib in DFSP", "adverse-effects"),
        ("radiotherapy for DFSP", "radiotherapy"),
        ("radiation therapy for DFSP", "radiotherapy"),
        ("how is DFSP diagnosed", "diagnosis"),
        ("What is the prognosis of DFSP?", "prognosis"),
    ],
)
def test_intents(parse, text, intent):
    assert intent in parse(text).intents


def test_what_is_alone_is_a_definition_question(parse):
    assert parse("What is DFSP?").intents == ("definition",)
    assert "definition" not in parse("What is the prognosis of DFSP?").intents


def test_british_and_american_spelling_agree(parse):
    a = parse("metastasised dermatofibrosarcoma tumour in a paediatric patient")
    b = parse("metastasized dermatofibrosarcoma tumor in a pediatric patient")
    assert (a.condition, a.populations) == (b.condition, b.populations)
    assert {"metastatic", "children"} <= a.populations


@pytest.mark.parametrize(
    "typo, fixed",
    [("prognossis", "prognosis"), ("imatinb", "imatinib"), ("hereditery", "hereditary"), ("treatement", "treatment")],
)
def test_small_typos_are_corrected(parse, typo, fixed):
    q = parse(f"DFSP {typo}")
    assert (typo, fixed) in q.corrections


def test_everyday_words_are_not_corrected(parse):
    q = parse("my mother has DFSP on her shoulder, should she worry")
    assert ("mother", "other") not in q.corrections
    assert all(orig != "should" for orig, _ in q.corrections)


def test_contagion_phrase_is_not_read_as_metastasis(parse):
    q = parse("can DFSP spread to other people")
    assert "contagion" in q.intents and "metastatic" not in q.populations


def test_out_of_scope_condition_is_recorded(parse):
    q = parse("What is the treatment for diabetes?")
    assert q.condition is None and "diabetes" in q.out_of_scope


def test_foreign_script_is_flagged(parse):
    assert parse("隆突性皮肤纤维肉瘤的预后如何").foreign_script


def test_follow_up_inherits_condition_and_population(parse):
    first = parse("stage 4 DFSP prognosis and treatment")
    second = follow_up(first, parse("what about radiation?"))
    assert second.condition == "dfsp" and "metastatic" in second.populations
    assert second.intents == ("radiotherapy",) and second.inherited


def test_follow_up_with_new_condition_starts_afresh(parse):
    first = parse("stage 4 DFSP prognosis")
    second = follow_up(first, parse("and how is GIST treated?"))
    assert second.condition == "gist" and not second.populations


@pytest.mark.parametrize(
    "bad, words",
    [("", "empty"), ("   \n\t ", "empty"), ("x" * 10_240, "too long"), ("DFSP\x07 prognosis", "control character")],
)
def test_unusable_questions_raise_clear_errors(bad, words):
    with pytest.raises(InputError, match=words):
        clean_question(bad, 1000)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_crashes(kb, text):
    try:
        q = kb.understand(text)
    except InputError:
        return
    assert q.condition in (None, "dfsp", "sts", "gist")
