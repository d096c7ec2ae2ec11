"""Hostile and malformed requests get a clear 4xx, never a 500 and never a traceback."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import csrf_of

HOSTILE = [
    "", " ", "\t\n", "x" * 2001, "x" * 10_000, "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
    "' OR 1=1 --", "'; DROP TABLE turns; --", "{{7*7}}", "${7*7}", "../../../../etc/passwd", "%00", "\x00",
    "\u202eevil", "🙂" * 50, "DFSP\x07", "\ud800" * 0 + "surrogate?", "null", "[]", "{}", "0" * 400,
    "aaaaaaaaaaaaaaaa", "AAAAAAAAAAAAAAAA", "-1", "9" * 50,
]
JSON_VALUES = [None, 0, -1, 1e308, True, [], {}, ["x"], {"a": 1}, "x" * 3000, "<b>bold</b>"]


def clean(r, allowed=(200, 303, 403, 404, 413, 422)):
    assert r.status_code in allowed, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text and 'File "' not in r.text


def test_invalid_json_names_the_problem(client):
    r = client.post("/api/ask", content=b'{"question": "dfsp",', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["error"]
    r = client.post("/api/ask", json={"audience": "patient"})
    assert r.status_code == 422 and r.json()["problems"] == [{"field": "question", "message": "is required"}]
    r = client.post("/api/ask", json={"question": "dfsp", "audience": "surgeon"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "audience"
    r = client.post("/api/ask", json={"question": "dfsp", "colour": "red"})
    assert r.status_code == 422 and r.json()["problems"][0] == {"field": "colour",
                                                                "message": "is not a field this endpoint accepts"}
    r = client.post("/api/ask", json=["question"])
    assert r.status_code == 422
    for raw in (b'{"question": NaN}', b'{"condition": Infinity}', b'{"vignette": "a\\ud800"}'):
        for path in ("/api/ask", "/api/recommend"):
            clean(client.post(path, content=raw, headers={"content-type": "application/json"}))


def test_question_over_2000_characters_is_refused_naming_the_field(client):
    r = client.post("/api/ask", json={"question": "dfsp " * 401})
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "question" and "2000" in r.json()["error"]
    assert client.post("/api/ask", json={"question": "What is DFSP? " + "x" * 1980}).status_code == 200


def test_bodies_over_64_kb_get_413_with_or_without_a_length(client):
    big = json.dumps({"question": "x" * 70_000}).encode()
    r = client.post("/api/ask", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "64 kB" in r.json()["error"]

    def chunks():  # no Content-Length: the limit must count what arrives
        for _ in range(20):
            yield b"x" * 4096

    r = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/ask", data={"question": "x" * 70_000})
    assert r.status_code == 413


def test_fhir_bodies_have_their_own_larger_limit(client):
    """A patient's FHIR record runs larger than a question: /api/recommend and the CDS Hooks service take
    up to max_fhir_body_bytes (4 MB by default), and refuse more, whether or not a length is sent."""
    padded = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final",
                      "code": {"text": "x" * 1000}}} for i in range(100)]}
    r = client.post("/api/recommend", json=padded)
    assert r.status_code == 422 and "no Condition" in r.json()["error"]  # read, not refused for its size

    def chunks():
        for _ in range(1100):
            yield b"x" * 4096

    for path in ("/api/recommend", "/cds-services/oncoguide-sarcoma"):
        r = client.post(path, content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "3906 kB" in r.json()["error"], path


def test_unknown_and_malformed_thread_ids(client):
    r = client.post("/api/ask", json={"question": "and radiotherapy?", "thread_id": "a" * 16})
    assert r.status_code == 422 and "unknown thread_id" in r.json()["error"]
    r = client.post("/api/ask", json={"question": "and radiotherapy?", "thread_id": "../../x"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "thread_id"
    r = client.post("/ask", data={"question": "and radiotherapy?", "thread_id": "a" * 16, "csrf": csrf_of(client)})
    assert r.status_code == 422 and "unknown thread_id" in r.text


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_on_every_endpoint(client, value):
    seg = quote(value, safe="")  # as a browser would send it in a path
    clean(client.post("/api/ask", json={"question": value}))
    clean(client.post("/api/ask", json={"question": "dfsp", "thread_id": value}))
    clean(client.post("/api/ask", json={"question": "dfsp", "audience": value}))
    clean(client.post("/api/recommend", json={"vignette": value}))
    for field in ("condition", "site", "stage", "metastases", "margins"):
        clean(client.post("/api/recommend", json={"condition": "dfsp", field: value}))
    clean(client.get("/api/groups", params={"condition": value}))
    clean(client.get(f"/api/evidence/{seg}"))
    clean(client.get("/api/evidence/imatinib-dfsp", params={"by": value}))
    clean(client.post("/ask", data={"question": value, "audience": value, "thread_id": value}))
    clean(client.post("/ask", data={"question": value, "csrf": csrf_of(client)}))
    clean(client.post("/ask", data={"question": "dfsp", "csrf": value}))
    clean(client.get(f"/answer/{seg}", params={"audience": value}))
    clean(client.get("/algorithm/find", params={"condition": value, "site": value, "vignette": value}))
    clean(client.get("/algorithm/find", params={"condition": "gist", "stage": value}))
    clean(client.get(f"/algorithm/{seg}"))
    clean(client.get(f"/algorithm/groups/{seg}"))
    clean(client.get(f"/evidence/{seg}"))
    clean(client.get("/evidence/imatinib-dfsp", params={"by": value}))
    clean(client.get("/", params={"audience": value}))
    clean(client.get(f"/conditions/{seg}"))
    clean(client.post("/conditions/dfsp/helpful", data={"key": value, "csrf": csrf_of(client)}), allowed=(401, 422))
    clean(client.post(f"/conditions/{seg}/experiences", data={"body": value, "csrf": csrf_of(client)}),
          allowed=(401, 404, 405, 422))
    clean(client.post(f"/experiences/{seg}/flag", data={"csrf": csrf_of(client)}), allowed=(401, 404, 405, 422))
    clean(client.post(f"/moderation/{seg}", data={"decision": value, "csrf": csrf_of(client)}),
          allowed=(401, 404, 405, 422))


@pytest.mark.parametrize("value", JSON_VALUES)
def test_wrong_json_types_on_every_json_endpoint(client, value):
    for body in ({"question": value}, {"question": "dfsp", "audience": value}, {"question": "dfsp", "thread_id": value},
                 value):
        clean(client.post("/api/ask", json=body))
    for field in ("vignette", "condition", "stage", "resectable"):
        clean(client.post("/api/recommend", json={field: value}))
    clean(client.post("/api/recommend", json=value))


def test_wrong_methods_and_content_types(client):
    clean(client.get("/api/ask"), allowed=(405,))
    clean(client.put("/api/recommend", json={}), allowed=(405,))
    clean(client.post("/api/ask", content=b"question=dfsp", headers={"content-type": "text/plain"}))
    form = {"content-type": "application/x-www-form-urlencoded"}
    clean(client.post("/ask", content=b"\xff\xfe\x00garbage", headers=form))
    clean(client.post("/ask", content=b"--x\r\n", headers={"content-type": "multipart/form-data; boundary=x"}))
    clean(client.post("/api/ask", content=b"{}",
                      headers={"content-type": "application/json", "content-length": "abc"}), allowed=(400, 422))


def test_questions_are_rendered_inert(client):
    payload = "<script>alert('x')</script> DFSP <img src=x onerror=alert(2)>"
    r = client.post("/ask", data={"question": payload, "csrf": csrf_of(client)})
    page = client.get(r.url.path + "?audience=clinician").text if r.status_code == 200 else r.text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=50),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12))
def test_any_json_body_gets_an_answer_or_a_clear_refusal(client, body):
    for path in ("/api/ask", "/api/recommend"):
        r = client.post(path, json=body)
        clean(r, allowed=(200, 422))
        if r.status_code == 422:
            assert r.json()["error"]
