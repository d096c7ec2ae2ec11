"""The files browsers and crawlers ask for at fixed addresses: /favicon.ico and /robots.txt."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from oncoguide.web.static_files import STATIC

router = APIRouter(include_in_schema=False)

DAY = 24 * 3600
FAVICON = (STATIC / "favicon.svg").read_bytes()
ROBOTS = "User-agent: *\nDisallow: /review\nDisallow: /moderation\nDisallow: /account\nAllow: /\n"


@router.get("/favicon.ico")
async def favicon() -> Response:
    """The site's icon (an SVG, which every current browser shows) for browsers that ask this address."""
    return Response(
        FAVICON,
        media_type="image/svg+xml",
        headers={"cache-control": f"public, max-age={DAY}"},
    )


@router.get("/robots.txt")
async def robots() -> PlainTextResponse:
    return PlainTextResponse(ROBOTS, headers={"cache-control": f"public, max-age={DAY}"})
