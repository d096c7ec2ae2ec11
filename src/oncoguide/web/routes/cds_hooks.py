"""CDS Hooks 2.0 service for hospital record systems: discovery, the `patient-view` hook and feedback.

The record system sends the patient's Conditions and staging / genomic Observations as prefetch;
the coded facts choose a patient group of the algorithm and the answer is one card per condition
(none when nothing applies). This service never calls the record system's FHIR server: without the
Conditions prefetch it answers 412, as the specification says for data it cannot obtain.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from oncoguide.algorithm.groups import CriteriaError
from oncoguide.errors import Refused
from oncoguide.fhir.cards import contradiction_card, group_card
from oncoguide.fhir.patient import FhirInputError, codebook, read_record, resources_of
from oncoguide.site.cds import parse_feedback
from oncoguide.web.cds_auth import CdsAuthError
from oncoguide.web.guards import JsonBodyError, off_loop, read_json


def public_base(request: Request) -> str:
    """The base of links sent out: ONCOGUIDE_PUBLIC_URL when set, else the address the request came to."""
    return (request.app.state.site.settings.public_url or str(request.base_url)).rstrip("/")


async def trusted_client(request: Request) -> None:
    """With ONCOGUIDE_CDS_CLIENTS set, only calls signed by a trusted record system get through (401).

    The JWT's aud is compared with ONCOGUIDE_PUBLIC_URL + the path called, never with an address built
    from the Host header (the caller chooses it); create_app refuses clients without a public URL.
    """
    clients = request.app.state.cds_clients
    if clients is None:
        return
    called = request.app.state.site.settings.public_url.rstrip("/") + request.url.path
    audiences = [called, called.removesuffix("/feedback")]  # feedback may be addressed to its service
    try:
        clients.verify(request.headers.get("authorization"), audiences)
    except CdsAuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


router = APIRouter(prefix="/cds-services", tags=["cds-hooks"], dependencies=[Depends(trusted_client)])

SERVICE_ID = "oncoguide-sarcoma"
HOOK = "patient-view"
REQUIRED_PREFETCH = "conditions"
REQUIRED_HINT = "a searchset Bundle of Condition?patient={{context.patientId}}"
MISSING = object()
DESCRIPTION = (
    "Reads the patient's coded Conditions (SNOMED CT, ICD-10, ICD-10-CM, ICD-O-3) and staging and "
    "genomic Observations (LOINC), finds the patient group of oncoguide's treatment algorithm for "
    "dermatofibrosarcoma protuberans, soft-tissue sarcoma or GIST, and returns its recommended "
    "steps with citations. Returns no card when the patient has none of these conditions. Needs the "
    "'conditions' prefetch; it does not query the FHIR server."
)


class CdsError(Refused):
    """A CDS Hooks request that cannot be answered."""

    default_status = 400


def prefetch_templates(kb) -> dict[str, str]:
    book = codebook(kb)
    codes = ",".join(f"{book.systems[o.system]}|{o.code}" for o in book.observations.values())
    return {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": f"Observation?patient={{{{context.patientId}}}}&code={codes}",
    }


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@router.get("", summary="CDS Hooks discovery: the services offered")
async def discovery(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "services": [
                {
                    "hook": HOOK,
                    "id": SERVICE_ID,
                    "title": "oncoguide: sarcoma treatment algorithm",
                    "description": DESCRIPTION,
                    "prefetch": prefetch_templates(request.app.state.site.kb),
                    "usageRequirements": (
                        "Send the 'conditions' prefetch (the 'observations' prefetch adds stage and genotype)."
                    ),
                }
            ]
        }
    )


def json_body(raw: bytes, settings):
    """The call as JSON (read_json: depth and number limits); unreadable is a bad request (400)."""
    try:
        return read_json(raw, settings.max_json_depth)
    except JsonBodyError as exc:
        raise CdsError(str(exc)) from None


def _check_request(body) -> tuple[str, str, dict]:
    if not isinstance(body, dict):
        raise CdsError("the body must be a JSON object (a CDS Hooks request)")
    hook = body.get("hook")
    if not isinstance(hook, str) or not hook:
        raise CdsError("hook: is required (a string naming the hook, here 'patient-view')")
    if hook != HOOK:
        raise CdsError(f"hook '{hook[:60]}' is not answered by {SERVICE_ID}, which answers '{HOOK}'")
    instance = body.get("hookInstance")
    if not isinstance(instance, str) or not instance.strip() or len(instance) > 100:
        raise CdsError("hookInstance: is required (a UUID string of at most 100 characters)")
    context = body.get("context")
    if not isinstance(context, dict):
        raise CdsError("context: is required (an object holding patientId)")
    patient = context.get("patientId")
    if not isinstance(patient, str) or not patient.strip() or len(patient) > 64:
        raise CdsError("context.patientId: is required (the FHIR id of the patient, at most 64 characters)")
    if body.get("fhirAuthorization") is not None and not body.get("fhirServer"):
        raise CdsError("fhirAuthorization is given without fhirServer")
    prefetch = body.get("prefetch")
    if prefetch is None:
        prefetch = {}
    if not isinstance(prefetch, dict):
        raise CdsError("prefetch: must be an object of prefetch keys")
    return instance, patient, prefetch


def _resources(prefetch: dict) -> tuple[list, list[str]]:
    conditions = prefetch.get(REQUIRED_PREFETCH, MISSING)
    if conditions is MISSING or (isinstance(conditions, dict) and conditions.get("resourceType") == "OperationOutcome"):
        raise CdsError(
            f"the '{REQUIRED_PREFETCH}' prefetch is missing and this service does not query the "
            f"FHIR server; send it as {REQUIRED_HINT}",
            412,
        )
    notes, resources = [], []
    if conditions is not None:  # null: the record system has no Conditions for this patient
        resources += resources_of(conditions, f"prefetch.{REQUIRED_PREFETCH}")
    observations = prefetch.get("observations")
    if observations is None or (
        isinstance(observations, dict) and observations.get("resourceType") == "OperationOutcome"
    ):
        notes.append("no staging or genomic Observations were sent (prefetch 'observations')")
    else:
        resources += resources_of(observations, "prefetch.observations")
    return resources, notes


FHIR_BUNDLE = {
    "type": ["object", "null"],
    "description": "A FHIR searchset Bundle (null: none for this patient)",
    "properties": {"resourceType": {"type": "string"}, "entry": {"type": "array", "items": {"type": "object"}}},
}
HOOK_REQUEST = {
    "type": "object",
    "title": "CDS Hooks request",
    "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"type": "string", "enum": [HOOK]},
        "hookInstance": {"type": "string", "maxLength": 100},
        "fhirServer": {"type": "string"},
        "fhirAuthorization": {"type": "object"},
        "context": {
            "type": "object",
            "required": ["patientId"],
            "properties": {"patientId": {"type": "string", "maxLength": 64}, "userId": {"type": "string"}},
        },
        "prefetch": {"type": "object", "properties": {"conditions": FHIR_BUNDLE, "observations": FHIR_BUNDLE}},
    },
}
FEEDBACK_REQUEST = {
    "type": "object",
    "title": "CDS Hooks feedback",
    "required": ["feedback"],
    "properties": {
        "feedback": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["card", "outcome", "outcomeTimestamp"],
                "properties": {
                    "card": {"type": "string", "maxLength": 36},
                    "outcome": {"type": "string", "enum": ["accepted", "overridden"]},
                    "outcomeTimestamp": {"type": "string", "format": "date-time"},
                    "overrideReason": {"type": "object"},
                },
            },
        }
    },
}


def _body(schema: dict) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    f"/{SERVICE_ID}",
    summary="The patient-view hook: cards for the patient's sarcoma",
    openapi_extra=_body(HOOK_REQUEST),
)
async def patient_view(request: Request) -> JSONResponse:
    raw = await request.body()
    # reading a record of up to max_fhir_body_bytes is CPU work: off the event loop (see web/app.py)
    return await off_loop(_patient_view, request.app.state, raw, public_base(request))


def _patient_view(state, raw: bytes, base: str) -> JSONResponse:
    try:
        instance, patient_id, prefetch = _check_request(json_body(raw, state.site.settings))
        resources, notes = _resources(prefetch)
        reading = read_record(resources, codebook(state.site.kb), patient_id)
    except Refused as exc:
        return error(exc.status, str(exc))
    except FhirInputError as exc:
        return error(400, f"the prefetched FHIR data cannot be read: {exc}")
    cards, issued = [], []
    conditions = state.site.kb.contents.lexicon.conditions
    for patient in reading.patients:
        patient.notes = patient.notes + notes
        card: dict | None
        try:
            rec = state.site.kb.algorithm.recommend(
                patient.condition, dict(patient.facts), patient.notes, patient.genotype
            )
        except CriteriaError as exc:
            card, group = contradiction_card(base, str(exc), patient, conditions), None
        else:
            card, group = group_card(base, rec, patient, conditions), (rec.group.id if rec.group else None)
        if card is not None:
            cards.append(card)
            issued.append((card, patient.condition, group))
    state.site.cds.issued(SERVICE_ID, instance, issued)
    return JSONResponse({"cards": cards})


@router.post(
    f"/{SERVICE_ID}/feedback",
    summary="Feedback on a card: accepted or overridden",
    openapi_extra=_body(FEEDBACK_REQUEST),
)
async def feedback(request: Request) -> JSONResponse:
    raw = await request.body()
    return await run_in_threadpool(_feedback, request.app.state, raw)


def _feedback(state, raw: bytes) -> JSONResponse:
    try:
        items = parse_feedback(json_body(raw, state.site.settings))
        count = state.site.cds.record(SERVICE_ID, items)
    except Refused as exc:  # CdsError, FeedbackError
        return error(exc.status, str(exc))
    return JSONResponse({"recorded": count})


@router.api_route("/{service_id}", methods=["POST", "GET"], include_in_schema=False)
@router.api_route("/{service_id}/feedback", methods=["POST", "GET"], include_in_schema=False)
async def unknown_service(request: Request, service_id: str) -> JSONResponse:
    if service_id == SERVICE_ID:
        return error(405, f"use POST for {request.url.path}")
    return error(404, f"no CDS service '{service_id[:60]}' here; the service is '{SERVICE_ID}' (see GET /cds-services)")
