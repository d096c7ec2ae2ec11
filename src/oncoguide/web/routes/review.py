"""Sign in and out, the reviewers' queue and article view, review actions (HTML and JSON), and the
editorial policy page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from oncoguide.site.accounts import AccountError, LoginThrottled
from oncoguide.site.countries import countries, country_names
from oncoguide.site.experiences import MODERATORS
from oncoguide.site.questions import MAX_WORDING, QUESTION_EDITORS, QuestionError
from oncoguide.site.review import ACTIONS, LABELS, REVIEW_ROLES, NoArticle, ReviewConflict, ReviewError
from oncoguide.web.auth import SESSION_COOKIE, SESSION_MAX_AGE, check_csrf, session_of, set_cookie, user_of
from oncoguide.web.guards import MAX_INT, Count, IdPath
from oncoguide.web.views import render

router = APIRouter()


def safe_next(target: str) -> str:
    """Only a path on this site (no //host, no scheme) may follow a login."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 500:
        return target
    return "/"


# pages only some roles may see: after signing in, nobody is sent to one of these that would refuse them
STAFF_PAGES = (("/review/questions", QUESTION_EDITORS), ("/review", REVIEW_ROLES), ("/moderation", MODERATORS))


def landing(role: str, target: str) -> str:
    """Where a sign-in leads: the page asked for if this role may see it, else the role's own work page
    (the review queue, moderation) or the home page."""
    target = safe_next(target) if target else ""
    for prefix, roles in STAFF_PAGES:
        if target == prefix or target.startswith(prefix + "/") or target.startswith(prefix + "?"):
            if role not in roles:
                target = ""
            break
    if target:
        return target
    if role in REVIEW_ROLES:
        return "/review"
    return "/moderation" if role in MODERATORS else "/"


@router.get("/login", include_in_schema=False)
async def login_form(request: Request, next: str = ""):
    return render(request, "login.html", next=safe_next(next) if next else "", error="", username="")


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    accounts = request.app.state.site.accounts
    next = safe_next(next) if next else ""
    try:
        user = accounts.authenticate(username, password)
    except LoginThrottled as exc:
        resp = render(request, "login.html", 429, next=next, error=str(exc), username=username)
        resp.headers["Retry-After"] = str(exc.seconds)
        return resp
    except AccountError as exc:
        return render(request, "login.html", 401, next=next, error=str(exc), username=username)
    cookie, _ = accounts.start_session(user, request.cookies.get(SESSION_COOKIE))  # a new id at every login
    resp = RedirectResponse(landing(user.role, next), status_code=303)
    set_cookie(request, resp, SESSION_COOKIE, cookie, SESSION_MAX_AGE)
    return resp


@router.get("/join", include_in_schema=False)
async def join_form(request: Request, next: str = "/"):
    return render(
        request,
        "join.html",
        next=safe_next(next),
        error="",
        username="",
        display_name="",
        country="",
        countries=countries(),
    )


@router.post("/join", include_in_schema=False)
async def join(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
    country: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    """Anyone may join as a member (role reader); other roles are given by an admin."""
    check_csrf(request, csrf)
    accounts = request.app.state.site.accounts
    try:
        if country and country.strip().upper() not in country_names():
            raise AccountError("choose a country from the list, or 'Not shared'")
        user = accounts.add(username, display_name or username, "reader", password)
    except AccountError as exc:
        return render(
            request,
            "join.html",
            422,
            next=safe_next(next),
            error=str(exc),
            username=username,
            display_name=display_name,
            country=country,
            countries=countries(),
        )
    if country:
        request.app.state.site.members.set_country(user, country)
    cookie, _ = accounts.start_session(user, request.cookies.get(SESSION_COOKIE))
    after = safe_next(next)
    resp = RedirectResponse("/welcome" + (f"?next={quote(after, safe='/')}" if after != "/" else ""), status_code=303)
    set_cookie(request, resp, SESSION_COOKIE, cookie, SESSION_MAX_AGE)
    return resp


@router.get("/welcome", include_in_schema=False)
async def welcome(request: Request, next: str = "/"):
    """After joining: a welcome, and the next steps (share a story, the members map, back to the page)."""
    me = user_of(request)
    if me is None:
        return RedirectResponse("/join", status_code=303)
    after = safe_next(next)
    slug = after.removeprefix("/conditions/").split("?")[0].split("#")[0] if after.startswith("/conditions/") else ""
    conditions = request.app.state.site.kb.contents.lexicon.conditions
    return render(
        request,
        "welcome.html",
        after=after if after != "/" else "",
        condition=slug if slug in conditions else "",
        country=request.app.state.site.members.country_of(me),
    )


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = ""):
    check_csrf(request, csrf)
    request.app.state.site.accounts.end_session(request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/editorial-policy", include_in_schema=False)
async def policy(request: Request):
    return render(request, "policy.html")


def reviewer(request: Request, html: bool = True):
    user = user_of(request)
    if user is None:
        if html:
            raise HTTPException(401, "sign in with a reviewer's account to see the review queue")
        raise HTTPException(401, "send an API token (Authorization: Bearer ...) of a reviewer's account")
    if user.role not in REVIEW_ROLES:
        raise HTTPException(403, f"the review queue is for reviewers and editors; you are signed in as a {user.role}")
    return user


@router.get("/review", include_in_schema=False)
async def queue(request: Request):
    if user_of(request) is None:
        return RedirectResponse("/login?next=/review", status_code=303)
    reviewer(request)
    return render(request, "review_queue.html", queue=request.app.state.site.reviews.queue(), LABELS=LABELS)


@router.get("/review/articles/{art_id}", include_in_schema=False)
async def article(request: Request, art_id: IdPath):
    user = reviewer(request)
    reviews = request.app.state.site.reviews
    art = reviews.get(art_id)
    if art is None:
        raise HTTPException(404)
    actions = [(to, ACTIONS[to]) for to in reviews.allowed(art.status, user)]
    return render(
        request,
        "review_article.html",
        art=art,
        actions=actions,
        LABELS=LABELS,
        sources=request.app.state.site.kb.contents.sources,
        error="",
    )


@router.post("/review/articles/{art_id}", include_in_schema=False)
async def act(
    request: Request,
    art_id: IdPath,
    to: Annotated[str, Form(max_length=40)] = "",
    comment: Annotated[str, Form(max_length=10_000)] = "",
    revision: Annotated[int, Form(ge=0, le=MAX_INT)] = 0,
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    user = reviewer(request)
    reviews = request.app.state.site.reviews
    try:
        reviews.transition(art_id, to, user, comment, revision)
    except ReviewConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
    except ReviewError as exc:
        art = reviews.get(art_id)
        if art is None:
            raise HTTPException(404) from None
        actions = [(t, ACTIONS[t]) for t in reviews.allowed(art.status, user)]
        return render(
            request,
            "review_article.html",
            422,
            art=art,
            actions=actions,
            LABELS=LABELS,
            sources=request.app.state.site.kb.contents.sources,
            error=str(exc),
        )
    return RedirectResponse(f"/review/articles/{art_id}", status_code=303)


# --- the editors' list of questions that matched no canonical one (masked, kept for a limited time) ----


def question_editor(request: Request):
    user = user_of(request)
    if user is None:
        raise HTTPException(401, "sign in with an editor's account to see the questions list")
    if user.role not in QUESTION_EDITORS:
        raise HTTPException(403, f"the questions list is for editors; you are signed in as a {user.role}")
    return user


def questions_page(request: Request, status: int = 200, error: str = "", notice: str = ""):
    state = request.app.state
    return render(
        request,
        "review_questions.html",
        status,
        unmatched=state.site.questions.unmatched(),
        gaps=state.site.questions.gaps(),
        retention=state.site.settings.question_retention_days,
        error=error,
        notice=notice,
        max_wording=MAX_WORDING,
    )


@router.get("/review/questions", include_in_schema=False)
async def questions_list(request: Request):
    if user_of(request) is None:
        return RedirectResponse("/login?next=/review/questions", status_code=303)
    question_editor(request)
    return questions_page(request)


@router.post("/review/questions/{key}", include_in_schema=False)
async def question_action(
    request: Request,
    key: str,
    action: Annotated[str, Form(max_length=10)] = "",
    wording: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    user = question_editor(request)
    questions = request.app.state.site.questions
    try:
        if action == "promote":
            done = questions.promote(key, wording, user)
            notice = f"Published as “{done.text}”."
            if done.key != key:  # the editor's wording is read as another question than the one asked
                notice += (
                    " Your wording is understood differently from the question asked, so new questions "
                    "like the original will still come to this list."
                )
        elif action == "delete":
            questions.remove(key, user)
            notice = "Deleted."
        else:
            raise QuestionError("action must be promote or delete")
    except QuestionError as exc:
        return questions_page(request, exc.status, error=str(exc))
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
    return questions_page(request, notice=notice)


# --- JSON API for reviews (API token, or a session with its CSRF header) ------------------------------


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=40, description="submitted, under-review, approved, changes-requested or retracted")
    comment: str = Field("", max_length=4000)
    revision: Count = Field(description="The article's revision you acted on; a stale one gets 409.")


@router.get("/api/articles", tags=["review"], summary="The review queue")
async def api_queue(request: Request) -> JSONResponse:
    reviewer(request, html=False)
    data = request.app.state.site.reviews.queue()
    return JSONResponse({k: [dict(r, updated=r["updated"].isoformat()) for r in v] for k, v in data.items()})


@router.post("/api/articles/{art_id}/transition", tags=["review"], summary="Move an article through review")
async def api_transition(request: Request, art_id: IdPath, body: TransitionIn) -> JSONResponse:
    if session_of(request) is not None:  # a cookie session needs its CSRF header unless a valid API token acts
        check_csrf(request, None)
    user = reviewer(request, html=False)
    try:
        art = request.app.state.site.reviews.transition(art_id, body.to, user, body.comment, body.revision)
    except ReviewConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
    except NoArticle as exc:
        raise HTTPException(404, str(exc)) from None
    except ReviewError as exc:
        raise HTTPException(422, str(exc)) from None
    return JSONResponse({"id": art.id, "status": art.status, "version": art.version, "revision": art.revision})
