"""Static files at versioned addresses: `static_url("answer.js")` is /static/answer.js?v=<hash of its
content>, served with a lifetime of a year (immutable); any other address of a static file is revalidated
(ETag, Last-Modified) on every use, since its content may change with a new release.

Pages link one stylesheet, /static/site.css: the stylesheets below joined in their cascade order, made once
per process and gzipped once. Five render-blocking stylesheets had cost a phone on a slow network a
quarter of a second before the first paint (Lighthouse). Each file stays on its own for reading and
editing, and the handout's PDF takes print.css alone (web/pdf.py).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers

from oncoguide.web.compression import accepts_gzip, gzip_whole
from oncoguide.web.conditional import matches

STATIC = Path(__file__).parent / "static"
YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR}, immutable"
BUNDLE = "site.css"
BUNDLED = ("style.css", "evidence.css", "answer.css", "theme.css", "print.css")  # in cascade order


@lru_cache(maxsize=256)
def _version(path: str, mtime_ns: int) -> str:
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=6).hexdigest()


@lru_cache(maxsize=1)
def site_css() -> tuple[bytes, bytes, str]:
    """site.css: its text, the text gzipped, and its version (made once: the files change with a release)."""
    text = b"\n".join(f"/* --- {name} --- */\n".encode() + (STATIC / name).read_bytes() for name in BUNDLED)
    return text, gzip_whole(text), hashlib.blake2b(text, digest_size=6).hexdigest()


def site_css_response(scope, gzip_min_bytes: int) -> Response:
    text, packed, version = site_css()
    headers = Headers(scope=scope)
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
    etag = f'"{version}"'
    sent = {"etag": etag, "cache-control": IMMUTABLE if asked == version else "no-cache", "vary": "Accept-Encoding"}
    if matches(headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=sent)
    if len(text) >= gzip_min_bytes and accepts_gzip(headers.get("accept-encoding", "")):
        return Response(packed, media_type="text/css", headers=sent | {"content-encoding": "gzip"})
    return Response(text, media_type="text/css", headers=sent)


@lru_cache(maxsize=256)
def static_url(name: str) -> str:
    """The address of a static file with its content's version: cached for a year, a new address when the
    file changes (the package's files change only with a new release, so once per process)."""
    if name == BUNDLE:
        return f"/static/{BUNDLE}?v={site_css()[2]}"
    path = STATIC / name
    return f"/static/{name}?v={_version(str(path), path.stat().st_mtime_ns)}" if path.is_file() else f"/static/{name}"


class VersionedStatic(StaticFiles):
    """StaticFiles whose responses are cacheable for a year when asked for by the current version
    (static_url), and revalidated (ETag, Last-Modified) otherwise; /static/site.css is the bundle."""

    def __init__(self, *, directory: Path, gzip_min_bytes: int):
        super().__init__(directory=directory)
        self.gzip_min_bytes = gzip_min_bytes

    async def get_response(self, path: str, scope) -> Response:
        if path == BUNDLE and scope["method"] in ("GET", "HEAD"):
            return site_css_response(scope, self.gzip_min_bytes)
        return await super().get_response(path, scope)

    def file_response(self, full_path, stat_result, scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        current = asked and asked == _version(str(full_path), stat_result.st_mtime_ns)
        response.headers["cache-control"] = IMMUTABLE if current else "no-cache"
        return response
