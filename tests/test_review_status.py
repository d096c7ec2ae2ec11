"""A review status is shown only when it is true (issue 15, item 2), on SQLite and PostgreSQL: every
audience variant readers can switch to is an article reviewers can see and approve; a variant without
an article and every refusal show no status and claim nothing about citations; the condition page's
short answer links to its article and shows that article's status."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from oncoguide.site.questions import OVERVIEW
from oncoguide.site.threads import ask_in_thread
from tests.conftest import FLAGSHIP, csrf_of, login

NO_STATUS = (
    "review-steps",
    "Article review status",
    "Pending review",
    "Submitted",
    "Under review",
    "Approved",
    "cites its source",
    "Review status",
)


def ask(client, question: str, audience: str = "clinician") -> str:
    r = client.post(
        "/ask", data={"question": question, "audience": audience, "csrf": csrf_of(client)}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:300]
    return r.headers["location"]


def review_link(page: str) -> int:
    return int(re.search(r'<a href="/review/articles/(\d+)">Open in the review queue</a>', page).group(1))


def current_step(page: str) -> str:
    return re.search(r'<li class="\w+" aria-current="step">([^<]+)</li>', page).group(1)


def move(client, art_id: int, to: str, comment: str = "") -> None:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review").text).group(1)
    revision = client.app.state.site.reviews.get(art_id).revision
    r = client.post(
        f"/review/articles/{art_id}",
        data={"to": to, "comment": comment, "revision": revision, "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]


def test_each_audience_variant_is_an_article_a_reviewer_can_approve(site):
    clinician_url = ask(site, FLAGSHIP, "clinician")
    patient_url = clinician_url.replace("audience=clinician", "audience=patient")
    reviewer = login(TestClient(site.app, raise_server_exceptions=False), "reviewer1")
    patient_page = reviewer.get(patient_url).text
    assert current_step(patient_page) == "Submitted" and "Pending review" in patient_page
    art_id = review_link(patient_page)  # the status shown belongs to a real article ...
    assert art_id != review_link(reviewer.get(clinician_url).text)
    review_page = reviewer.get(f"/review/articles/{art_id}").text  # ... which the reviewer sees ...
    assert "Patient or caregiver" in review_page and 'value="under-review"' in review_page
    move(reviewer, art_id, "under-review")
    move(reviewer, art_id, "approved", "Checked the patient wording.")  # ... and approves
    reader = TestClient(site.app, raise_server_exceptions=False)
    patient_page = reader.get(patient_url).text
    assert current_step(patient_page) == "Approved" and "Reviewed by Dr Reviewer (reviewer)" in patient_page
    clinician_page = reader.get(clinician_url).text
    assert current_step(clinician_page) == "Submitted" and "Pending review" in clinician_page


def test_api_and_link_questions_make_both_articles_too(site):
    site.post("/api/ask", json={"question": "Is DFSP contagious?", "audience": "patient"})
    r = site.get(
        "/ask", params={"question": "Does imatinib work for DFSP that cannot be removed?"}, follow_redirects=False
    )
    assert r.status_code == 303
    queue = site.app.state.site.reviews.queue()["submitted"]
    audiences = sorted((a["question"], a["audience"]) for a in queue)
    assert audiences == [
        ("Does imatinib work for DFSP that cannot be removed?", "clinician"),
        ("Does imatinib work for DFSP that cannot be removed?", "patient"),
        ("Is DFSP contagious?", "clinician"),
        ("Is DFSP contagious?", "patient"),
    ]


def test_a_variant_without_an_article_shows_no_status(site):
    state = site.app.state
    # a turn stored before articles were made for every audience: neither variant has an article
    turn, _answer, _earlier = ask_in_thread(
        state.site, state.site.threads, "What is the outlook for GIST?", "clinician"
    )
    for audience in ("clinician", "patient"):
        page = site.get(f"/answer/{turn}?audience={audience}").text
        assert "Bottom line" in page or "In short" in page
        for words in NO_STATUS:
            assert words not in page, (audience, words)


def test_refusals_carry_no_review_status_and_no_citation_claim(site):
    for question in ("How do I bake sourdough bread?", "What is the treatment?", "Какое лечение DFSP?"):
        for audience in ("clinician", "patient"):
            page = site.get(ask(site, question, audience)).text
            title = re.search(r'<h1 id="answer-title">([^<]+)</h1>', page).group(1)
            assert title in ("Not covered", "Which condition?", "Please ask in English"), title
            for words in NO_STATUS:
                assert words not in page, (question, audience, words)
            as_json = site.post("/api/ask", json={"question": question, "audience": audience})
            assert as_json.json()["in_scope"] is False
            assert "cites its source" not in as_json.text and "review" not in as_json.text.lower()
    assert site.app.state.site.reviews.queue()["submitted"] == []  # and no article was made for any of them


def test_the_condition_page_links_its_short_answer_to_its_article(site):
    page = site.get("/conditions/dfsp").text
    href = re.search(r'<a class="full-answer" href="(/answer/[a-z2-7]{16}\?audience=patient)">', page).group(1)
    shown = re.search(r"Review status: <strong>([^<]+)</strong>", page).group(1)
    full = site.get(href)
    assert full.status_code == 200 and OVERVIEW["dfsp"] in full.text
    reviews = site.app.state.site.reviews
    article = reviews.reader_view(site.app.state.site.kb.ask(OVERVIEW["dfsp"], audience="patient"))
    assert article is not None and article.audience == "patient" and shown == article.label == "Submitted"
    assert current_step(full.text) == "Submitted"
    reviewer = login(TestClient(site.app, raise_server_exceptions=False), "reviewer1")
    assert review_link(reviewer.get(href).text) == article.id
    move(reviewer, article.id, "under-review")
    move(reviewer, article.id, "approved", "Plain and correct.")
    page = TestClient(site.app).get("/conditions/dfsp").text
    assert "Review status: <strong>Approved</strong>,\n    reviewed by Dr Reviewer (reviewer)" in page
    assert href in page  # the same article, approved


def test_the_command_line_claims_no_review_status():
    """The CLI reads no site database, so it cannot know of an article: its text and Markdown must not say
    the answer is Submitted or pending review, only that this copy is not reviewed."""
    from tests.conftest import run_cli

    for fmt in ("text", "markdown"):
        out = run_cli("ask", FLAGSHIP, "--format", fmt)
        assert out.returncode == 0, out.stderr
        assert "Submitted" not in out.stdout and "pending review" not in out.stdout.lower()
        assert "pending clinician review" not in out.stdout.lower()
        assert "Not clinician-reviewed" in out.stdout
