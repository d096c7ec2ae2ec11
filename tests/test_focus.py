"""Answering the question asked: its type and focus entities, ranking by fit, safety rules, exact scope.

These test the mechanisms on the real pack (and on broken copies of it), not the development bank's score.
"""

from __future__ import annotations

import pytest
import yaml

from oncoguide.engine.index import ClaimIndex
from oncoguide.engine.select import select
from oncoguide.pack.load import PackError, load_pack


@pytest.fixture(scope="module")
def parse(kb):
    return lambda text, audience="clinician": kb.understand(text, audience)


def lead_claims(kb, question: str, audience: str = "clinician"):
    """The claims whose texts open the bottom line."""
    answer = kb.ask(question, audience)
    query = kb.understand(question, audience)
    selection = select(query, kb.contents, None, kb.index)
    ids = {x.claim.id for x in selection.claims}
    text = answer.bottom_line
    chosen = []
    for cid in ids:
        c = kb.contents.claims[cid]
        first = (c.patient if audience == "patient" else c.clinician).split(". ")[0]
        if first[:60] in text:
            chosen.append(c)
    return answer, chosen


# --- question focus -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, qtype",
    [
        ("What is the work-up for a deep thigh mass in suspected sarcoma?", "diagnosis"),
        ("How long should adjuvant imatinib be given for GIST?", "duration"),
        ("What is the dose of imatinib for DFSP?", "dose"),
        ("What causes soft tissue sarcoma?", "cause"),
        ("What are the side effects of imatinib in GIST?", "side-effects"),
        ("What follow-up is needed after DFSP surgery?", "follow-up"),
        ("Is DFSP cancer?", "definition"),
        ("Mohs surgery versus wide excision for DFSP", "comparison"),
        ("Risk category for a 4 cm rectal GIST with 3 mitoses per 50 HPF?", "staging"),
    ],
)
def test_question_type(parse, text, qtype):
    assert qtype in parse(text).types


def test_work_up_is_not_read_as_work(parse):
    q = parse("What is the work-up for a deep thigh mass in suspected sarcoma?")
    assert "response" not in q.types and "diagnosis" in q.types


@pytest.mark.parametrize(
    "text, entity",
    [
        ("What is the treatment for PDGFRA D842V mutant GIST?", "genotype:pdgfra-d842v"),
        ("KIT exon 9 metastatic GIST: 400 or 800 mg?", "genotype:kit-exon9"),
        ("adjuvant imatinib for GIST", "setting:adjuvant"),
        ("first-line chemotherapy for metastatic leiomyosarcoma", "setting:first-line"),
        ("Does Gleevec cause swelling?", "drug:imatinib"),
        ("When is Mohs surgery used for DFSP?", "modality:mohs"),
    ],
)
def test_focus_entities(parse, text, entity):
    assert entity in parse(text).entities


def test_the_more_specific_genotype_wins(parse):
    q = parse("met gastric GIST PDGFRA ex18 D842V, progressed on imatinib - next tx?")
    assert "genotype:pdgfra-d842v" in q.entities and "genotype:pdgfra" not in q.entities


def test_english_word_is_not_corrected_into_a_medical_one(parse):
    q = parse("What are the changes in DFSP that make it worse?")
    assert ("changes", "chances") not in q.corrections
    # a real typo still is
    assert parse("is dermatofibrosarcome protuberans curable").condition == "dfsp"


def test_a_site_the_condition_cannot_occur_at_is_not_its_site(parse):
    q = parse("I have had a bad knee for years and now they found a GIST in my stomach, what happens next?")
    assert q.condition == "gist"
    assert "extremity" not in q.sites and "gastric" in q.sites
    assert "extremity" in q.ignored_sites


# --- scope ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("How is Ewing's sarcoma treated?", "Ewing"),
        ("ewings sarcoma symptoms in children", "Ewing"),
        ("Ewings sarcomma chemotherapy protocol for a 15 year old", "Ewing"),
        ("What causes Kaposi's sarcoma?", "Kaposi"),
        ("Can a lipoma on my back turn into cancer?", "ipoma"),
        ("Is osteosarcoma curable?", "steosarcoma"),
        ("How is endometrial adenocarcinoma staged and treated?", "ndometrial"),
        ("What is clear cell renal cell carcinoma and how is it treated?", "idney"),
        ("Does selumetinib shrink plexiform neurofibromas in children with NF1?", "eurofibroma"),
    ],
)
def test_lookalikes_are_refused_by_name(kb, text, name):
    for audience in ("clinician", "patient"):
        answer = kb.ask(text, audience)
        assert not answer.in_scope
        assert name in answer.bottom_line
        assert not answer.sections and not answer.references


@pytest.mark.parametrize(
    "text",
    [
        "Is desmoid tumour a sarcoma and how is it treated?",
        "how is a desmoid tumour treated?",
        "Is a mesenteric desmoid tumour treated like a GIST?",
        "Treatment of aggressive fibromatosis in the abdominal wall after pregnancy",
    ],
)
def test_a_desmoid_question_is_answered_from_desmoid_statements_only(kb, text):
    """A desmoid tumour is not a sarcoma: its questions are answered, led by a desmoid statement (surveillance first,
    or not a GIST), and no statement written for sarcoma in general or for another subtype appears."""
    for audience in ("clinician", "patient"):
        answer = kb.ask(text, audience)
        assert answer.in_scope and answer.understood["condition"] == "sts"
        _, leads = lead_claims(kb, text, audience)
        assert leads and all("desmoid" in c.subtypes for c in leads)
        query = kb.understand(text, audience)
        chosen = select(query, kb.contents, None, kb.index).claims
        assert chosen and all("desmoid" in x.claim.subtypes for x in chosen)
    bottom = kb.ask(text).bottom_line.lower()
    assert any(
        w in bottom for w in ("surveillance", "not a sarcoma", "not treated like a gist", "not a contraindication")
    )


def test_desmoid_statements_do_not_answer_a_general_sarcoma_question(kb):
    query = kb.understand("What affects the outlook for someone with soft tissue sarcoma?")
    chosen = select(query, kb.contents, None, kb.index).claims
    assert chosen and not any("desmoid" in x.claim.subtypes for x in chosen)


def test_comparing_ours_with_a_lookalike_is_answered(kb):
    answer = kb.ask("How is DFSP told apart from a dermatofibroma?")
    assert answer.in_scope and answer.understood["condition"] == "dfsp"


@pytest.mark.parametrize(
    "text",
    [
        "What's the gist of this article about interest rates?",
        "Can you give me the gist of what the surgeon said about my knee?",
        "in the quarterly finance report DFSP means deferred fee sharing plan - how do we calculate it",
    ],
)
def test_an_acronym_used_as_an_ordinary_word_is_not_the_disease(kb, text):
    answer = kb.ask(text)
    assert not answer.in_scope and not answer.sections
    assert answer.understood["condition"] is None


def test_a_covered_condition_without_the_aspect_says_so(pack_copy, tmp_path):
    """A question type no claim of the condition answers gets 'covered, not yet in the pack', not a refusal
    and not another aspect's statements (a pack without DFSP's contagion claims)."""
    from oncoguide.kb import KnowledgeBase
    from oncoguide.settings import Settings

    for path in (pack_copy / "claims").glob("*.yaml"):
        claims = yaml.safe_load(path.read_text())
        kept = [c for c in claims if not (c["condition"] == "dfsp" and "contagion" in c["answers"])]
        path.write_text(yaml.safe_dump(kept, sort_keys=False, allow_unicode=True))
    for path in (pack_copy / "conflicts.yaml",):
        kept = [
            c for c in yaml.safe_load(path.read_text()) if not (c["condition"] == "dfsp" and c["facet"] == "contagion")
        ]
        path.write_text(yaml.safe_dump(kept, sort_keys=False, allow_unicode=True))
    kb = KnowledgeBase.open(Settings(db=tmp_path / "kb.sqlite3", pack_dir=pack_copy))
    for audience, words in (
        ("clinician", "no statement yet on whether it is contagious"),
        ("patient", "do not yet have"),
    ):
        answer = kb.ask("Is DFSP contagious? Can I catch it?", audience)
        assert answer.in_scope and answer.missing_aspect == "contagion"
        assert words in answer.bottom_line and not answer.sections and not answer.references


def test_a_standalone_subtype_gap_is_named_not_filled(kb, pack_copy, tmp_path):
    """A desmoid tumour is not a sarcoma: a question about it is answered from desmoid claims or said to be a
    gap, never with soft-tissue sarcoma's general treatment (a pack without desmoid claims says so)."""
    from oncoguide.kb import KnowledgeBase
    from oncoguide.settings import Settings

    question = "How is a desmoid tumour treated?"
    selection = select(kb.understand(question), kb.contents, None, kb.index)
    assert all("desmoid" in x.claim.subtypes for x in selection.claims)
    for path in (pack_copy / "claims").glob("*.yaml"):
        claims = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump([c for c in claims if "desmoid" not in c.get("subtypes", [])], sort_keys=False))
    bare = KnowledgeBase.open(Settings(db=tmp_path / "kb.sqlite3", pack_dir=pack_copy))
    answer = bare.ask(question)
    assert answer.in_scope and answer.missing_aspect == "treatment" and not answer.sections
    assert "for desmoid tumour" in answer.bottom_line
    # without the flag the same question gets soft-tissue sarcoma's general claims: the flag is what keeps them out
    lexicon = pack_copy / "lexicon.yaml"
    lexicon.write_text(lexicon.read_text().replace("standalone: true", "standalone: false"))
    loose = KnowledgeBase.open(Settings(db=tmp_path / "kb2.sqlite3", pack_dir=pack_copy))
    assert loose.ask(question).sections


def test_a_desmoid_treatment_answer_does_not_ask_whether_it_has_spread(kb):
    """A desmoid tumour does not metastasise: its treatment answer asks no localized-or-metastatic question, while a
    sarcoma treatment answer still does."""
    assert not kb.ask("How is a desmoid tumour treated?").clarify
    assert kb.ask("How is soft tissue sarcoma treated?").clarify


def test_why_a_test_or_treatment_is_not_a_question_about_cause(parse):
    assert "cause" not in parse("Why do they want to do Mohs surgery on my scalp DFSP?").types
    assert "cause" not in parse("Why do I need a PET scan for my GIST?").types
    assert parse("Why did I get DFSP?").types[:1] == ("cause",)


def test_sarcoma_asked_about_first_is_answered_beside_a_lookalike(parse):
    """'Sarcoma' asked about before a lookalike named in passing is a sarcoma question; inside the lookalike's own
    name ('Ewing sarcoma') it is not."""
    aside = parse("Does immunotherapy work for sarcoma? I've read about it working for melanoma.")
    assert aside.condition == "sts" and aside.exclusion is None
    ewing = parse("Is Ewing sarcoma a soft tissue sarcoma?")
    assert ewing.condition is None and ewing.exclusion is not None
    # a lookalike named first is the subject when ours is what it is compared with, not when ours is the finding
    finding = parse("The core biopsy was reported as a phyllodes tumour but the excision shows DFSP. What now?")
    assert finding.condition == "dfsp" and finding.exclusion is None
    compared = parse("Is a phyllodes tumour treated like a DFSP?")
    assert compared.condition is None and compared.exclusion is not None


def test_rhabdomyosarcoma_is_a_soft_tissue_sarcoma(parse):
    assert parse("What is rhabdomyosarcoma?").condition == "sts"


# --- ranking and the bottom line ------------------------------------------------------------------


def test_specific_genotype_claim_answers_a_genotype_question(kb):
    answer = kb.ask("What is the treatment for PDGFRA D842V mutant GIST?")
    query = kb.understand("What is the treatment for PDGFRA D842V mutant GIST?")
    selection = select(query, kb.contents, None, kb.index)
    top = max(selection.claims, key=lambda x: x.score)
    assert "genotype:pdgfra-d842v" in top.claim.entities
    assert "D842V" in answer.bottom_line
    # no claim about another genotype is selected for it
    assert not any(
        e.startswith("genotype:") and e != "genotype:pdgfra-d842v" and "genotype:pdgfra-d842v" not in x.claim.entities
        for x in selection.claims
        for e in x.claim.entities
    )


def test_bm25_index_finds_a_rare_word(kb):
    index = ClaimIndex(kb.contents)
    scores = index.bm25("gist", {"avapritinib": 1.0})
    assert scores
    best = max(scores, key=scores.get)
    assert "avapritinib" in (kb.contents.claims[best].clinician + kb.contents.claims[best].patient).lower()
    # the index of a condition holds only its claims
    assert all(kb.contents.claims[cid].condition == "gist" for cid in scores)


def test_candidates_follow_the_condition(kb):
    index = kb.index
    cands = index.candidates("dfsp", {"prognosis"}, ("prognosis",))
    assert cands and all(c.condition == "dfsp" for c in cands)
    assert len(cands) < len(kb.contents.claims) / 2


def test_bottom_line_is_one_or_two_statements(kb):
    for q in ("What is the prognosis of DFSP?", "How is GIST treated?", "What is soft tissue sarcoma?"):
        _, chosen = lead_claims(kb, q)
        assert 1 <= len(chosen) <= 2, q


def test_prognosis_question_leads_with_a_figure(kb):
    answer = kb.ask("What is the prognosis for stage 4 DFSP?")
    assert any(ch.isdigit() for ch in answer.bottom_line.replace("4 DFSP", ""))


def test_missing_focus_is_said_plainly(kb):
    """A genotype no GIST statement answering side effects is about: the bottom line says the pack has nothing
    specific to it, then answers for GIST in general."""
    genotypes = kb.contents.lexicon.entities["genotype"]
    about = {
        e
        for c in kb.contents.claims.values()
        if c.condition == "gist" and "side-effects" in c.answers
        for e in c.entities
    }
    key = next(k for k in ("ntrk", "braf-v600e", "nf1", "kit-exon13") if f"genotype:{k}" not in about)
    term = genotypes[key].terms[0]
    answer = kb.ask(f"What are the side effects of treatment for {term} GIST?")
    assert answer.in_scope
    assert answer.bottom_line.startswith("The pack has no statement specific to " + genotypes[key].label)
    patient = kb.ask(f"What are the side effects of treatment for {term} GIST?", "patient")
    assert patient.bottom_line.startswith("We have no facts just for " + genotypes[key].label)


def test_title_names_no_population_the_content_is_not_about(kb):
    for q in ("leiomyosarcoma in pregnancy prognosis", "GIST dose of imatinib in pregnancy", "DFSP in children"):
        answer = kb.ask(q)
        if not answer.in_scope:
            continue
        pops = {
            p
            for st in answer.statements()
            if st.claim_id in kb.contents.claims
            for p in kb.contents.claims[st.claim_id].populations
        }
        if "pregnancy" in answer.title:
            assert "pregnancy" in pops, q
        if "children" in answer.title:
            assert "children" in pops, q


# --- safety rules and selected cohorts ------------------------------------------------------------


def test_no_bottom_line_proposes_a_ruled_out_treatment(kb):
    for q in (
        "What is the treatment for a resected PDGFRA D842V GIST?",
        "adjuvant imatinib after resection of a D842V mutant gastric GIST",
        "What is the treatment for PDGFRA D842V mutant GIST?",
    ):
        query = kb.understand(q)
        selection = select(query, kb.contents, kb.algorithm, kb.index)
        assert any(r.treatment == "drug:imatinib" for r in selection.ruled_out), q
        answer, chosen = lead_claims(kb, q)
        for c in chosen:
            assert "drug:imatinib" not in c.entities or c.safety, (q, c.id)
        # nor does a recommended step of the patient group offer imatinib
        for sec in answer.sections:
            if sec.id == "algorithm":
                assert all("options: imatinib" not in st.text.lower() for st in sec.statements), q


def test_selected_cohort_never_leads_a_general_answer(kb):
    for q in ("Is DFSP cancer and will it spread?", "What is the prognosis of DFSP?", "Does GIST spread?"):
        _, chosen = lead_claims(kb, q)
        assert chosen and all(c.cohort is None for c in chosen), q


def test_no_first_sentence_points_at_an_unnamed_study(kb):
    from oncoguide.pack.load import dangling_reference

    for c in kb.contents.claims.values():
        assert dangling_reference(c.clinician) is None, c.id
        assert dangling_reference(c.patient) is None, c.id


# --- pack check of the focus fields ----------------------------------------------------------------


def _edit_claim(pack, mutate):
    path = sorted((pack / "claims").glob("*.yaml"))[0]
    data = yaml.safe_load(path.read_text())
    mutate(data[0])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return data[0]["id"]


def _problems(pack):
    with pytest.raises(PackError) as info:
        load_pack(pack)
    return info.value.problems


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (lambda c: c.update(entities=["drug:no-such-drug"]), "entities", "unknown entity"),
        (lambda c: c.update(populations=["localized"], cohort="metastatic"), "cohort", "must be one of"),
        (lambda c: c.update(answers=[]), "answers", ""),
        (lambda c: c.update(answers=["weather"]), "answers", ""),
        (
            lambda c: c.update(
                safety=[{"treatment": "drug:imatinib", "verdict": "ineffective", "when": ["genotype:x"]}]
            ),
            "safety.0.when",
            "unknown reference",
        ),
        (
            lambda c: c.update(clinician="In that series, most patients did well after surgery."),
            "clinician",
            "without naming it",
        ),
    ],
)
def test_pack_check_refuses_bad_focus_fields(pack_copy, mutate, field, words):
    cid = _edit_claim(pack_copy, mutate)
    problems = _problems(pack_copy)
    assert any(p.entry == cid and p.field.startswith(field) and words in p.message for p in problems), problems


# --- reading the condition from what the question names -------------------------------------------


def test_a_drug_of_one_condition_names_that_condition(kb):
    """A drug the pack discusses for one condition only answers for that condition, with a note."""
    drugs = {}
    for c in kb.contents.claims.values():
        for e in c.entities:
            if e.startswith("drug:"):
                drugs.setdefault(e, set()).add(c.condition)
    only = sorted(e for e, conds in drugs.items() if len(conds) == 1)
    assert only
    key = only[0].partition(":")[2]
    term = kb.contents.lexicon.entities["drug"][key].terms[0]
    answer = kb.ask(f"What did the trial of {term} show?")
    assert answer.understood["condition"] == next(iter(drugs[only[0]]))
    assert any("read as a question about" in n for n in answer.notes)


def test_what_is_a_treatment_asks_about_the_treatment(parse):
    q = parse("What is Mohs surgery and why would I have it for DFSP?")
    assert q.types[0] == "treatment" and "modality:mohs" in q.entities


def test_a_type_named_by_a_drug_comes_after_the_asked_type(parse):
    q = parse("adjuvant imatinib for GIST: how long?")
    assert q.types[0] == "duration"
    q = parse("What side effects does imatinib cause in GIST?")
    assert q.types[0] == "side-effects" and "cause" not in q.types


def test_the_lead_statement_is_shown_whole(kb):
    """The bottom line quotes a statement's opening; the whole statement, with its figures, is in a section."""
    opened = 0
    for question in (
        "What is DFSP?",
        "Is DFSP hereditary?",
        "What are the symptoms of DFSP?",
        "What follow-up is needed after DFSP surgery?",
        "What is the treatment for PDGFRA D842V mutant GIST?",
    ):
        answer = kb.ask(question)
        selection = select(kb.understand(question), kb.contents, None, kb.index)
        shown = {st.claim_id for st in answer.statements()}
        for x in selection.claims:
            text = x.claim.clinician.strip()
            if text.split(". ")[0][:60] in answer.bottom_line and text not in answer.bottom_line:
                opened += 1
                assert x.claim.id in shown, (question, x.claim.id)
    assert opened, "no bottom line quoted a statement in part: pick questions whose leads have several sentences"


def test_question_words_that_name_the_type_do_not_rank_claims(kb):
    from oncoguide.engine.select import query_words

    q = kb.understand("What is the prognosis of DFSP and how is it treated?")
    words = query_words(q, kb.contents.lexicon)
    assert not {"prognosis", "treated"} & set(words)


def test_questions_about_different_drugs_are_different_questions(kb):
    """The community and review key of a question tells apart the drug asked about."""
    from oncoguide.site.review import query_key

    heart = kb.ask("What are the side effects of doxorubicin for sarcoma?", "patient").understood
    ifo = kb.ask("What are the side effects of ifosfamide for sarcoma?", "patient").understood
    assert query_key(heart) != query_key(ifo)
    # a question naming no drug keeps the key it had before entities were read
    plain = kb.ask("Is DFSP hereditary?", "patient").understood
    assert query_key(plain) == query_key({k: v for k, v in plain.items() if k != "entities"})


def test_will_it_spread_asks_about_risk_not_metastatic_disease(parse):
    for text in ("Does GIST spread?", "Can DFSP metastasise?", "will my DFSP spread"):
        q = parse(text)
        assert "prognosis" in q.types and "metastatic" not in q.populations, text
    assert "metastatic" in parse("DFSP that has spread to the lungs").populations
