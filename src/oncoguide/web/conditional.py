"""Conditional requests (RFC 9110, 13.1): the ETags answer pages and the stylesheet carry, and If-None-Match."""

from __future__ import annotations

import hashlib


def etag_of(data: bytes) -> str:
    # weak: the same page is sent gzipped or not, and weak tags are the ones that may match across encodings
    return f'W/"{hashlib.blake2b(data, digest_size=12).hexdigest()}"'


def matches(if_none_match: str, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weak comparison, RFC 9110 13.1.2)."""
    if if_none_match.strip() == "*":
        return True
    tag = etag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == tag for t in if_none_match.split(","))
