"""Everyday polish (issue 19, part 3) over real HTTP, on SQLite and PostgreSQL where accounts are involved:
reviewer credentials and affiliation (migration 0011) edited on the account page and shown beside
"Reviewed by"; where signing in and joining lead; the navigation, breadcrumbs and algorithm pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from oncoguide.site.db import alembic_config, engine_for, upgrade
from oncoguide.web.app import create_app
from tests.conftest import ACCOUNT_PASSWORD, FLAGSHIP, csrf_of, login
from tests.test_review_status import ask, move, review_link


def sign_in(client, username: str, next_page: str = ""):
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": ACCOUNT_PASSWORD, "csrf": token, "next": next_page},
        follow_redirects=False,
    )


def page_token(client, path: str = "/account") -> str:
    """The CSRF token of a signed-in session, as its pages carry it."""
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def test_migration_0011_adds_credentials_and_affiliation_and_removes_them_again(site_url):
    from alembic import command

    upgrade(site_url)
    engine = engine_for(site_url)
    assert {"credentials", "affiliation"} <= {c["name"] for c in inspect(engine).get_columns("users")}
    config = alembic_config(site_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
    engine.dispose()
    engine = engine_for(site_url)
    assert not {"credentials", "affiliation"} & {c["name"] for c in inspect(engine).get_columns("users")}
    engine.dispose()


def test_a_reviewer_sets_credentials_and_readers_see_them_beside_reviewed_by(site):
    url = ask(site, FLAGSHIP, "patient")
    reviewer = login(TestClient(site.app, raise_server_exceptions=False), "reviewer1")
    account = reviewer.get("/account").text
    assert 'id="p-credentials"' in account and 'id="p-affiliation"' in account
    token = page_token(reviewer)
    r = reviewer.post(
        "/account/profile",
        data={"credentials": "MD,  PhD", "affiliation": "Sarcoma Unit, Hospital Clínic", "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/account?saved=profile")
    page = reviewer.get(r.headers["location"]).text
    assert 'value="MD, PhD"' in page and "Readers see them beside" in page  # spaces collapsed, kept, said so

    art_id = review_link(reviewer.get(url).text)
    move(reviewer, art_id, "under-review")
    move(reviewer, art_id, "approved", "Checked.")
    reader = TestClient(site.app, raise_server_exceptions=False)
    assert "Reviewed by Dr Reviewer, MD, PhD (reviewer, Sarcoma Unit, Hospital Clínic)" in reader.get(url).text

    # cleared again: the name and role alone, as before
    reviewer.post("/account/profile", data={"credentials": " ", "affiliation": "", "csrf": token})
    assert "Reviewed by Dr Reviewer (reviewer)," in reader.get(url).text


def test_credentials_changed_through_one_worker_show_on_the_page_another_worker_cached(site):
    # two server processes on one site database: each caches answer pages, keyed by what the review shows
    url = ask(site, FLAGSHIP, "patient")
    reviewer = login(TestClient(site.app, raise_server_exceptions=False), "reviewer1")
    art_id = review_link(reviewer.get(url).text)
    move(reviewer, art_id, "under-review")
    move(reviewer, art_id, "approved", "Checked.")
    settings = site.app.state.site.settings
    with TestClient(create_app(settings), raise_server_exceptions=False) as other:
        assert "Reviewed by Dr Reviewer (reviewer)," in other.get(url).text  # cached by the other worker
        token = page_token(reviewer)
        reviewer.post("/account/profile", data={"credentials": "FRCS", "affiliation": "Unit B", "csrf": token})
        assert "Reviewed by Dr Reviewer, FRCS (reviewer, Unit B)" in other.get(url).text


def test_credentials_are_refused_with_a_reason_and_only_reviewers_have_them(site):
    reviewer = login(TestClient(site.app, raise_server_exceptions=False), "reviewer1")
    token = page_token(reviewer)
    r = reviewer.post("/account/profile", data={"credentials": "MD\u202eDhP", "affiliation": "", "csrf": token})
    assert r.status_code == 422 and "text-direction controls" in r.text
    r = reviewer.post("/account/profile", data={"credentials": "M" * 121, "affiliation": "", "csrf": token})
    assert r.status_code == 422 and "at most 120 characters" in r.text
    member = login(TestClient(site.app, raise_server_exceptions=False), "reader1")
    assert 'id="p-credentials"' not in member.get("/account").text
    r = member.post("/account/profile", data={"credentials": "MD", "affiliation": "", "csrf": page_token(member)})
    assert r.status_code == 403 and site.app.state.site.accounts.get("reader1").credentials is None


@pytest.mark.parametrize(
    ("username", "asked", "lands"),
    [
        ("moderator1", "", "/moderation"),
        ("moderator1", "/review", "/moderation"),  # the old default: not a 403 any more
        ("reviewer1", "", "/review"),
        ("reviewer1", "/review/questions", "/review"),  # editors' list: a reviewer is sent to the queue
        ("editor1", "/review/questions", "/review/questions"),
        ("reader1", "", "/"),
        ("reader1", "/moderation", "/"),
        ("reader1", "/conditions/dfsp", "/conditions/dfsp"),
        ("reader1", "//evil.example/", "/"),
    ],
)
def test_signing_in_lands_on_a_page_the_role_may_see(site, username, asked, lands):
    client = TestClient(site.app, raise_server_exceptions=False)
    r = sign_in(client, username, asked)
    assert r.status_code == 303 and r.headers["location"] == lands
    assert client.get(lands).status_code == 200


def test_joining_welcomes_and_points_to_the_next_step(client):
    page = client.get("/join?next=/conditions/gist").text
    r = client.post(
        "/join",
        data={
            "username": "new.member",
            "display_name": "Sam",
            "password": "a long new passphrase",
            "next": "/conditions/gist",
            "csrf": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert 'value="/conditions/gist"' in page
    assert r.status_code == 303 and r.headers["location"] == "/welcome?next=/conditions/gist"
    welcome = client.get(r.headers["location"]).text
    assert "Welcome, Sam" in welcome
    assert 'href="/conditions/gist#share-h"' in welcome  # share a story where they came from
    assert 'href="/conditions/gist">Go back to the page you were on' in welcome
    assert 'href="/account">Choose whether to show your country' in welcome
    fresh = TestClient(client.app, raise_server_exceptions=False)
    assert fresh.get("/welcome", follow_redirects=False).headers["location"] == "/join"


def test_navigation_marks_the_current_page_and_includes_community(client):
    def current(path: str) -> dict[str, str]:
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', client.get(path).text, re.S).group(1)
        return {label: value for value, label in re.findall(r'aria-current="(\w+)"[^>]*>([^<]+)</a>', nav)}

    assert current("/") == {"Ask": "page"}
    assert current("/algorithm") == {"Treatment algorithm": "page"}
    assert current("/algorithm/groups/dfsp-localized") == {"Treatment algorithm": "true"}
    assert current("/evidence/imatinib-dfsp") == {"Evidence": "true"}
    assert current("/community") == {"Community": "page"}
    assert current("/conditions/sts") == {"Community": "true"}
    assert current("/login") == {"Sign in": "page"}
    community = client.get("/community").text
    for slug in ("dfsp", "sts", "gist"):
        assert f'<a href="/conditions/{slug}">' in community


def breadcrumb(page: str) -> list[str]:
    nav = re.search(r'<nav class="crumbs" aria-label="Breadcrumb">(.*?)</nav>', page, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", nav, re.S)]


def test_breadcrumbs_on_answers_groups_and_evidence(client):
    r = client.post("/api/ask", json={"question": FLAGSHIP})
    answer = client.get(f"/answer/{r.json()['thread_id']}?audience=clinician").text
    crumbs = breadcrumb(answer)
    assert crumbs[:2] == ["Ask", "Dermatofibrosarcoma protuberans (DFSP)"] and len(crumbs) == 3
    assert '<span aria-current="page">' in answer
    assert breadcrumb(client.get("/algorithm/groups/gist-unresectable").text)[:2] == [
        "Treatment algorithm",
        "Gastrointestinal stromal tumour (GIST)",
    ]
    assert breadcrumb(client.get("/evidence/imatinib-dfsp").text)[0] == "Evidence"


def test_the_answers_group_section_links_to_the_groups_page(client):
    r = client.post("/api/ask", json={"question": FLAGSHIP})
    answer = client.get(f"/answer/{r.json()['thread_id']}?audience=clinician").text
    link = re.search(r'<p class="group-link"><a href="(/algorithm/groups/[a-z0-9-]+)">', answer).group(1)
    assert link == "/algorithm/groups/dfsp-metastatic"
    assert "DFSP: metastatic" in client.get(link).text


def test_group_steps_are_shown_by_phase_with_alternatives_as_options(client):
    page = client.get("/algorithm/groups/sts-ext-stage-3-resectable").text
    phases = re.findall(r'class="phase-h">([^<]+)<', page)
    assert phases == [
        "Before the main treatment (neoadjuvant)",
        "Main treatment",
        "After the main treatment (adjuvant)",
    ]
    steps = re.findall(r'<li class="step( alternative)?">\s*<h4>([^<]+?) <', page)
    alternatives = [name for alt, name in steps if alt]
    assert alternatives == ["Neoadjuvant radiotherapy or chemoradiation", "Neoadjuvant systemic therapy"]
    for name in alternatives:  # an alternative is an option, not a step for ALL patients
        block = page[page.index(f"<h4>{name} ") :][:600]
        assert "One option" in block and "ALL patients" not in block
    assert "Choose one: how treatment starts" in page


def test_regimen_tables_have_a_when_column_only_when_an_option_says_when(client):
    dfsp = client.get("/algorithm/groups/dfsp-unresectable").text  # imatinib: one option, no condition
    assert dfsp.count('<table class="options">') >= 1 and '<th scope="col">When</th>' not in dfsp
    gist = client.get("/algorithm/groups/gist-unresectable").text  # options by genotype
    assert '<th scope="col">When</th>' in gist and "KIT exon 9 mutation" in gist


def test_the_finder_labels_and_fields_fit_the_condition(client):
    home = client.get("/algorithm").text
    assert "AJCC 8th edition stage group</label>" in home and "Ajcc" not in home
    sts = client.get("/algorithm/find", params={"condition": "sts", "site": "extremity", "stage": "I"}).text

    def shown(page: str) -> set[str]:
        fields = re.findall(r'<div class="field" data-conditions="[^"]*"( hidden)?>\s*<label for="f-(\w+)"', page)
        return {name for hidden, name in fields if not hidden}

    assert shown(sts) == {"site", "stage", "resectable", "metastases", "recurrence", "mutation"}
    offered = re.findall(r'<option value="([\w-]+)"[^>]*data-conditions="[^"]*"(?! hidden)[^>]*>', sts)
    assert offered == ["ntrk"]  # no GIST genotypes for a soft-tissue sarcoma
    dfsp = client.get("/algorithm/find", params={"condition": "dfsp", "vignette": "DFSP of the back"}).text
    assert shown(dfsp) == {"resectable", "metastases", "recurrence", "margins", "subtype"}
    assert shown(home) >= {"stage", "morbidity", "subtype", "mutation"}  # no condition yet: every field
