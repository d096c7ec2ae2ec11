"""What stands between a request and the application: body size limit, JSON depth and number limits,
security headers, bounded integers, and turning validation errors into messages that name the field."""

from __future__ import annotations

import asyncio
import json
import sys
import weakref
from typing import Annotated, Any

from fastapi import Path
from pydantic import Field

BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON_PATHS = ("/api/", "/cds-services")  # errors there are JSON, not pages
FHIR_INPUT_PATHS = ("/cds-services", "/api/recommend")
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
    (b"access-control-max-age", b"600"),
]

# Every integer the service accepts (ids, revisions, counts) fits a 32-bit signed column: PostgreSQL's
# INTEGER, and far below SQLite's 2**63 limit, past which the driver raises OverflowError (a 500).
MAX_INT = 2**31 - 1
Count = Annotated[int, Field(ge=0, le=MAX_INT)]  # a revision, a count: 0 allowed
# an id in a path: anything out of range names no row, so the app answers 404 (see app.invalid_request)
IdPath = Annotated[int, Path(ge=1, le=MAX_INT)]


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a plain ASGI wrapper: no per-request task)."""

    def __init__(self, app):
        self.app = app
        self.state = getattr(app, "state", None)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CdsCors:
    """CORS for the CDS Hooks endpoints, which browser-based record systems (and the CDS Hooks sandbox)
    call from another origin; they carry no cookie-based session, so any origin may call them."""

    def __init__(self, app):
        self.app = app
        self.state = getattr(app, "state", None)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/cds-services"):
            return await self.app(scope, receive, send)
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": CORS_HEADERS + HEADERS})
            return await send({"type": "http.response.body", "body": b""})

        async def send_with_cors(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + CORS_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)


class BodyLimit:
    """Refuses request bodies larger than `limit` bytes with 413, whether or not Content-Length is sent.

    The body (at most `limit` bytes) is read before the application sees it, so an oversized body is
    refused before anything acts on it.
    """

    def __init__(self, app, limit: int, fhir_limit: int | None = None):
        self.app = app
        self.limit = limit
        self.fhir_limit = fhir_limit or limit  # FHIR records (CDS Hooks prefetch, Bundles) run larger
        self.state = getattr(app, "state", None)

    def limit_for(self, path: str) -> int:
        return self.fhir_limit if path.startswith(FHIR_INPUT_PATHS) else self.limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                return await self._refuse(scope, send, 400, "the Content-Length header is not a number")
            if too_big:
                return await self._refuse(scope, send, 413, self._too_big(limit))
        messages, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size > limit:
                return await self._refuse(scope, send, 413, self._too_big(limit))
            messages.append(message)
            if not message.get("more_body", False):
                break

        async def replay():
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _too_big(limit: int) -> str:
        return f"the request body is larger than {limit // 1024} kB"

    @staticmethod
    async def _refuse(scope, send, status: int, message: str) -> None:
        await refuse(scope, send, status, message)  # the body is left unread: the connection closes


# --- JSON bodies: the one reader -------------------------------------------------------------------


class JsonBodyError(ValueError):
    """A body that is not JSON we read: the message names the problem (and where, for a syntax error)."""


# for the nesting scan: brackets kept (both kinds as '[' / ']'), quotes kept, everything else dropped
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')


def nesting_depth_over(raw: bytes, limit: int) -> bool:
    """Whether the JSON text nests arrays/objects more than `limit` deep, found without recursion (json's
    decoder recurses once per level and raises RecursionError near 1,000). C-speed string operations:
    escaped backslashes and quotes are removed, then strings (text between quotes) and everything but
    brackets; then each pass deletes the innermost "[]" pairs, so the number of passes is the depth."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    kept = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_BRACKETS, _NOT_STRUCTURE)
    skeleton = b"".join(kept.split(b'"')[0::2])
    passes = 0
    while skeleton:
        shorter = skeleton.replace(b"[]", b"")
        if len(shorter) == len(skeleton):  # unbalanced (not valid JSON): count what is still open
            return passes + shorter.count(b"[") > limit
        passes += 1
        if passes > limit:
            return True
        skeleton = shorter
    return False


def read_json(raw: bytes, max_depth: int) -> Any:
    """The request body as JSON, or JsonBodyError naming what is wrong: not JSON (with the position), nested
    deeper than `max_depth`, or an integer longer than Python converts (the int-digits limit)."""
    if nesting_depth_over(raw, max_depth):
        raise JsonBodyError(f"the body nests arrays or objects more than {max_depth} levels deep")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JsonBodyError(f"the body is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise JsonBodyError(f"the body is not valid JSON (byte {exc.start} is not UTF-8)") from None
    except RecursionError:  # not reached after the scan above; kept so no body can give a 500
        raise JsonBodyError(f"the body nests arrays or objects more than {max_depth} levels deep") from None
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise JsonBodyError(f"a number in the body has more than {sys.get_int_max_str_digits()} digits") from None


# one heavy call at a time per worker process, per event loop: with several heavy threads the event loop
# thread got only its share of the GIL among them, and other requests waited again
_heavy_limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def off_loop(fn, *args):
    """Run CPU-heavy work (a FHIR record of megabytes) in a worker thread, one such call at a time."""
    import anyio.to_thread

    loop = asyncio.get_running_loop()
    limiter = _heavy_limiters.get(loop)
    if limiter is None:
        limiter = _heavy_limiters[loop] = anyio.CapacityLimiter(1)
    return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)


def json_problem(message: str) -> dict:
    """The JSON API's answer to a body it cannot read (422), the same shape as validation errors."""
    return {"error": f"invalid request: {message}", "problems": [{"field": "", "message": message}]}


def is_json_body(scope) -> bool:
    """A body FastAPI would parse as JSON: a JSON media type, or none at all on the JSON API."""
    ctype = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
    if not ctype:
        return scope["path"].startswith(JSON_PATHS)
    return ctype == b"application/json" or ctype.endswith(b"+json")


class JsonGuard:
    """Reads JSON bodies with `read_json` before FastAPI parses them for its models (/api/ask, the review
    transition): FastAPI's own json.loads would answer deep nesting or a 5,000-digit number with 400
    "There was an error parsing the body" (or recurse). Bodies to SELF_READ_PATHS are left to their
    handlers, which read them with the same `read_json` (off the event loop where they run to megabytes).
    Sits inside BodyLimit, so the body is already bounded."""

    SELF_READ_PATHS = (*FHIR_INPUT_PATHS, "/api/ask")  # /api/ask: read once by its handler, on the event loop

    def __init__(self, app, max_depth: int):
        self.app = app
        self.max_depth = max_depth
        self.state = getattr(app, "state", None)

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or scope["method"] not in BODY_METHODS
            or not is_json_body(scope)
            or scope["path"].startswith(self.SELF_READ_PATHS)
        ):
            return await self.app(scope, receive, send)
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        raw = b"".join(m.get("body", b"") for m in messages)
        if raw:
            try:
                read_json(raw, self.max_depth)
            except JsonBodyError as exc:
                return await refuse(scope, send, 422, str(exc), keep_alive=True)

        async def replay():
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def refuse(scope, send, status: int, message: str, keep_alive: bool = False) -> None:
    """Answer before the application: JSON (with `problems` for 422) on the JSON paths, plain text elsewhere.
    A refusal sent before the body was read ends the connection, and says so (Connection: close)."""
    if scope["path"].startswith(JSON_PATHS):
        data = json_problem(message) if status == 422 else {"error": message}
        body, ctype = json.dumps(data, separators=(",", ":")).encode(), b"application/json"
    else:
        body, ctype = f"{message}\n".encode(), b"text/plain; charset=utf-8"
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    if not keep_alive:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers + HEADERS})
    await send({"type": "http.response.body", "body": body})


def validation_problems(errors) -> list[dict]:
    """pydantic/FastAPI validation errors as [{field, message}], the field named as the client sent it."""
    out = []
    for e in errors:
        loc = [p for p in e.get("loc", ()) if p not in ("body", "query", "path", "form")]
        kind = e.get("type", "")
        if kind == "json_invalid":
            pos = loc[0] if loc and isinstance(loc[0], int) else None
            where = f" (at character {pos})" if pos is not None else ""
            out.append({"field": "", "message": f"the body is not valid JSON{where}"})
            continue
        field = ".".join(str(p) for p in loc)
        if kind == "missing":
            message = "is required"
        elif kind == "extra_forbidden":
            message = "is not a field this endpoint accepts"
        elif kind in ("model_attributes_type", "dict_type") and not field:
            message = "the body must be a JSON object"
        else:
            message = e.get("msg", "is not valid")
        out.append({"field": field, "message": message})
    return out
