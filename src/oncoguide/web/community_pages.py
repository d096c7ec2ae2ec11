"""Condition pages: the reviewed short answer for patients, top questions and where to read more."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from oncoguide.community import OVERVIEW, VoteError
from oncoguide.web.auth import check_csrf, user_of
from oncoguide.web.views import CONDITIONS, render, review_status

router = APIRouter(include_in_schema=False)


@router.get("/conditions/{slug}")
async def condition(request: Request, slug: str):
    if slug not in CONDITIONS:
        raise HTTPException(404)
    state = request.app.state
    short = state.kb.ask(OVERVIEW[slug], audience="patient")
    return render(request, "condition.html", slug=slug, short=short, overview=OVERVIEW[slug],
                  review=review_status(state.reviews.reader_view(short)), top=state.questions.top(slug),
                  error="")


@router.post("/conditions/{slug}/helpful")
async def helpful(request: Request, slug: str, key: Annotated[str, Form(max_length=64)] = "",
                  csrf: Annotated[str, Form(max_length=200)] = ""):
    check_csrf(request, csrf)
    if slug not in CONDITIONS:
        raise HTTPException(404)
    user = user_of(request)
    if user is None:
        raise HTTPException(401, "sign in to mark a question helpful")
    state = request.app.state
    try:
        state.questions.vote(key, user)
    except VoteError as exc:
        short = state.kb.ask(OVERVIEW[slug], audience="patient")
        return render(request, "condition.html", 409 if "already" in str(exc) else 404, slug=slug, short=short,
                      overview=OVERVIEW[slug], review=review_status(state.reviews.reader_view(short)),
                      top=state.questions.top(slug), error=str(exc))
    return RedirectResponse(f"/conditions/{slug}#top-questions", status_code=303)
