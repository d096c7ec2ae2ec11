"""Small builders of FHIR resources for the FHIR-input and CDS Hooks tests (real codes from the pack's
algorithm/codes.yaml)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"

METASTATIC_DFSP = Path(__file__).parent / "data" / "fhir" / "metastatic-dfsp.json"


def metastatic_dfsp() -> dict:
    return json.loads(METASTATIC_DFSP.read_text())


def coding(system: str, code: str, display: str = "") -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def condition(rid: str, *codings: dict, patient: str = "pat-1", status: str | None = "active", **extra) -> dict:
    res = {
        "resourceType": "Condition",
        "id": rid,
        "code": {"coding": list(codings)},
        "subject": {"reference": f"Patient/{patient}"},
        **extra,
    }
    if status:
        res["clinicalStatus"] = {"coding": [coding(CLINICAL, status)]}
    return res


def observation(rid: str, code: dict, value: dict | None = None, patient: str = "pat-1", **extra) -> dict:
    res = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [code]},
        "subject": {"reference": f"Patient/{patient}"},
        **extra,
    }
    if value is not None:
        res["valueCodeableConcept"] = value
    return res


def bundle(*resources: dict, kind: str = "searchset") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def stage_iv_sts() -> dict:
    """Leiomyosarcoma of the thigh, clinical stage IV, M1, with lung and liver metastases."""
    return bundle(
        condition(
            "lms",
            coding(ICDO3, "8890/3", "Leiomyosarcoma, NOS"),
            coding(ICD10, "C49.2", "Malignant neoplasm: Connective and soft tissue of lower limb"),
        ),
        condition("lung", coding(ICD10, "C78.0", "Secondary malignant neoplasm of lung")),
        condition("liver", coding(ICD10, "C78.7", "Secondary malignant neoplasm of liver")),
        observation("stage", coding(LOINC, "21908-9", "Stage group.clinical Cancer"), {"text": "Stage IV"}),
        observation(
            "m",
            coding(LOINC, "21907-1", "Distant metastases.clinical [Class] Cancer"),
            {"coding": [coding("http://cancerstaging.org", "cM1")]},
        ),
    )


def kit_gist() -> dict:
    """GIST of the stomach, metastatic to the liver, KIT exon 11 deletion, not progressing."""
    return bundle(
        condition(
            "gist",
            coding(SNOMED, "420120006", "Gastrointestinal stromal tumor"),
            coding(ICD10CM, "C49.A2", "Gastrointestinal stromal tumor of stomach"),
        ),
        condition("liver", coding(ICD10, "C78.7", "Secondary malignant neoplasm of liver")),
        observation(
            "kit",
            coding(LOINC, "69548-6", "Genetic variant assessment"),
            {"text": "Present"},
            component=[
                {
                    "code": {"coding": [coding(LOINC, "48018-6", "Gene studied [ID]")]},
                    "valueCodeableConcept": {"text": "KIT exon 11 deletion"},
                }
            ],
        ),
    )


def split(record: dict) -> tuple[dict, dict]:
    """A Bundle's Conditions and Observations, as the two prefetch searches would return them."""

    def pick(rtype: str) -> dict:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [e for e in record["entry"] if e["resource"]["resourceType"] == rtype],
        }

    return pick("Condition"), pick("Observation")


def hook_request(prefetch: dict | None, patient: str = "pat-1", **over) -> dict:
    """A CDS Hooks patient-view call as a record system sends it."""
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/dr-a", "patientId": patient},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(over)
    return body


def prefetch(conditions, observations=None, patient: str = "pat-1") -> dict:
    out = {"patient": {"resourceType": "Patient", "id": patient}, "conditions": conditions}
    if observations is not None:
        out["observations"] = observations
    return out
