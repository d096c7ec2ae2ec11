"""The web application: FastAPI serving HTML pages (Jinja2 + htmx) and the JSON API.

Each server process loads the knowledge base (read-only) and reaches the site database for
conversation threads, so any number of worker processes can serve any request.

Most handlers are `async def` although they do blocking work: that work takes from microseconds to a
few milliseconds (the in-memory knowledge base, one indexed lookup in local SQLite), and running it on
the event loop avoids thread-pool hand-offs, which doubled the 95th-percentile latency under load.
The handlers whose work grows with the request (CDS Hooks calls and FHIR Bundles of up to
max_fhir_body_bytes, composing an answer, a recommendation, the FHIR export) run in the thread pool
instead (`def` endpoints, or guards.off_loop for the FHIR inputs, one call at a time per process): on
the event loop, four senders of a 3.4 MB CDS call raised every other request's median latency from
3 ms to over a second. The answer page and POST /api/ask serve an answer this process has composed
before (web/caching.py) on the event loop and send only composing and rendering to the thread pool.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import oncoguide
from oncoguide.settings import Settings, SettingsError
from oncoguide.web.caching import Caches
from oncoguide.web.compression import Gzip
from oncoguide.web.guards import (
    JSON_PATHS,
    MAX_INT,
    BodyLimit,
    CdsCors,
    JsonGuard,
    SecurityHeaders,
    validation_problems,
)
from oncoguide.web.static_files import VersionedStatic
from oncoguide.web.views import render, templates

HERE = Path(__file__).parent
log = logging.getLogger("oncoguide.web")

DESCRIPTION = """Cited answers, the treatment algorithm and computed evidence for dermatofibrosarcoma
protuberans (DFSP), soft-tissue sarcoma and GIST. Each endpoint returns the same JSON as the
matching `oncoguide` command with `--format json`."""


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PATHS) or request.url.path == "/openapi.json"


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    try:
        return render(request, "error.html", status, title=title, message=message)
    except Exception:  # the site database itself may be what failed: show the page without the user
        log.exception("error page without session")
        return templates.TemplateResponse(
            request, "error.html", {"title": title, "message": message, "csrf": ""}, status_code=status
        )


class _App(FastAPI):
    def openapi(self) -> dict:
        """FastAPI's document with the real error responses too (web/openapi_doc.py)."""
        from oncoguide.web.openapi_doc import document

        return document(self)


def create_app(settings: Settings | None = None) -> SecurityHeaders:
    """The app wrapped in its ASGI guards; `.state` reaches the FastAPI app's state."""
    from oncoguide.site import Site
    from oncoguide.web.cds_auth import TrustedClients
    from oncoguide.web.routes import account as account_pages
    from oncoguide.web.routes import api, cds_hooks, pages, takeaway
    from oncoguide.web.routes import community as community_pages
    from oncoguide.web.routes import fhir as fhir_api
    from oncoguide.web.routes import files as site_files
    from oncoguide.web.routes import review as review_pages

    settings = settings or Settings()
    problem = settings.serving_problem()
    if problem:
        raise SettingsError(problem)
    app = _App(title="oncoguide", version=oncoguide.__version__, description=DESCRIPTION, docs_url=None, redoc_url=None)
    # the knowledge base, the site database and every store on it, built here once (see site/core.py)
    site = app.state.site = Site(settings).open()
    app.state.overview_turns = {}  # condition -> the thread turn of its short answer (community_pages.overview)
    app.state.cds_clients = (
        TrustedClients.from_file(settings.cds_clients, site.engine) if settings.cds_clients else None
    )
    app.router.on_shutdown.append(site.questions.flush)  # counts gathered since the last write

    app.state.caches = Caches(site)  # composed answers and rendered answer pages (web/caching.py)
    static = VersionedStatic(directory=HERE / "static", gzip_min_bytes=settings.gzip_min_bytes)
    app.mount("/static", static, name="static")
    # every module's routes go straight into the app's one list, tried in this order (no two share a path,
    # the busiest first): an included router stays one nested route in FastAPI 0.16x, matched twice with
    # its context per request, which took a third of the time of a cached answer page
    for module in (api, pages, fhir_api, cds_hooks, review_pages, community_pages, account_pages, takeaway, site_files):
        app.router.routes.extend(module.router.routes)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if wants_json(request):
            return JSONResponse({"error": detail}, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 404:
            return error_page(
                request,
                404,
                "Page not found",
                "There is no page at this address. It may have moved, or the link may be wrong.",
            )
        titles = {401: "Please sign in", 403: "Not allowed", 409: "Someone else acted first"}
        return error_page(request, exc.status_code, titles.get(exc.status_code, "Request refused"), detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        bad_path = [e for e in exc.errors() if e.get("loc", ())[:1] == ("path",)]
        if bad_path:  # an id that is not a number in range names nothing: 404, like an unknown id
            name = bad_path[0]["loc"][-1]
            return await http_error(
                request,
                StarletteHTTPException(
                    404, f"there is nothing at this address: {name} must be a whole number from 1 to {MAX_INT}"
                ),
            )
        problems = validation_problems(exc.errors())
        message = "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems)
        if wants_json(request):
            return JSONResponse({"error": f"invalid request: {message}", "problems": problems}, status_code=422)
        return error_page(request, 422, "Please check what you entered", message)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        # Starlette re-raises after this response and the server then drops the connection: say so, so a
        # keep-alive client does not send its next request into a closing socket
        response: Response
        if wants_json(request):
            response = JSONResponse({"error": "internal error; it has been logged"}, status_code=500)
        else:
            response = error_page(
                request,
                500,
                "Something went wrong",
                "The page could not be shown. The error has been logged; please try again.",
            )
        response.headers["connection"] = "close"
        return response

    guarded = JsonGuard(app, settings.max_json_depth)
    limited = CdsCors(BodyLimit(guarded, settings.max_body_bytes, settings.max_fhir_body_bytes))
    # gzip for HTML, CSS, JS, JSON and SVG of gzip_min_bytes or more; level 6 compresses a 100 kB page to
    # within a few percent of level 9 in a third of the time
    outer = SecurityHeaders(Gzip(limited, minimum_size=settings.gzip_min_bytes, compresslevel=6))
    outer.state = app.state
    return outer


def factory():
    """Entry point for `uvicorn --factory` (each worker process builds its own app).

    A server computes the evidence reports before taking requests: the first computation (scipy's
    import, the REML fit) takes about 0.4 s, which would otherwise stall the first visitors.
    """
    from oncoguide.evidence.report import topic_attributes
    from oncoguide.web.worldmap import world

    app = create_app()
    # a new pack may have changed what approved articles rest on: record it before serving them
    site = app.state.site
    site.reviews.refresh()
    site.questions.seed()
    site.questions.purge()  # masked questions past ONCOGUIDE_QUESTION_RETENTION_DAYS
    from oncoguide.web.routes.community import overview

    # the condition pages' short answers, as articles reviewers can approve
    for slug in site.kb.contents.lexicon.conditions:
        overview(app.state, slug)
    world()  # the members map's outlines, projected once per worker
    ev = site.kb.evidence
    for topic_id, topic in ev.topics.items():
        attributes = topic_attributes(topic)
        ev.report(topic_id, attributes[0] if attributes else None)
        ev.forest_plot(topic_id)
    return app
