"""The CDS Hooks service, called as a hospital record system calls it: real HTTP requests to the running
server (`oncoguide serve`, two workers), responses checked against the CDS Hooks 2.0 card fields."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import jsonschema
import pytest

from tests.conftest import run_cli
from tests.fhir_records import (
    ICD10,
    SNOMED,
    bundle,
    coding,
    condition,
    kit_gist,
    metastatic_dfsp,
    prefetch,
    split,
    stage_iv_sts,
)
from tests.fhir_records import hook_request as hook

SERVICE = "/cds-services/oncoguide-sarcoma"

# The card as the CDS Hooks 2.0 specification defines it (field tables of "CDS Service Response")
CODING = {
    "type": "object",
    "required": ["code", "display"],
    "properties": {
        "system": {"type": "string", "minLength": 1},
        "code": {"type": "string", "minLength": 1},
        "display": {"type": "string", "minLength": 1},
    },
}
CARD = {
    "type": "object",
    "required": ["summary", "indicator", "source"],
    "additionalProperties": False,
    "properties": {
        "uuid": {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"},
        "summary": {"type": "string", "minLength": 1, "maxLength": 139},
        "detail": {"type": "string", "minLength": 1},
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": {
            "type": "object",
            "required": ["label"],
            "additionalProperties": False,
            "properties": {
                "label": {"type": "string", "minLength": 1},
                "url": {"type": "string", "pattern": "^https?://"},
                "icon": {"type": "string"},
                "topic": CODING,
            },
        },
        "suggestions": {"type": "array", "minItems": 1},
        "selectionBehavior": {"enum": ["at-most-one", "any"]},
        "overrideReasons": {"type": "array", "minItems": 1, "items": CODING},
        "links": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["label", "url", "type"],
                "additionalProperties": False,
                "properties": {
                    "label": {"type": "string", "minLength": 1},
                    "url": {"type": "string", "pattern": "^https?://"},
                    "type": {"enum": ["absolute", "smart"]},
                    "appContext": {"type": "string"},
                },
            },
        },
    },
}
RESPONSE = {"type": "object", "required": ["cards"], "properties": {"cards": {"type": "array", "items": CARD}}}


def call(base: str, path: str, body=None, method: str | None = None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(
        base + path,
        data=data,
        method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), dict(e.headers)


def cards_for(base: str, conditions, observations=None, patient: str = "pat-1") -> list[dict]:
    status, body, _ = call(base, SERVICE, hook(prefetch(conditions, observations, patient), patient))
    assert status == 200, body
    jsonschema.validate(body, RESPONSE)
    return body["cards"]


def fetch_page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:  # follows the /ask redirect to the answer
        assert r.status == 200
        return r.read().decode()


def test_discovery_describes_the_patient_view_service(live_server):
    status, body, headers = call(live_server, "/cds-services")
    assert status == 200
    (service,) = body["services"]
    assert service["id"] == "oncoguide-sarcoma" and service["hook"] == "patient-view"
    assert service["description"] and service["title"]
    assert service["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}"
    assert "http://loinc.org|21908-9" in service["prefetch"]["observations"]
    assert headers.get("access-control-allow-origin") == "*"


def test_metastatic_dfsp_gets_the_metastatic_dfsp_card_with_citations_and_working_links(live_server):
    conditions, observations = split(metastatic_dfsp())
    (card,) = cards_for(live_server, conditions, observations)
    assert card["summary"].startswith("DFSP: metastatic (nodal or distant spread)")
    assert card["indicator"] == "info"
    assert card["source"]["label"] == "oncoguide treatment algorithm"
    assert card["source"]["url"] == f"{live_server}/algorithm/dfsp"
    detail = card["detail"]
    assert "**Recommended steps**" in detail and "imatinib" in detail
    # numbered citations in the steps, each number in the reference list, PubMed links among them
    cited = {int(n) for marks in re.findall(r"\[(\d+(?:,\d+)*)\]\n", detail) for n in marks.split(",")}
    assert cited and all(f"\n{n}. " in detail for n in cited)
    assert "PMID [30601909](https://pubmed.ncbi.nlm.nih.gov/30601909/)" in detail
    assert "Condition/lung-mets" in detail and "C78.0" in detail  # where each fact was read
    links = {link["label"]: link["url"] for link in card["links"]}
    group_page = fetch_page(links["Patient group: DFSP: metastatic (nodal or distant spread)"])
    assert "DFSP: metastatic" in group_page and "imatinib" in group_page
    answer_page = fetch_page(links["Full answer (oncoguide)"])
    assert "Metastatic dermatofibrosarcoma protuberans" in answer_page
    finder_page = fetch_page(links["This patient's recommendation in full"])
    assert "DFSP: metastatic (nodal or distant spread)" in finder_page


def test_no_card_when_nothing_applies(live_server):
    diabetes = bundle(condition("dm2", coding(SNOMED, "44054006", "Diabetes mellitus type 2")))
    assert cards_for(live_server, diabetes) == []
    resolved = bundle(
        condition("old", coding(SNOMED, "276799004", "Dermatofibrosarcoma protuberans"), status="resolved")
    )
    assert cards_for(live_server, resolved) == []
    refuted = condition("r", coding(SNOMED, "276799004"))
    refuted["verificationStatus"] = {"coding": [{"code": "refuted"}]}
    assert cards_for(live_server, bundle(refuted)) == []
    assert cards_for(live_server, None) == []  # the record system has no Conditions for this patient


def test_stage_iv_sarcoma_with_two_metastatic_organs_is_disseminated(live_server):
    conditions, observations = split(stage_iv_sts())
    (card,) = cards_for(live_server, conditions, observations)
    assert card["summary"].startswith("Extremity or trunk: stage IV with disseminated metastases")
    assert "secondary neoplasms coded in 2 different organs" in card["detail"]


def test_a_genotype_observation_marks_the_regimen_options_that_fit(live_server):
    conditions, observations = split(kit_gist())
    (card,) = cards_for(live_server, conditions, observations)
    assert card["summary"].startswith("GIST: recurrent or metastatic")
    assert "mutation kit" in card["detail"] and "(fits the recorded genotype)" in card["detail"]


def test_a_missing_fact_gets_a_card_saying_what_decides(live_server):
    thigh = bundle(condition("sts", coding(ICD10, "C49.2", "Connective and soft tissue of lower limb")))
    (card,) = cards_for(live_server, thigh)
    assert card["indicator"] == "info" and "stage" in card["summary"]
    assert "AJCC 8th edition stage group" in card["detail"]
    assert "no staging or genomic Observations were sent" in card["detail"]


def test_a_contradictory_record_gets_a_warning(live_server):
    deep_dfsp = bundle(
        condition(
            "d",
            coding(SNOMED, "276799004", "Dermatofibrosarcoma protuberans"),
            coding(ICD10, "C48.0", "Malignant neoplasm of retroperitoneum"),
        )
    )
    (card,) = cards_for(live_server, deep_dfsp)
    assert card["indicator"] == "warning" and "contradictory" in card["summary"]
    assert "DFSP arises in the skin" in card["detail"]


def test_missing_prefetch_is_412_as_the_specification_says(live_server):
    status, body, _ = call(live_server, SERVICE, hook(None))
    assert status == 412 and "'conditions' prefetch is missing" in body["error"]
    failed = {"conditions": {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}}
    status, body, _ = call(live_server, SERVICE, hook(failed))
    assert status == 412


@pytest.mark.parametrize(
    "body, status, message",
    [
        (hook({"conditions": None}, hook="order-sign"), 400, "hook 'order-sign' is not answered"),
        ({"hook": "patient-view", "context": {"patientId": "p"}}, 400, "hookInstance: is required"),
        (hook({"conditions": None}, context={"userId": "Practitioner/x"}), 400, "context.patientId: is required"),
        (
            hook({"conditions": None}, fhirAuthorization={"access_token": "t"}, fhirServer=None),
            400,
            "without fhirServer",
        ),
        ([1, 2], 400, "must be a JSON object"),
        (
            hook(
                {
                    "conditions": {
                        "resourceType": "Bundle",
                        "entry": [{"resource": {"resourceType": "Condition", "code": {"coding": {"code": "x"}}}}],
                    }
                }
            ),
            400,
            "prefetch.conditions.entry[0].code.coding: must be a JSON array",
        ),
        (
            hook({"conditions": bundle(condition("c", coding(SNOMED, "276799004"), patient="someone-else"))}),
            400,
            "not the patient in context",
        ),
        (hook({"conditions": "Condition?patient=1"}), 400, "prefetch.conditions: must be a JSON object"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(live_server, body, status, message):
    code, answer, _ = call(live_server, SERVICE, body)
    assert code == status and message in answer["error"], answer


def test_invalid_json_unknown_services_and_wrong_methods(live_server):
    code, answer, _ = call(live_server, SERVICE, raw=b'{"hook": "patient-view",')
    assert code == 400 and "not valid JSON" in answer["error"]
    code, answer, _ = call(live_server, "/cds-services/another-service", hook({"conditions": None}))
    assert code == 404 and "oncoguide-sarcoma" in answer["error"]
    code, answer, _ = call(live_server, SERVICE)
    assert code == 405
    code, _, headers = call(live_server, SERVICE, method="OPTIONS")
    assert code == 204 and "POST" in headers["access-control-allow-methods"]


def test_feedback_records_accepted_and_overridden(live_server, live_site_url):
    conditions, observations = split(metastatic_dfsp())
    (first,) = cards_for(live_server, conditions, observations)
    (second,) = cards_for(live_server, conditions, observations)
    reason = first["overrideReasons"][0]
    feedback = {
        "feedback": [
            {"card": first["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-22T10:00:00Z"},
            {
                "card": second["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-22T10:05:00Z",
                "overrideReason": {"reason": reason, "userComment": "Already planned at the sarcoma board."},
            },
        ]
    }
    status, body, _ = call(live_server, f"{SERVICE}/feedback", feedback)
    assert status == 200 and body == {"recorded": 2}
    out = run_cli("cds", "feedback", "--format", "json", env_extra={"ONCOGUIDE_DATABASE_URL": live_site_url})
    assert out.returncode == 0, out.stderr
    row = next(r for r in json.loads(out.stdout) if r["group"] == "dfsp-metastatic")
    assert row["issued"] >= 2 and row["accepted"] >= 1 and row["overridden"] >= 1
    assert row["reasons"].get(reason["display"], 0) >= 1
    text = run_cli("cds", "feedback", env_extra={"ONCOGUIDE_DATABASE_URL": live_site_url}).stdout
    assert "dfsp-metastatic" in text and f"overridden because: {reason['display']}" in text


@pytest.mark.parametrize(
    "item, status, message",
    [
        (
            {
                "card": "00000000-0000-4000-8000-000000000000",
                "outcome": "accepted",
                "outcomeTimestamp": "2026-11-22T10:00:00Z",
            },
            404,
            "was not issued by the service",
        ),
        (
            {"card": "c", "outcome": "liked", "outcomeTimestamp": "2026-11-22T10:00:00Z"},
            400,
            "'accepted' or 'overridden'",
        ),
        ({"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"}, 400, "not an ISO 8601 timestamp"),
        ({"card": "c", "outcome": "accepted"}, 400, "outcomeTimestamp: must be a non-empty string"),
        (
            {
                "card": "c",
                "outcome": "accepted",
                "outcomeTimestamp": "2026-11-22T10:00:00Z",
                "overrideReason": {"userComment": "no"},
            },
            400,
            "only an overridden card",
        ),
    ],
)
def test_bad_feedback_is_refused_and_nothing_is_recorded(live_server, live_site_url, item, status, message):
    conditions, _ = split(metastatic_dfsp())
    (card,) = cards_for(live_server, conditions)
    good = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-22T11:00:00Z"}
    item = {**item, "card": card["uuid"]} if item["card"] == "c" else item
    code, body, _ = call(live_server, f"{SERVICE}/feedback", {"feedback": [good, item]})
    assert code == status and message in body["error"], body
    from sqlalchemy import create_engine, text

    engine = create_engine(live_site_url)
    with engine.connect() as conn:  # the good item was not kept either: all or nothing
        kept = conn.execute(text("SELECT count(*) FROM cds_feedback WHERE card = :c"), {"c": card["uuid"]}).scalar()
    engine.dispose()
    assert kept == 0


def test_the_records_own_words_cannot_become_markup_in_a_card(live_server):
    """Text and ids from the record reach the card's Markdown only escaped: no HTML, no links."""
    hostile = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) *skin* `code`"
    dfsp = condition("<script>alert(1)</script>", coding(SNOMED, "276799004"), bodySite=[{"text": hostile}])
    lesion = condition("lung", coding(ICD10, "C78.0"), bodySite=[{"text": hostile}])
    (card,) = cards_for(live_server, bundle(dfsp, lesion))
    detail = card["detail"]
    assert not re.search(r"(?<!\\)[<>\[\]*`]", detail.split("**Recommended steps**")[0].replace("**", ""))
    assert "\\<script\\>alert(1)\\</script\\>" in detail  # shown, as text
    assert card["summary"].startswith("DFSP: metastatic")
