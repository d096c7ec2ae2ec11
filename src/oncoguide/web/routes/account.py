"""A member's own account: the country they share on the members map, and deleting the account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from oncoguide.site.accounts import AccountError
from oncoguide.site.countries import countries, country_names
from oncoguide.site.members import POST_CHOICES, SELF_DELETE_ROLES, MemberError
from oncoguide.site.names import AFFILIATION_MAX, CREDENTIALS_MAX
from oncoguide.site.review import REVIEW_ROLES
from oncoguide.web.auth import SESSION_COOKIE, check_csrf, signed_in, user_of
from oncoguide.web.views import render

router = APIRouter(include_in_schema=False)


def account_page(request: Request, status: int = 200, error: str = "", saved: str = ""):
    me = signed_in(request, "see your account")
    state = request.app.state
    mine = state.site.experiences.mine(me)
    return render(
        request,
        "account.html",
        status,
        countries=countries(),
        names=country_names(),
        country=state.site.members.country_of(me),
        posts=len(mine),
        choices=POST_CHOICES,
        may_delete=me.role in SELF_DELETE_ROLES,
        reviews=me.role in REVIEW_ROLES,
        credentials_max=CREDENTIALS_MAX,
        affiliation_max=AFFILIATION_MAX,
        error=error,
        saved=saved,
    )


@router.get("/account")
async def account(request: Request, saved: str = ""):
    if user_of(request) is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    return account_page(request, saved=SAVED.get(saved, ""))


SAVED = {
    "country": "Your country setting is saved.",
    "profile": "Your credentials and affiliation are saved. Readers see them beside “Reviewed by”.",
}


@router.post("/account/profile")
async def set_profile(
    request: Request,
    credentials: Annotated[str, Form(max_length=1000)] = "",
    affiliation: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    me = signed_in(request, "change your reviewer profile")
    if me.role not in REVIEW_ROLES:
        return account_page(request, 403, error="credentials and affiliation are for reviewers, editors and admins")
    try:
        request.app.state.site.accounts.set_profile(me.username, credentials, affiliation)
    except AccountError as exc:
        return account_page(request, 422, error=str(exc))
    # cached answer pages name these beside "Reviewed by": their key holds them (Reviews.state), in every worker
    return RedirectResponse("/account?saved=profile#profile-h", status_code=303)


@router.post("/account/country")
async def set_country(
    request: Request, country: Annotated[str, Form(max_length=10)] = "", csrf: Annotated[str, Form(max_length=200)] = ""
):
    check_csrf(request, csrf)
    me = signed_in(request, "share your country")
    try:
        request.app.state.site.members.set_country(me, country)
    except MemberError as exc:
        return account_page(request, 422, error=str(exc))
    return RedirectResponse("/account?saved=country", status_code=303)


@router.post("/account/delete")
async def delete_account(
    request: Request,
    password: Annotated[str, Form(max_length=1000)] = "",
    posts: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
):
    check_csrf(request, csrf)
    me = signed_in(request, "delete your account")
    try:
        request.app.state.site.members.delete(me, password, posts)
    except MemberError as exc:
        return account_page(request, 422, error=str(exc))
    response = render(request, "account_deleted.html", removed=posts == "remove")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
