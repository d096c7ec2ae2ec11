"""HTML pages: home, answer article, treatment algorithm, evidence, API docs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from oncoguide.algorithm.groups import CriteriaError
from oncoguide.engine.understand import AUDIENCES, InputError
from oncoguide.site.threads import ThreadError
from oncoguide.web.auth import check_csrf
from oncoguide.web.views import EXAMPLES, condition_names, render

router = APIRouter(include_in_schema=False)

FINDER_FIELDS = (
    "site",
    "stage",
    "resectable",
    "metastases",
    "recurrence",
    "margins",
    "subtype",
    "morbidity",
    "progression",
    "mutation",
)


def max_field(request: Request) -> int:
    """The most characters of a form field shown back on a page: as long as the longest question accepted."""
    return request.app.state.site.settings.max_question_chars


def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    return render(request, name, status, **context)


def cached(request: Request, name: str, context: Callable[[], dict], site_data: bool = False) -> Response:
    """A page that follows from its address and the pack (`site_data`: and the site database), rendered once
    for readers who are not signed in (Caches.view); `context` makes what the template shows, when needed."""
    return request.app.state.caches.view(
        request, lambda token: render(request, name, token=token, **context()), site_data=site_data
    )


def audience_of(request: Request) -> str:
    value = request.query_params.get("audience", "clinician")
    return value if value in AUDIENCES else "clinician"


@router.get("/", response_class=HTMLResponse)
async def home(request: Request):
    return cached(
        request,
        "home.html",
        lambda: {"examples": EXAMPLES, "audience": audience_of(request), "question": "", "error": "", "thread_id": ""},
    )


# composing an answer or a recommendation is CPU work: these are `def`, run in the thread pool (web/app.py)
@router.post("/ask", response_class=HTMLResponse)
def ask_form(
    request: Request,
    question: Annotated[str, Form(max_length=100_000)] = "",
    audience: Annotated[str, Form(max_length=20)] = "clinician",
    thread_id: Annotated[str, Form(max_length=40)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    audience = audience if audience in AUDIENCES else "clinician"
    state = request.app.state
    try:
        turn, answer, _ = state.caches.ask(question, audience, thread_id or None)
        state.site.questions.record(answer)
    except (InputError, ThreadError) as exc:
        return page(
            request,
            "home.html",
            422,
            examples=EXAMPLES,
            audience=audience,
            question=question[: max_field(request)],
            error=str(exc),
            thread_id=thread_id if not isinstance(exc, ThreadError) else "",
        )
    return RedirectResponse(f"/answer/{turn}?audience={audience}", status_code=303)


@router.get("/ask", response_class=HTMLResponse)
def ask_link(request: Request, question: str = "", audience: str = "clinician"):
    """A question in a link (CDS Hooks cards link here): answered in a new thread, like the form, but
    not counted among the community's questions, since anyone's page can make a browser follow a link."""
    audience = audience if audience in AUDIENCES else "clinician"
    state = request.app.state
    try:
        turn, answer, _ = state.caches.ask(question, audience, None)
    except (InputError, ThreadError) as exc:
        return page(
            request,
            "home.html",
            422,
            examples=EXAMPLES,
            audience=audience,
            question=question[: max_field(request)],
            error=str(exc),
            thread_id="",
        )
    return RedirectResponse(f"/answer/{turn}?audience={audience}", status_code=303)


@router.get("/answer/{turn}", response_class=HTMLResponse)
async def article(request: Request, turn: str):
    # composed and rendered once (web/caching.py): a cached page is served on the event loop, and only
    # composing or rendering goes to the thread pool
    audience = audience_of(request)
    caches = request.app.state.caches
    if len(turn) > 40:
        raise HTTPException(404)
    answer = caches.cached_answer(turn, audience) or await run_in_threadpool(caches.answer, turn, audience)
    if answer is None:
        raise HTTPException(404)
    cached = caches.cached_page(request, turn, audience, answer)
    return cached or await run_in_threadpool(caches.page, request, turn, audience, answer)


# --- treatment algorithm ---------------------------------------------------------------------------


def finder_uses(request: Request) -> dict[str, dict[str, list[str]]]:
    """Which conditions each finder field and each genotype applies to: a field shows only for those."""
    algorithm = request.app.state.site.kb.algorithm
    conditions = algorithm.spec.conditions
    fields = {name: [c for c, dims in conditions.items() if name in dims] for name in FINDER_FIELDS}
    offered = {c: algorithm.genotypes_for(c) for c in conditions}
    fields["mutation"] = [c for c in conditions if offered[c]]
    genotypes = {k: [c for c in conditions if k in offered[c]] for k in algorithm.spec.genotypes}
    return {"fields": fields, "genotypes": genotypes}


@router.get("/algorithm", response_class=HTMLResponse)
async def algorithm_home(request: Request):
    kb = request.app.state.site.kb
    return cached(
        request,
        "algorithm.html",
        lambda: {
            "counts": {c: len(kb.algorithm.group_list(c)) for c in condition_names(request)},
            "dims": kb.algorithm.dims,
            "chosen": {},
            "result": None,
            "error": "",
            "genotypes": kb.algorithm.spec.genotypes,
            "uses": finder_uses(request),
        },
    )


@router.get("/algorithm/find", response_class=HTMLResponse)
def algorithm_find(request: Request):
    return cached(request, "algorithm.html", lambda: finder_result(request))


def finder_result(request: Request) -> dict:
    """What the finder page shows for its query: the fields as chosen, and the group found or why none was."""
    kb = request.app.state.site.kb
    params = request.query_params
    chosen = {k: params.get(k, "")[: max_field(request)] for k in ("condition", "vignette", *FINDER_FIELDS)}
    counts = {c: len(kb.algorithm.group_list(c)) for c in condition_names(request)}
    criteria = {k: chosen[k] or None for k in FINDER_FIELDS}
    condition = chosen["condition"] or None
    error, result = "", None
    if condition is not None and condition not in condition_names(request):
        error = f"unknown condition '{condition}'; choose DFSP, soft-tissue sarcoma or GIST"
    elif condition is None and not chosen["vignette"].strip():
        error = "choose the condition, or describe the patient in the text box"
    else:
        try:
            result = kb.recommend(
                chosen["vignette"] if chosen["vignette"].strip() else None, condition=condition, **criteria
            )
        except (CriteriaError, InputError) as exc:
            error = str(exc)
    return {
        "status": 422 if error else 200,
        "counts": counts,
        "dims": kb.algorithm.dims,
        "chosen": chosen,
        "result": result,
        "error": error,
        "genotypes": kb.algorithm.spec.genotypes,
        "uses": finder_uses(request),
    }


@router.get("/algorithm/groups/{group_id}", response_class=HTMLResponse)
async def algorithm_group(request: Request, group_id: str):
    kb = request.app.state.site.kb
    try:
        rec = kb.algorithm.group_detail(group_id)
    except CriteriaError:
        raise HTTPException(404) from None
    return cached(request, "group.html", lambda: {"rec": rec, "condition": rec.condition})


@router.get("/algorithm/{condition}", response_class=HTMLResponse)
async def algorithm_condition(request: Request, condition: str):
    if condition not in condition_names(request):
        raise HTTPException(404)
    kb = request.app.state.site.kb
    return cached(
        request, "condition_groups.html", lambda: {"condition": condition, "groups": kb.algorithm.group_list(condition)}
    )


# --- evidence ----------------------------------------------------------------------------------------


@router.get("/evidence", response_class=HTMLResponse)
async def evidence_home(request: Request):
    return cached(
        request, "evidence_index.html", lambda: {"topics": list(request.app.state.site.kb.evidence.topics.values())}
    )


@router.get("/evidence/{topic}", response_class=HTMLResponse)
async def evidence_topic(request: Request, topic: str):
    from oncoguide.evidence.report import topic_attributes

    kb = request.app.state.site.kb
    ev = kb.evidence
    t = ev.topics.get(topic)
    if t is None:
        raise HTTPException(404)
    attributes = topic_attributes(t)
    by = request.query_params.get("by") or (attributes[0] if attributes else None)
    if by is not None and by not in attributes:
        raise HTTPException(404)
    return cached(request, "evidence.html", lambda: evidence_view(kb, t, by, attributes))


def evidence_view(kb, t, by: str | None, attributes: list[str]) -> dict:
    """What an evidence page shows: the report by the attribute chosen, both forest plots, the references."""
    from markupsafe import Markup

    from oncoguide.engine.numbering import Numbering

    ev = kb.evidence
    svg = ev.forest_plot(t.id)
    narrow = ev.forest_plot(t.id, "narrow")
    numbering = Numbering(kb.contents)
    numbering.cite([(c.source, c.locator) for c in t.citations])
    study_refs = {s.label: numbering.cite([(c.source, c.locator) for c in s.citations])[0] for s in t.studies}
    return {
        "report": ev.report(t.id, by),
        "topic": t,
        "svg": Markup(svg) if svg else None,  # built by forest.py, which escapes every label
        "svg_narrow": Markup(narrow) if narrow else None,
        "attributes": attributes,
        "by": by,
        "study_refs": study_refs,
        "references": numbering.references(),
    }


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request):
    return cached(request, "docs.html", dict)
