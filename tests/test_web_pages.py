"""The HTML pages, through the real application: ask, read, switch audience, follow up, browse."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from oncoguide.web.app import create_app
from tests.conftest import FLAGSHIP, csrf_of


def ask(client, question: str, audience: str = "clinician", thread_id: str = ""):
    r = client.post(
        "/ask",
        data={"question": question, "audience": audience, "thread_id": thread_id, "csrf": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return r.headers["location"]


def turn_of(location: str) -> str:
    return re.match(r"/answer/([a-z2-7]{16})\?", location).group(1)


def h1(html: str) -> str:
    return unescape(re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)).strip()


def test_home_has_question_box_examples_and_conditions(client):
    html = client.get("/").text
    assert '<textarea id="question" name="question"' in html
    assert '<label for="question">' in html
    assert html.count('class="link"') >= 5  # example questions, each a one-click ask
    for name in ("DFSP", "Soft-tissue sarcoma", "GIST"):
        assert name in html


def test_flagship_article_has_cited_sections_and_numbered_references(client):
    page = client.get(ask(client, FLAGSHIP)).text
    assert "metasta" in h1(page).lower()
    cited = {int(n) for n in re.findall(r'<sup class="cite"><a href="#ref-(\d+)"', page)}
    listed = {int(n) for n in re.findall(r'<li id="ref-(\d+)" value="\d+">', page)}
    assert cited and cited == listed, "every superscript links to a listed reference and every reference is cited"
    assert len(listed) >= 5
    refs = page.split('class="refs"', 1)[1]
    assert "https://pubmed.ncbi.nlm.nih.gov/" in refs and "https://doi.org/" in refs
    assert "Sources disagree" in page
    assert 'aria-current="step">Submitted' in page and "Pending review" in page
    assert re.search(r'Last updated <time datetime="\d{4}-\d{2}-\d{2}">', page)
    assert "For health professionals" in page  # the clinician disclaimer


def test_audience_switch_rerenders_the_same_question_for_patients(client):
    loc = ask(client, FLAGSHIP)
    clinician = client.get(loc).text
    patient = client.get(loc.replace("audience=clinician", "audience=patient")).text
    assert 'aria-current="page">Patient or caregiver' in patient
    assert "It is not medical advice for you" in patient and "For health professionals" not in patient
    assert re.search(r"school grade \d\.\d", patient)
    bottom = [re.search(r'class="bottom-line".*?<p>(.*?)<sup', p, re.S).group(1) for p in (clinician, patient)]
    assert bottom[0] != bottom[1]


def test_follow_up_keeps_the_condition_and_the_stage(client):
    first = turn_of(ask(client, FLAGSHIP))
    follow = client.get(ask(client, "what about radiation?", thread_id=first)).text
    title = h1(follow).lower()
    assert "radiotherapy" in title and "metastatic" in title and "dermatofibrosarcoma" in title
    alone = client.get(ask(client, "what about radiation?")).text
    assert "dermatofibrosarcoma" not in h1(alone).lower()


def test_a_thread_started_in_one_worker_continues_in_another(web_settings):
    """Two application instances on one site database stand for two server processes."""
    with TestClient(create_app(web_settings)) as a, TestClient(create_app(web_settings)) as b:
        first = turn_of(ask(a, FLAGSHIP))
        title = h1(b.get(ask(b, "and radiotherapy?", thread_id=first)).text).lower()
    assert "radiotherapy" in title and "metastatic" in title


def test_answer_links_are_stable_and_asking_again_stores_nothing(client, web_settings):
    from sqlalchemy import create_engine, text

    first = ask(client, FLAGSHIP)
    again = ask(client, FLAGSHIP)
    assert first == again
    follow = ask(client, "what about radiation?", thread_id=turn_of(first))
    assert ask(client, "what about radiation?", thread_id=turn_of(first)) == follow
    engine = create_engine(web_settings.database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM turns")).scalar() == 2
    engine.dispose()


def test_unknown_answer_and_unknown_page_get_the_404_page(client):
    for url in ("/answer/aaaaaaaaaaaaaaaa", "/no/such/page", "/algorithm/groups/none", "/evidence/none"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "<h1>Page not found</h1>" in r.text and "Traceback" not in r.text


def test_refused_question_comes_back_with_the_message_and_the_text(client):
    r = client.post("/ask", data={"question": "x" * 2500, "audience": "patient", "csrf": csrf_of(client)})
    assert r.status_code == 422
    assert "too long" in r.text and 'role="alert"' in r.text
    assert 'value="patient" checked' in r.text


def test_algorithm_lists_conditions_and_groups(client):
    html = client.get("/algorithm").text
    for c in ("dfsp", "sts", "gist"):
        assert f'href="/algorithm/{c}"' in html
    gist = client.get("/algorithm/gist").text
    links = re.findall(r'href="/algorithm/groups/(gist-[a-z0-9-]+)"', gist)
    assert len(links) >= 3
    for gid in links:
        page = client.get(f"/algorithm/groups/{gid}").text
        assert re.search(r'class="tier tier-(all|some)">(ALL|SOME) patients', page), gid
        assert '<sup class="cite">' in page and 'class="refs"' in page, gid


def test_group_page_shows_regimen_options_by_line(client):
    page = client.get("/algorithm/groups/gist-recurrent-or-metastatic").text
    assert '<table class="options">' in page
    assert "Imatinib" in page or "imatinib" in page
    assert re.search(r"<td>(Primary|Secondary)</td>", page)


def test_finder_reaches_a_group_or_asks_the_deciding_question(client):
    found = client.get(
        "/algorithm/find", params={"condition": "gist", "site": "gastrointestinal", "metastases": "disseminated"}
    )
    assert found.status_code == 200
    assert 'href="/algorithm/groups/gist-recurrent-or-metastatic"' in found.text
    assert 'class="steps-list"' in found.text
    partial = client.get("/algorithm/find", params={"condition": "gist", "resectable": "yes"})
    assert "One more fact decides" in partial.text and "morbidity" in partial.text.lower()
    text_only = client.get("/algorithm/find", params={"vignette": "metastatic DFSP in the lung"})
    assert "DFSP" in text_only.text and 'class="steps-list"' in text_only.text


def test_finder_refuses_contradictions_and_unknown_values(client):
    bad = client.get("/algorithm/find", params={"condition": "sts", "stage": "I", "metastases": "disseminated"})
    assert bad.status_code == 422 and "contradictory" in bad.text
    junk = client.get("/algorithm/find", params={"condition": "gist", "site": "moon"})
    assert junk.status_code == 422 and "site &#39;moon&#39; is not one of" in junk.text
    empty = client.get("/algorithm/find")
    assert empty.status_code == 422 and "choose the condition" in empty.text


def test_evidence_page_shows_studies_pooled_results_dose_comparison_and_forest_plot(client, kb):
    page = client.get("/evidence/imatinib-dfsp").text
    topic = kb.evidence.topics["imatinib-dfsp"]
    arms = sum(len(s.arms) for s in topic.studies)
    body = page.split('id="studies-h"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr>") == arms  # one row per study arm
    assert "95 / 152" in page  # objective response, computed from the corrected rows
    review = client.get("/evidence/imatinib-dfsp-review-2019").text
    assert "92 / 152" in review  # the 2019 review's own Table 3, reproduced
    assert "mg/day</th>" in page and "Chi-square" in page
    assert "<svg" in page and "<title>" in page
    assert "REML" in page and "prediction interval" in page
    surgery = client.get("/evidence/dfsp-surgery-recurrence?by=technique").text
    assert "risk difference" in surgery


def test_security_headers_on_every_page(client):
    for url in ("/", "/algorithm", "/evidence", "/nope"):
        h = client.get(url).headers
        assert (
            "script-src 'self'" in h["content-security-policy"]
            and "unsafe-inline" not in h["content-security-policy"].split("script-src", 1)[1].split(";")[0]
        )
        assert h["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in h["content-security-policy"]


@pytest.mark.parametrize("url", ["/", "/algorithm", "/evidence/imatinib-dfsp", "/docs"])
def test_pages_load_nothing_from_other_sites(client, url):
    html = client.get(url).text
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', html)
    assert "<script>" not in html and " on" + "click=" not in html  # no inline scripts (the CSP forbids them)


def test_finder_marks_options_for_the_stated_mutation(client):
    page = client.get(
        "/algorithm/find",
        params={
            "condition": "gist",
            "site": "gastrointestinal",
            "metastases": "disseminated",
            "mutation": "pdgfra-d842v",
        },
    ).text
    assert re.search(r'<option value="pdgfra-d842v" selected[ >]', page)
    matched = re.findall(r'<tr class="match">\s*<td>\w+</td>\s*<td>([^<]+)</td>', page)
    assert matched and all(m.strip() == "avapritinib" for m in matched)
    assert "(for another genotype)" in page
