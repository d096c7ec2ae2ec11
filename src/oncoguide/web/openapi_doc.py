"""The OpenAPI document as the service really answers: every status an operation can give, with the error
bodies' shape and the FHIR media type. tests/test_openapi_fuzz.py holds the service to it (schemathesis)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from oncoguide.fhir.export import MEDIA_TYPE as FHIR_JSON
from oncoguide.web.routes.api import AskIn, question_limits

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What is wrong, in words."}},
}
PROBLEMS = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What is wrong, in words."},
        "problems": {
            "type": "array",
            "description": "One entry a field that is wrong ('' for the body as a whole).",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
OPERATION_OUTCOME = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
}
FHIR_RESOURCE = {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"type": "string"}}}
ARTICLE_ROW = {
    "type": "object",
    "required": ["id", "question", "audience", "status", "version", "revision"],
    "properties": {
        "id": {"type": "integer"},
        "question": {"type": "string"},
        "audience": {"type": "string"},
        "status": {"type": "string"},
        "version": {"type": "integer"},
        "revision": {"type": "integer", "description": "Send it back with a transition (409 if stale)."},
        "updated": {"type": "string", "format": "date-time"},
    },
}
TRANSITION_OUT = {
    "type": "object",
    "required": ["id", "status", "version", "revision"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string"},
        "version": {"type": "integer"},
        "revision": {"type": "integer"},
    },
}

REASONS = {
    400: "Bad request",
    401: "Not authenticated (a reviewer's API token, or a trusted record system's JWT)",
    403: "Not allowed for this account's role",
    404: "Not found",
    405: "Method not allowed",
    409: "Someone else acted first (stale revision)",
    412: "A required prefetch is missing",
    413: "The body is larger than the limit",
    422: "The request is not valid: the message names the field",
}

# statuses each operation gives besides 200, by (method, path); 413 and 422 go with every request body
EXTRA = {
    ("get", "/api/groups"): (422,),
    ("get", "/api/evidence/{topic}"): (404, 422),
    ("get", "/api/articles"): (401, 403),
    ("post", "/api/articles/{art_id}/transition"): (401, 403, 404, 409),
    ("post", "/cds-services/oncoguide-sarcoma"): (400, 401, 412),
    ("post", "/cds-services/oncoguide-sarcoma/feedback"): (400, 401, 404),  # 404: a card never issued
    ("get", "/cds-services"): (401,),
}
FHIR_EXTRA = {"/fhir/{rtype}": (400, 404), "/fhir/{rtype}/{rid}": (404,), "/fhir/Bundle/{bundle_id}": (404,)}


def _response(status: int, schema: dict, media_type: str = "application/json") -> dict:
    return {"description": REASONS.get(status, "OK"), "content": {media_type: {"schema": schema}}}


def document(app: FastAPI) -> dict:
    """FastAPI's document with the real error responses added (built once, then cached as FastAPI does)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            if path.startswith("/fhir/"):  # every answer is a FHIR resource, an OperationOutcome if refused
                responses["200"] = _response(200, FHIR_RESOURCE, FHIR_JSON) | {"description": "A FHIR resource"}
                for status in FHIR_EXTRA.get(path, ()):
                    responses[str(status)] = _response(status, OPERATION_OUTCOME, FHIR_JSON)
                responses.pop("422", None)  # path and query values are read by hand: refusals are 400/404
                continue
            cds = path.startswith("/cds-services")
            extra = set(EXTRA.get((method, path), ()))
            if "requestBody" in op:
                extra |= {413} | (set() if cds else {422})
            if cds:
                responses.pop("422", None)  # CDS Hooks refuses a bad request with 400
            for status in sorted(extra):
                responses[str(status)] = _response(status, PROBLEMS if status == 422 else ERROR)
            if "422" in responses:
                responses["422"] = _response(422, PROBLEMS)
    queue = doc["paths"]["/api/articles"]["get"]["responses"]["200"]
    queue["content"] = {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "The articles by review status.",
                "additionalProperties": {"type": "array", "items": ARTICLE_ROW},
            }
        }
    }
    doc["paths"]["/api/articles/{art_id}/transition"]["post"]["responses"]["200"]["content"] = {
        "application/json": {"schema": TRANSITION_OUT}
    }
    # /api/ask reads its own body (routes/api.py): its model is named here, as FastAPI names the ones it reads
    doc["components"]["schemas"]["AskIn"] = AskIn.model_json_schema()
    question_limits(doc, app.state.site.settings.max_question_chars)
    app.openapi_schema = doc
    return doc
