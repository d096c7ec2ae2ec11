"""Static files at versioned addresses: `static_url("style.css")` is /static/style.css?v=<hash of its
content>, served with a lifetime of a year (immutable); any other address of a static file is revalidated
(ETag, Last-Modified) on every use, since its content may change with a new release."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR}, immutable"


@lru_cache(maxsize=256)
def _version(path: str, mtime_ns: int) -> str:
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=6).hexdigest()


@lru_cache(maxsize=256)
def static_url(name: str) -> str:
    """The address of a static file with its content's version: cached for a year, a new address when the
    file changes (the package's files change only with a new release, so once per process)."""
    path = STATIC / name
    return f"/static/{name}?v={_version(str(path), path.stat().st_mtime_ns)}" if path.is_file() else f"/static/{name}"


class VersionedStatic(StaticFiles):
    """StaticFiles whose responses are cacheable for a year when asked for by the current version
    (static_url), and revalidated (ETag, Last-Modified) otherwise."""

    def file_response(self, full_path, stat_result, scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        current = asked and asked == _version(str(full_path), stat_result.st_mtime_ns)
        response.headers["cache-control"] = IMMUTABLE if current else "no-cache"
        return response
