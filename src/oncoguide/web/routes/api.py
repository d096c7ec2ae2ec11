"""The JSON API. Each endpoint returns the same JSON as the matching CLI command with --format json."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from oncoguide.algorithm.groups import CriteriaError
from oncoguide.engine.understand import InputError
from oncoguide.fhir.patient import FhirInputError, recommend_fhir
from oncoguide.site.threads import ThreadError
from oncoguide.web.guards import JsonBodyError, off_loop, read_json

router = APIRouter(prefix="/api", tags=["api"])

Condition = Literal["dfsp", "sts", "gist"]
Criterion = Annotated[str | None, Field(default=None, max_length=80)]


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # the longest question is Settings.max_question_chars, checked by the handler (too_long) and written into
    # the OpenAPI document (question_limits): a model made at import cannot know the process's settings
    question: str = Field(min_length=1, description="The question, in your own words.")
    audience: Literal["clinician", "patient"] = Field("clinician", description="Who the answer is written for.")
    thread_id: str | None = Field(
        None,
        pattern=r"^[a-z2-7]{16}$",
        description="The thread_id of the previous answer, to ask a follow-up in its context.",
    )


class RecommendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vignette: str | None = Field(
        None,
        min_length=1,  # at most Settings.max_question_chars, as AskIn.question
        description="The patient in free text (optional when criteria are given).",
    )
    condition: Condition | None = None
    site: Criterion = None
    stage: Criterion = None
    resectable: Criterion = None
    metastases: Criterion = None
    recurrence: Criterion = None
    morbidity: Criterion = None
    progression: Criterion = None
    margins: Criterion = None
    subtype: Criterion = None
    mutation: Criterion = Field(None, max_length=40, description="Tumour genotype id, e.g. kit-exon9 or ntrk.")


def _finite(value):
    """JSON has no NaN or infinity: an undefined statistic becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def too_long(field: str, value: str | None, limit: int) -> None:
    """Refuse a text longer than `limit` as pydantic's max_length would (422 naming the field)."""
    if value is not None and len(value) > limit:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("body", field),
                    "msg": f"String should have at most {limit} characters",
                    "ctx": {"max_length": limit},
                }
            ]
        )


def question_limits(doc: dict, limit: int) -> None:
    """Write the longest question and vignette (Settings.max_question_chars) into the OpenAPI document."""
    doc["components"]["schemas"]["AskIn"]["properties"]["question"]["maxLength"] = limit
    body = doc["paths"]["/api/recommend"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    for schema in body["oneOf"]:
        for option in schema.get("properties", {}).get("vignette", {}).get("anyOf", ()):
            if option.get("type") == "string":
                option["maxLength"] = limit


def unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=message)


def json_of(raw: bytes, settings):
    """The request body as JSON (read_json: depth and number limits); a body that cannot be read is
    reported like any other invalid body (422 with `problems`)."""
    try:
        return read_json(raw, settings.max_json_depth)
    except JsonBodyError as exc:
        raise RequestValidationError([{"type": "json_body", "loc": ("body",), "msg": str(exc)}]) from None


ASK_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskIn"}}},  # web/openapi_doc.py
}


@router.post("/ask", summary="Answer a question with cited statements", openapi_extra={"requestBody": ASK_BODY})
async def ask(request: Request) -> Response:
    """The answer as `oncoguide ask --format json` prints it, plus `thread_id`: send it back with a
    follow-up question to keep the condition and the patients of this conversation."""
    state = request.app.state
    # the body is read once, here (read_json: the depth and number limits, then the model), not again by FastAPI
    data = json_of(await request.body(), state.site.settings)
    if not isinstance(data, dict):
        raise RequestValidationError([{"type": "dict_type", "loc": ("body",), "msg": "not an object"}])
    try:
        body = AskIn.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([dict(e, loc=("body", *e["loc"])) for e in exc.errors()]) from None
    too_long("question", body.question, state.site.settings.max_question_chars)
    caches = state.caches
    try:
        # composed once per turn and audience, and serialised once (web/caching.py): an answer this process
        # has given is sent from the event loop; composing one is CPU work, done in the thread pool (web/app.py)
        hit = caches.asked(body.question, body.audience, body.thread_id)
        turn, answer, entry = hit or await run_in_threadpool(caches.ask, body.question, body.audience, body.thread_id)
    except (InputError, ThreadError) as exc:
        raise unprocessable(str(exc)) from None
    questions = state.site.questions
    if questions.flush_due():  # this call writes the counts to the database: not on the event loop
        await run_in_threadpool(questions.record, answer)
    else:
        questions.record(answer)  # counted in memory
    return caches.ask_json(request, turn, answer, entry)


FHIR_BUNDLE_SCHEMA = {
    "type": "object",
    "title": "FHIR Bundle",
    "description": "A FHIR (R4 or R5) Bundle of one patient's Condition and Observation resources, e.g. "
    '{"resourceType": "Bundle", "type": "collection", "entry": [...]}. '
    "Coded conditions (SNOMED CT, ICD-10, ICD-O-3), secondary neoplasms, stage and TNM "
    "Observations (LOINC) and genomic Observations are read; the result lists each fact read "
    "under `derived`, with its resource.",
    "required": ["resourceType"],
    "properties": {"resourceType": {"const": "Bundle"}, "entry": {"type": "array", "items": {"type": "object"}}},
}


@router.post(
    "/recommend",
    summary="Find the patient group and its recommended treatments",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"oneOf": [RecommendIn.model_json_schema(), FHIR_BUNDLE_SCHEMA]}},
                "application/fhir+json": {"schema": FHIR_BUNDLE_SCHEMA},
            },
        }
    },
)
async def recommend(request: Request) -> JSONResponse:
    """The recommendation as `oncoguide recommend --format json` prints it. The body is either the
    criteria (and/or a vignette) or a FHIR Bundle describing the patient."""
    raw = await request.body()
    return await off_loop(_recommend, request.app.state, raw)  # a Bundle runs to megabytes


def _recommend(state, raw: bytes) -> JSONResponse:
    data = json_of(raw, state.site.settings)
    if isinstance(data, dict) and "resourceType" in data:
        try:
            rec = recommend_fhir(state.site.kb, data)
        except (FhirInputError, CriteriaError) as exc:
            raise unprocessable(str(exc)) from None
        return JSONResponse(rec.to_dict())
    if not isinstance(data, dict):
        raise RequestValidationError([{"type": "dict_type", "loc": ("body",), "msg": "not an object"}])
    try:
        body = RecommendIn.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    too_long("vignette", body.vignette, state.site.settings.max_question_chars)
    criteria = body.model_dump(exclude={"vignette", "condition"})
    if body.vignette is None and body.condition is None:
        raise unprocessable("describe the patient (vignette) or give the condition and criteria")
    try:
        rec = state.site.kb.recommend(body.vignette, condition=body.condition, **criteria)
    except (CriteriaError, InputError) as exc:
        raise unprocessable(str(exc)) from None
    return JSONResponse(rec.to_dict())


@router.get("/groups", summary="List the patient groups of the treatment algorithm")
async def groups(request: Request, condition: Condition | None = None) -> JSONResponse:
    """As `oncoguide groups --format json`."""
    return JSONResponse(request.app.state.site.kb.algorithm.group_summaries(condition))


@router.get("/evidence/{topic}", summary="Study data, pooled results, comparisons and meta-analysis")
async def evidence(
    topic: str, request: Request, by: Literal["dose", "design", "technique"] | None = None
) -> JSONResponse:
    """As `oncoguide evidence TOPIC --format json`."""
    ev = request.app.state.site.kb.evidence
    if topic not in ev.topics:
        raise HTTPException(404, f"unknown evidence topic '{topic}'; known: {', '.join(sorted(ev.topics))}")
    try:
        report = ev.report(topic, by)
    except KeyError as exc:
        raise unprocessable(f"by: {exc.args[0]}") from None
    return JSONResponse(_finite(report))
