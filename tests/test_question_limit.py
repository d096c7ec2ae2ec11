"""ONCOGUIDE_MAX_QUESTION_CHARS is the one limit on a question's length: the JSON API, the form and the
OpenAPI document all follow it (they once kept their own copy of 2,000)."""

from __future__ import annotations

import pytest

from oncoguide.settings import Settings
from tests.conftest import csrf_of

LIMIT = 5000
LONG = "What is DFSP? " + "x" * 2986  # 3,000 characters: over the shipped limit, under the raised one


@pytest.fixture
def raised(monkeypatch, kb_settings, tmp_path):
    from fastapi.testclient import TestClient

    from oncoguide.web.app import create_app

    monkeypatch.setenv("ONCOGUIDE_MAX_QUESTION_CHARS", str(LIMIT))
    settings = Settings(
        db=kb_settings.db, pack_dir=kb_settings.pack_dir, database_url=f"sqlite:///{tmp_path / 'site.sqlite3'}"
    )
    assert settings.max_question_chars == LIMIT
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_a_raised_limit_lets_a_longer_question_through_the_api(raised):
    r = raised.post("/api/ask", json={"question": LONG})
    assert r.status_code == 200, r.text[:300]
    r = raised.post("/api/ask", json={"question": "dfsp " * 1001})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "question"
    assert str(LIMIT) in r.json()["error"]


def test_a_raised_limit_lets_a_longer_question_through_the_form(raised):
    r = raised.post(
        "/ask", data={"question": LONG, "audience": "patient", "csrf": csrf_of(raised)}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:300]


def test_the_openapi_document_states_the_limit_in_force(raised):
    spec = raised.get("/openapi.json").json()
    assert spec["components"]["schemas"]["AskIn"]["properties"]["question"]["maxLength"] == LIMIT
    body = spec["paths"]["/api/recommend"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    vignette = body["oneOf"][0]["properties"]["vignette"]["anyOf"]
    assert {"type": "string", "minLength": 1, "maxLength": LIMIT} in vignette
