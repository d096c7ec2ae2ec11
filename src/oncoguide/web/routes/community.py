"""Condition pages: the reviewed short answer for patients, top questions and where to read more."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from oncoguide.site.countries import country_names
from oncoguide.site.experiences import MAX_CHARS, MODERATORS, PostError
from oncoguide.site.questions import OVERVIEW, VoteError
from oncoguide.site.threads import ask_in_thread
from oncoguide.web.auth import check_csrf, signed_in, user_of
from oncoguide.web.guards import MAX_INT, IdPath
from oncoguide.web.views import condition_names, render, review_status
from oncoguide.web.worldmap import members_svg, world

router = APIRouter(include_in_schema=False)


STORIES_PER_PAGE = 20


def overview(state, slug: str):
    """The condition's patient short answer as a thread turn with its articles: (turn id, Answer).

    The short answer links to its full article and shows that article's status, so the turn and the
    articles (both audiences) are made the first time (at start-up, or by the first view), like any
    question asked through the site; later views only read them.
    """
    if slug in state.overview_turns:  # made by this process already: composed once (web/caching.py)
        turn = state.overview_turns[slug]
        return turn, state.caches.answer(turn, "patient")
    turn, answer, earlier = ask_in_thread(state.site, state.site.threads, OVERVIEW[slug], "patient", None)
    state.site.reviews.record_audiences(answer, earlier)
    state.overview_turns[slug] = turn
    return turn, answer


def condition_page(
    request: Request,
    slug: str,
    status: int = 200,
    error: str = "",
    draft: str = "",
    page: int = 1,
    posted_id: int | None = None,
    token: str | None = None,
):
    state = request.app.state
    short_turn, short = overview(state, slug)
    me = user_of(request)
    posted = None
    if me is not None and posted_id is not None:
        found = state.site.experiences.get(posted_id)
        posted = found if found and found.author == me.display_name else None
    stories_total, authors = state.site.experiences.tally(slug)
    members, by_country = state.site.members.stats()
    names = country_names()
    table = sorted(((names.get(code, code), n) for code, n in by_country.items()), key=lambda r: (-r[1], r[0]))
    return render(
        request,
        "condition.html",
        status,
        slug=slug,
        short=short,
        short_turn=short_turn,
        map_svg=members_svg(by_country),
        map_table=table,
        members=members,
        not_drawn=[name for name, _n in table if name not in world().drawn_names],
        review=review_status(state.site.reviews.reader_view(short)),
        top=state.site.questions.top(slug),
        stories=state.site.experiences.published(slug, STORIES_PER_PAGE, (page - 1) * STORIES_PER_PAGE),
        stories_total=stories_total,
        page=page,
        pages=max(1, -(-stories_total // STORIES_PER_PAGE)),
        shared=authors,
        mine=[e for e in state.site.experiences.mine(me) if e.condition == slug] if me else [],
        posted=posted,
        error=error,
        draft=draft,
        max_chars=MAX_CHARS,
        token=token,
    )


@router.get("/community")
async def community(request: Request):
    """The community's front door: each condition's page, with its members' stories and top questions."""
    state = request.app.state

    def make(token: str | None):
        tallies = {slug: state.site.experiences.tally(slug) for slug in condition_names(request)}
        return render(request, "community.html", tallies=tallies, members=state.site.members.stats()[0], token=token)

    return state.caches.view(request, make, site_data=True)  # rendered again after any write to the site database


@router.get("/conditions/{slug}")
async def condition(
    request: Request,
    slug: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    posted: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
):
    if slug not in condition_names(request):
        raise HTTPException(404)
    if posted is not None:  # the page after posting names the visitor's own story
        return condition_page(request, slug, page=page, posted_id=posted)
    questions = request.app.state.site.questions
    if questions.has_pending():  # the top questions count every asking: written first, as top() would
        questions.flush()
    return request.app.state.caches.view(
        request, lambda token: condition_page(request, slug, page=page, token=token), site_data=True
    )


@router.post("/conditions/{slug}/experiences")
async def share(
    request: Request,
    slug: str,
    body: Annotated[str, Form(max_length=20_000)] = "",
    question: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    if slug not in condition_names(request):
        raise HTTPException(404)
    user = signed_in(request, "share your experience")
    try:
        post = request.app.state.site.experiences.post(user, slug, body, question or None)
    except PostError as exc:
        return condition_page(request, slug, exc.status, error=str(exc), draft=body[: MAX_CHARS + 1000])
    return RedirectResponse(f"/conditions/{slug}?posted={post.id}#posted", status_code=303)


@router.post("/experiences/{exp_id}/flag")
async def flag(request: Request, exp_id: IdPath, csrf: Annotated[str, Form(max_length=200)] = ""):
    check_csrf(request, csrf)
    user = signed_in(request, "flag a post")
    try:
        post = request.app.state.site.experiences.flag(exp_id, user)
    except PostError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return RedirectResponse(f"/conditions/{post.condition}#stories", status_code=303)


def moderator(request: Request):
    user = signed_in(request, "moderate posts")
    if user.role not in MODERATORS:
        raise HTTPException(403, f"moderation is for moderators; you are signed in as a {user.role}")
    return user


@router.get("/moderation")
async def moderation(request: Request):
    if user_of(request) is None:
        return RedirectResponse("/login?next=/moderation", status_code=303)
    moderator(request)
    return render(request, "moderation.html", queue=request.app.state.site.experiences.queue(), error="")


@router.post("/moderation/{exp_id}")
async def moderate(
    request: Request,
    exp_id: IdPath,
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    user = moderator(request)
    if decision not in ("approve", "reject"):
        raise HTTPException(422, "decision must be approve or reject")
    try:
        request.app.state.site.experiences.decide(exp_id, user, decision == "approve", reason)
    except PostError as exc:
        return render(
            request, "moderation.html", exc.status, queue=request.app.state.site.experiences.queue(), error=str(exc)
        )
    return RedirectResponse("/moderation", status_code=303)


@router.post("/conditions/{slug}/helpful")
async def helpful(
    request: Request,
    slug: str,
    key: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    if slug not in condition_names(request):
        raise HTTPException(404)
    user = signed_in(request, "mark a question helpful")
    state = request.app.state
    try:
        state.site.questions.vote(key, user)
    except VoteError as exc:
        return condition_page(request, slug, exc.status, error=str(exc))
    return RedirectResponse(f"/conditions/{slug}#top-questions", status_code=303)
