"""What the answer page's reading aids rest on, through the real knowledge base: each disagreement names the
statements it is about, a clarifying question offers choices that re-ask the question, the bottom line's
certainty comes from its sources' levels, and the one reference formatter writes clean references."""

from __future__ import annotations

import re

from oncoguide.engine.certainty import certainty
from oncoguide.engine.references import reference_parts
from tests.conftest import FLAGSHIP


def test_each_conflict_names_shown_statements_of_its_facet(kb):
    answer = kb.ask(FLAGSHIP)
    shown = {st.claim_id for st in answer.statements()}
    placed = [c for c in answer.conflicts if c.claims]
    assert placed, "the flagship answer's disagreements are about statements it shows"
    for c in placed:
        assert set(c.claims) & shown, c.id  # (a claim the bottom line quoted whole is not repeated below it)
        assert all(kb.contents.claims[cid].facet == c.facet for cid in c.claims)
    dose = next(c for c in answer.conflicts if c.id == "imatinib-starting-dose")
    assert dose.facet == "dosing" and dose.claims, "the starting-dose disagreement points at the dosing statement"


def test_a_conflict_about_nothing_shown_names_no_statement(kb):
    answer = kb.ask("How is DFSP treated?")
    facets = {kb.contents.claims[st.claim_id].facet for st in answer.statements() if st.claim_id in kb.contents.claims}
    for c in answer.conflicts:
        assert bool(c.claims) == (c.facet in facets), c.id


def test_clarifying_choices_re_ask_the_question_with_the_option(kb):
    answer = kb.ask("How is DFSP treated?")
    (clarify,) = answer.clarify
    assert [ch.value for ch in clarify.choices] == clarify.options
    metastatic = next(ch for ch in clarify.choices if ch.value == "metastatic")
    assert metastatic.question.startswith("How is DFSP treated?") and "metastatic" in metastatic.question
    again = kb.ask(metastatic.question)
    assert again.title.lower().startswith("metastatic") and not again.clarify


def test_the_condition_choices_name_each_condition(kb):
    answer = kb.ask("Is it dangerous?")
    (clarify,) = answer.clarify
    labels = {ch.value: ch.label for ch in clarify.choices}
    assert "GIST" in labels["gist"] and "DFSP" in labels["dfsp"]
    gist = next(ch for ch in clarify.choices if ch.value == "gist")
    assert "gastrointestinal stromal" in kb.ask(gist.question).title.lower()


def test_certainty_is_read_from_the_strongest_source():
    assert certainty([4, 3, 5]).grade == "Moderate" and certainty([4, 3, 5]).best_level == 3
    assert certainty([2]).grade == "High"
    assert certainty([5, 5]).grade == "Very low" and certainty([5, 5]).sources == 2
    assert certainty([]) is None
    assert "level 3" in certainty([3]).explain("clinician")
    assert "level" not in certainty([3]).explain("patient")


def test_references_close_each_part_once_and_name_pages_without_a_volume(kb):
    for src in kb.contents.sources.values():
        text = reference_parts(src).text()
        assert not re.search(r"\.\.|[?!]\.", text), (src.id, text)
        if src.pages and not src.volume and src.journal:
            assert f"{src.year}:{src.pages}" not in text, (src.id, text)
    hoesly = reference_parts(kb.contents.sources["hoesly-2015"]).text()
    assert "Journal of the American Academy of Dermatology. 2015, pp. 419-425." in hoesly
    park = reference_parts(kb.contents.sources["park-2017-gist-staging"]).text()
    assert "which is better? BMC Gastroenterology" in park


def test_a_library_citation_has_one_period_after_et_al():
    from oncoguide.library.store import DocumentInfo

    doc = DocumentInfo(
        1,
        "Does it work?",
        ["Smith J", "Jones K"],
        "Sarcoma",
        2020,
        "123",
        None,
        "article",
        None,
        "x.txt",
        "text",
        10,
        1,
        None,
        "h",
    )
    assert doc.citation() == "Smith J, et al. Does it work? Sarcoma. 2020. PMID 123."
    one = DocumentInfo(
        1, "A title.", ["Smith J."], None, None, None, "10.1/x", "article", None, "x", "text", 1, 1, None, "h"
    )
    assert one.citation() == "Smith J. A title. doi:10.1/x."


# --- the answer page through the real application (FastAPI TestClient) ----------------------------------


def page_of(client, question: str, audience: str = "clinician") -> str:
    from tests.test_web_pages import ask

    return client.get(ask(client, question, audience)).text


def test_the_page_links_every_citation_mark_to_its_reference_and_back(client):
    html = page_of(client, FLAGSHIP)
    marks = re.findall(r'<a href="#ref-(\d+)" id="(cite-[^"]+)"', html)
    backs = set(re.findall(r'<a href="#(cite-[^"]+)" title=', html))
    assert marks and {m for _, m in marks} == backs
    for n, mark in marks:
        assert mark.endswith(f"-{n}")
        entry = re.search(rf'<li id="ref-{n}" value="{n}">(.*?)</li>', html, re.S).group(1)
        assert f'href="#{mark}"' in entry, "the reference links back to this mark"
        assert '<template class="ref-preview"><span class="ref-title">' in entry


def test_the_bottom_line_card_gives_certainty_and_review_status(client):
    html = page_of(client, FLAGSHIP)
    card = re.search(r'<section class="bottom-line".*?</section>', html, re.S).group(0)
    assert "Certainty of evidence" in card and re.search(r">(High|Moderate|Low|Very low)</strong>", card)
    assert "Oxford CEBM 2011" in card
    assert '<a href="#review">Pending review</a>' in card
    patient = page_of(client, FLAGSHIP, "patient")
    card = re.search(r'<section class="bottom-line".*?</section>', patient, re.S).group(0)
    assert "How strong the evidence is" in card and "Oxford" not in card and ">In short</h2>" in card


def test_clarifying_buttons_post_the_re_asked_question_in_the_thread(client):
    from tests.test_web_pages import ask, turn_of

    loc = ask(client, "How is DFSP treated?")
    html = client.get(loc).text
    form = re.search(r'<form method="post" action="/ask" class="choices".*?</form>', html, re.S).group(0)
    assert f'name="thread_id" value="{turn_of(loc)}"' in form
    values = re.findall(r'<button type="submit" name="question" value="([^"]+)" class="choice">([^<]+)</button>', form)
    assert ("How is DFSP treated? (metastatic)", "metastatic") in values
    r = client.post(
        "/ask",
        data={
            "question": "How is DFSP treated? (metastatic)",
            "audience": "clinician",
            "thread_id": turn_of(loc),
            "csrf": client.cookies["og_csrf"],
        },
        follow_redirects=False,
    )
    again = client.get(r.headers["location"]).text
    assert "Metastatic dermatofibrosarcoma protuberans" in again and 'class="choices"' not in again


def test_a_page_without_sections_has_no_contents_and_still_offers_choices(client):
    html = page_of(client, "Is it dangerous?")
    assert 'class="toc"' not in html and 'id="references"' not in html
    assert html.count('class="choice"') == 3 and ">Gastrointestinal stromal tumour (GIST)</button>" in html
    refused = page_of(client, "How is breast cancer treated?")
    assert 'class="toc"' not in refused and 'class="cite"' not in refused
