"""The web benchmark's peer (bench/web.py): canned FastAPI handlers that return a stored body of a given size.

Served by uvicorn as `oncoguide serve` is (two workers, httptools, no access log), it measures what the
framework and the server cost for a response of that size and nothing else: the ceiling for an endpoint.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()


@lru_cache(maxsize=64)
def canned(size: int) -> bytes:
    return (b"<p>canned body</p>\n" * (size // 19 + 1))[:size]


@app.get("/canned/{size}")
async def get_canned(size: int) -> Response:
    return Response(canned(size), media_type="text/html")


@app.post("/canned/{size}")
async def post_canned(size: int, request: Request) -> Response:
    await request.body()
    return Response(canned(size), media_type="application/json")
