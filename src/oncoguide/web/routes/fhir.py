"""Read-only FHIR R5 (5.0.0) endpoints: the knowledge pack as PlanDefinition, ActivityDefinition,
Citation and Evidence resources (see oncoguide.fhir), served as application/fhir+json.

Every answer is a FHIR resource: a missing resource, an unknown type or an unsupported request is
an OperationOutcome, never an HTML page."""

from __future__ import annotations

import json
import weakref

from fastapi import APIRouter, Request
from fastapi.responses import Response

from oncoguide.fhir.export import (
    CANONICAL_BASE,
    FHIR_VERSION,
    MEDIA_TYPE,
    RESOURCE_TYPES,
    FhirExport,
    base_profile,
    build_export,
    canonical,
    operation_outcome,
)

router = APIRouter(prefix="/fhir", tags=["fhir"])

BUNDLE_ID = "oncoguide"
MAX_IDS = 100
# one export per knowledge base (the pack is read-only while a server runs)
_exports: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# the endpoints below are `def`: serialising a Bundle (~1 MB) is CPU work, done in the thread pool (web/app.py)
def export_for(kb) -> FhirExport:
    ex = _exports.get(kb)
    if ex is None:
        ex = _exports[kb] = build_export(kb)
    return ex


def fhir_base(request: Request) -> str:
    """The base of Bundle fullUrls: this endpoint at ONCOGUIDE_PUBLIC_URL when set, else the canonical base
    (never an address built from the request's Host header)."""
    public = request.app.state.site.settings.public_url
    return f"{public.rstrip('/')}/fhir" if public else CANONICAL_BASE


def self_link(request: Request) -> str:
    """The searchset's self link: the request's path and query under ONCOGUIDE_PUBLIC_URL when set."""
    public = request.app.state.site.settings.public_url
    if not public:
        return str(request.url)
    query = request.url.query
    return public.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def fhir_response(resource: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(resource, ensure_ascii=False), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def outcome(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return fhir_response(operation_outcome(code, message), status, headers)


def unknown_type(rtype: str) -> Response:
    return outcome(
        404,
        "not-supported",
        f"resource type '{rtype[:80]}' is not served here; served types: "
        f"{', '.join(RESOURCE_TYPES)} (and Bundle/{BUNDLE_ID})",
    )


def capability_statement(ex: FhirExport) -> dict:
    read_search = [{"code": "read"}, {"code": "search-type"}]
    resources = [
        {
            "type": rtype,
            "profile": base_profile(rtype).split("|")[0],
            "interaction": read_search,
            "searchParam": [{"name": "_id", "type": "token"}, {"name": "url", "type": "uri"}],
        }
        for rtype in RESOURCE_TYPES
    ]
    resources[0]["supportedProfile"] = ["http://hl7.org/fhir/uv/cpg/StructureDefinition/cpg-recommendationdefinition"]
    resources.append(
        {
            "type": "Bundle",
            "interaction": [{"code": "read"}],
            "documentation": f"Bundle/{BUNDLE_ID}: every resource above in one collection Bundle",
        }
    )
    out = {
        "resourceType": "CapabilityStatement",
        "id": "oncoguide",
        "meta": {"profile": [base_profile("CapabilityStatement")]},
        "url": canonical("CapabilityStatement", "oncoguide"),
        "version": ex.version,
        "name": "OncoguideFhir",
        "title": "oncoguide FHIR R5 knowledge export",
        "status": "active",
        "experimental": False,
        "publisher": "oncoguide",
        "description": "Read-only export of the oncoguide knowledge pack (DFSP, soft-tissue sarcoma, GIST) as "
        f"FHIR R{FHIR_VERSION[0]} ({FHIR_VERSION}) resources.",
        "kind": "instance",
        "software": {"name": "oncoguide", "version": ex.version},
        "implementation": {"description": "oncoguide knowledge service, FHIR endpoint"},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {"mode": "server", "documentation": "Read-only; search supports _id and url only.", "resource": resources}
        ],
    }
    if ex.timestamp:
        out["date"] = ex.timestamp
    return out


def _terms(values: list[str]) -> set[str]:
    return {t.strip() for v in values for t in v.split(",") if t.strip()}


@router.get("/metadata", summary="CapabilityStatement: what this FHIR endpoint serves")
def metadata(request: Request) -> Response:
    return fhir_response(capability_statement(export_for(request.app.state.site.kb)))


@router.get("/Bundle", summary="All resources in one Bundle (searchset of the one collection)")
def bundle_search(request: Request) -> Response:
    ex = export_for(request.app.state.site.kb)
    return fhir_response(ex.searchset([ex.bundle(fhir_base(request))], self_link(request), fhir_base(request)))


@router.get("/Bundle/{bundle_id}", summary="Every exported resource as one collection Bundle")
def bundle_read(bundle_id: str, request: Request) -> Response:
    if bundle_id != BUNDLE_ID:
        return outcome(404, "not-found", f"there is no Bundle '{bundle_id[:80]}'; the export is Bundle/{BUNDLE_ID}")
    return fhir_response(export_for(request.app.state.site.kb).bundle(fhir_base(request)))


@router.get("/{rtype}", summary="Search one resource type (parameters: _id, url); a searchset Bundle")
def search(rtype: str, request: Request) -> Response:
    if rtype not in RESOURCE_TYPES:
        return unknown_type(rtype)
    ex = export_for(request.app.state.site.kb)
    found = list(ex.resources[rtype].values())
    params = request.query_params
    ids, urls = _terms(params.getlist("_id")), _terms(params.getlist("url"))
    if len(ids) + len(urls) > MAX_IDS:
        return outcome(400, "too-costly", f"at most {MAX_IDS} values of _id and url together")
    if ids:
        found = [r for r in found if r["id"] in ids]
    if urls:
        found = [r for r in found if r.get("url") in urls]
    return fhir_response(ex.searchset(found, self_link(request), fhir_base(request)))


@router.get("/{rtype}/{rid}", summary="Read one resource by type and id")
def read(rtype: str, rid: str, request: Request) -> Response:
    if rtype not in RESOURCE_TYPES:
        return unknown_type(rtype)
    resource = export_for(request.app.state.site.kb).get(rtype, rid)
    if resource is None:
        return outcome(404, "not-found", f"there is no {rtype} with id '{rid[:80]}'")
    return fhir_response(resource)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unsupported(rest: str, request: Request) -> Response:
    if request.method != "GET":
        return outcome(405, "not-supported", "this FHIR endpoint is read-only (GET only)", {"Allow": "GET"})
    return outcome(404, "not-found", f"nothing is served at /fhir/{rest[:120]}; see /fhir/metadata")
