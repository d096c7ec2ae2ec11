"""What stands between a request and the application: body size limit, security headers, and turning
validation errors into messages that name the field."""

from __future__ import annotations

import json

BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON_PATHS = ("/api/", "/cds-services")  # errors there are JSON, not pages
FHIR_INPUT_PATHS = ("/cds-services", "/api/recommend")
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
    (b"access-control-max-age", b"600"),
]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
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

    async def _refuse(self, scope, send, status: int, message: str) -> None:
        if scope["path"].startswith(JSON_PATHS):
            body, ctype = json.dumps({"error": message}).encode(), b"application/json"
        else:
            body, ctype = f"{message}\n".encode(), b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")] + HEADERS})
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
