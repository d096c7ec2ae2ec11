"""Who is asking (session cookie or API token) and CSRF protection for every state-changing request.

Signed-in users carry a server-side session (the cookie holds a random id; the database holds its
hash and the session's CSRF token). Anonymous visitors get a CSRF cookie checked against the form
field or the X-CSRF-Token header that htmx sends (double submit). Requests with an API token
(Authorization: Bearer og_...) carry no ambient credentials and need no CSRF token.
"""

from __future__ import annotations

import hmac
import re
import secrets

from fastapi import HTTPException, Request

from oncoguide.site.accounts import SESSION_LIFETIME, Session, User

SESSION_COOKIE = "og_session"
CSRF_COOKIE = "og_csrf"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")  # a CSRF token as secrets.token_urlsafe makes it


def session_of(request: Request) -> Session | None:
    if not hasattr(request.state, "session"):
        request.state.session = request.app.state.site.accounts.session(request.cookies.get(SESSION_COOKIE))
    return request.state.session


def bearer_user(request: Request) -> User | None:
    """The user of a valid API token; None without a Bearer header; 401 for an invalid one."""
    if not hasattr(request.state, "bearer"):  # looked up once a request (it may record the token's use)
        auth = request.headers.get("authorization", "")
        user = None
        if auth.lower().startswith("bearer "):
            user = request.app.state.site.accounts.user_for_token(auth[7:].strip())
            if user is None:
                raise HTTPException(401, "the API token is unknown, revoked or belongs to a disabled account")
        request.state.bearer = user
    return request.state.bearer


def user_of(request: Request) -> User | None:
    user = bearer_user(request)
    if user is not None:
        return user
    session = session_of(request)
    return session.user if session else None


def signed_in(request: Request, why: str) -> User:
    """The signed-in user, or 401 saying what signing in is needed for."""
    user = user_of(request)
    if user is None:
        raise HTTPException(401, f"sign in to {why}")
    return user


def csrf_token(request: Request) -> tuple[str, bool]:
    """The CSRF token for forms on this page, and whether a new anonymous cookie must be set."""
    session = session_of(request)
    if session is not None:
        return session.csrf, False
    token = request.cookies.get(CSRF_COOKIE, "")
    if TOKEN_SHAPE.fullmatch(token):  # what token_urlsafe makes: a cached page writes it in unescaped
        return token, False
    return secrets.token_urlsafe(32), True


def set_cookie(request: Request, response, name: str, value: str, max_age: int | None = None) -> None:
    """An HttpOnly, SameSite=Lax cookie for the whole site (Secure over https). A token-shaped value (all the
    site sets) is written as Starlette's set_cookie writes it, without its SimpleCookie: that took a tenth of
    the time of sending a cached page to a new visitor."""
    secure = request.scope.get("scheme") == "https"
    if not TOKEN_SHAPE.fullmatch(value):
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", path="/", secure=secure)
        return
    age = "" if max_age is None else f"; Max-Age={max_age}"
    header = f"{name}={value}; HttpOnly{age}; Path=/; SameSite=lax{'; Secure' if secure else ''}"
    response.raw_headers.append((b"set-cookie", header.encode("latin-1")))


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong (403).

    Only a valid API token lifts the check (the request then acts as the token's user, not the session's):
    any other Authorization header leaves the cookie session in charge, and the cookie is what a forged
    cross-site request carries. An invalid Bearer token is 401.
    """
    if bearer_user(request) is not None:
        return
    session = session_of(request)
    expected = session.csrf if session else request.cookies.get(CSRF_COOKIE, "")
    sent = sent or request.headers.get("x-csrf-token", "")
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise HTTPException(403, "the form's security token is missing or out of date; reload the page and try again")


SESSION_MAX_AGE = int(SESSION_LIFETIME.total_seconds())
