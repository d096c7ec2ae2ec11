"""The JSON API returns what the CLI prints with --format json, and documents itself at /docs."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FLAGSHIP, run_cli


def cli_json(kb_settings, *args):
    r = run_cli(*args, "--format", "json", db=kb_settings.db)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_ask_returns_the_cli_answer_plus_a_thread_id(client, kb_settings):
    r = client.post("/api/ask", json={"question": FLAGSHIP, "audience": "patient"})
    assert r.status_code == 200
    data = r.json()
    thread_id = data.pop("thread_id")
    assert len(thread_id) == 16
    assert data == cli_json(kb_settings, "ask", FLAGSHIP, "--audience", "patient")


def test_follow_up_through_the_api_keeps_the_context(client):
    first = client.post("/api/ask", json={"question": FLAGSHIP}).json()
    follow = client.post("/api/ask", json={"question": "what about radiation?", "thread_id": first["thread_id"]})
    assert follow.status_code == 200
    data = follow.json()
    assert data["understood"]["condition"] == "dfsp"
    assert "metastatic" in data["understood"]["populations"]
    assert "radiotherapy" in data["title"].lower()
    assert data["thread_id"] not in (first["thread_id"],)


def test_recommend_matches_the_cli(client, kb_settings):
    body = {"condition": "sts", "site": "extremity", "stage": "III", "resectable": "yes"}
    r = client.post("/api/recommend", json=body)
    assert r.status_code == 200
    assert r.json() == cli_json(
        kb_settings, "recommend", "--condition", "sts", "--site", "extremity", "--stage", "III", "--resectable", "yes"
    )
    vignette = client.post(
        "/api/recommend", json={"vignette": "metastatic GIST of the stomach progressing on imatinib"}
    )
    assert vignette.status_code == 200 and vignette.json()["group"]["id"].startswith("gist-")


def test_groups_and_evidence_match_the_cli(client, kb_settings):
    assert client.get("/api/groups", params={"condition": "gist"}).json() == cli_json(
        kb_settings, "groups", "--condition", "gist"
    )
    assert client.get("/api/groups").json() == cli_json(kb_settings, "groups")
    assert client.get("/api/evidence/imatinib-dfsp", params={"by": "dose"}).json() == cli_json(
        kb_settings, "evidence", "imatinib-dfsp", "--by", "dose"
    )


def test_recommend_explains_what_is_wrong(client):
    r = client.post("/api/recommend", json={"condition": "sts", "stage": "I", "metastases": "disseminated"})
    assert r.status_code == 422 and "contradictory" in r.json()["error"]
    r = client.post("/api/recommend", json={})
    assert r.status_code == 422 and "vignette" in r.json()["error"]


def test_evidence_errors(client):
    assert client.get("/api/evidence/nothing").status_code == 404
    r = client.get("/api/evidence/imatinib-dfsp", params={"by": "technique"})
    assert r.status_code == 422 and "dose" in r.json()["error"]


def test_openapi_documents_every_endpoint_and_docs_page_is_served_locally(client):
    spec = client.get("/openapi.json").json()
    for path, method in (
        ("/api/ask", "post"),
        ("/api/recommend", "post"),
        ("/api/groups", "get"),
        ("/api/evidence/{topic}", "get"),
    ):
        assert method in spec["paths"][path], path
    assert spec["components"]["schemas"]["AskIn"]["properties"]["question"]["maxLength"] == 2000
    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/htmx.min.js").text.startswith("var htmx")


@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_out_of_scope_questions_say_so(client, audience):
    data = client.post("/api/ask", json={"question": "How do I fix a flat bicycle tyre?", "audience": audience}).json()
    assert data["in_scope"] is False and data["sections"] == []


def test_recommend_with_mutation_matches_the_cli(client, kb_settings):
    body = {"condition": "gist", "site": "gastrointestinal", "metastases": "disseminated", "mutation": "kit-exon9"}
    r = client.post("/api/recommend", json=body)
    assert r.status_code == 200 and r.json()["genotype"] == "kit-exon9"
    assert r.json() == cli_json(
        kb_settings,
        "recommend",
        "--condition",
        "gist",
        "--site",
        "gastrointestinal",
        "--metastases",
        "disseminated",
        "--mutation",
        "kit-exon9",
    )
