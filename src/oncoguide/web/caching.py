"""Serving each answer once: composed answers and rendered answer pages kept in memory, and ETag/304 on
answer pages (versioned static files: web/static_files.py).

A turn's answer depends only on the turn (its id is a hash of the whole conversation up to it), the
audience and the knowledge pack; its page also on the article's review state. Turns and articles are
never deleted, and a restore of the site database refuses to run under a server, so an entry keyed by
(turn, audience, pack digest[, review state]) can never go stale; the bound (Settings.page_cache_entries)
only limits memory. Composing an answer and rendering its page took over half of a worker's time under
load before this.

Other pages (Caches.view: home, algorithm, evidence, docs, community and condition pages) are kept by
address and pack digest, and those that read the site database also by its data version (site/changes.py),
so any write, from any process, makes them rendered again; where the version cannot be known (PostgreSQL)
such pages are rendered on every view.

Not cached: answers out of the pack's scope (they quote the library, which `oncoguide ingest` can change
at any time) and pages for a signed-in reader (the header and the review links are theirs). A cached
page is rendered with a placeholder where the CSRF token goes, filled in for each visitor, and gzipped
once (web/compression.py).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import Response

from oncoguide.web.compression import SplicedGzip, accepts_gzip, gzip_whole
from oncoguide.web.conditional import etag_of, matches

if TYPE_CHECKING:
    from oncoguide.engine.compose import Answer
    from oncoguide.site.core import Site

SLOT = "csrf-slot-5d1c0e9b7a3f"  # stands for the CSRF token in a cached page; letters and digits survive escaping
# the browser keeps the page but asks each time; an unchanged page comes back as a bodiless 304
REVALIDATE = "private, no-cache"
GZIPPED = {"content-encoding": "gzip", "vary": "Accept-Encoding"}  # the middleware passes such bodies on


class LRU:
    """A bounded mapping, least recently used dropped first; safe across the thread pool's threads."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value):
        if self.size > 0:
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class Composed:
    answer: Answer
    json: bytes | None = None  # the POST /api/ask body, made on first use
    json_gzip: bytes | None = None  # the same, gzipped, made on the first request that accepts gzip


@dataclass(frozen=True)
class Page:
    parts: list[bytes]  # the HTML split where the CSRF token goes (joining is faster than replacing)
    digest: str
    gzipped: SplicedGzip  # the same pieces compressed once (web/compression.py)

    @classmethod
    def of(cls, body: bytes) -> Page:
        parts = body.split(SLOT.encode())
        return cls(parts, hashlib.blake2b(body).hexdigest()[:24], SplicedGzip.of(parts))


class Caches:
    """The answers and answer pages of one server process (app.state.caches)."""

    def __init__(self, site: Site):
        self.site = site
        self.answers = LRU(site.settings.page_cache_entries)
        self.pages = LRU(site.settings.page_cache_entries)
        self.states = LRU(site.settings.page_cache_entries)  # (turn, audience, digest) -> (data version, state)
        self.views = LRU(site.settings.page_cache_entries)  # other pages, by address (Caches.view)

    @property
    def pack_digest(self) -> str:
        return self.site.kb.contents.meta.get("pack_digest", "")

    def cached_answer(self, turn: str, audience: str) -> Answer | None:
        """The Answer of a turn if this process has composed it (no work: fit for the event loop)."""
        found = self.answers.get((turn, audience, self.pack_digest))
        return found.answer if found is not None else None

    def answer(self, turn: str, audience: str) -> Answer | None:
        """The Answer of a stored turn (composed once); None for an unknown turn."""
        from oncoguide.site.threads import answer_turn

        found = self.cached_answer(turn, audience)
        if found is not None:
            return found
        answer = answer_turn(self.site, self.site.threads, turn, audience)
        if answer is not None and answer.in_scope:
            self.answers.put((turn, audience, self.pack_digest), Composed(answer))
        return answer

    def asked(self, question: str, audience: str, thread_id: str | None) -> tuple[str, Answer, Composed] | None:
        """What ask() returns when this process has answered this turn and knows its articles, else None:
        a dictionary lookup, no database, fit for the event loop. Raises InputError for a question ask() refuses."""
        from oncoguide.engine.understand import AUDIENCES, InputError, clean_question
        from oncoguide.site.threads import turn_id

        if audience not in AUDIENCES:
            raise InputError(f"unknown audience '{audience}'; use one of: {', '.join(AUDIENCES)}")
        turn = turn_id(thread_id, clean_question(question, self.site.settings.max_question_chars))
        found = self.answers.get((turn, audience, self.pack_digest))
        if found is None or not self.site.reviews.known(found.answer):
            return None
        return turn, found.answer, found

    def ask(self, question: str, audience: str, thread_id: str | None) -> tuple[str, Answer, Composed | None]:
        """ask_in_thread, and the articles of the answer in every audience recorded, without composing or
        reading the thread again when this process has answered the same turn before.

        Raises InputError or ThreadError as ask_in_thread does. Returns (turn id, Answer, its cache entry or None).
        """
        from oncoguide.engine.understand import AUDIENCES, InputError, clean_question
        from oncoguide.site.threads import ask_in_thread, turn_id

        site = self.site
        if audience not in AUDIENCES:
            raise InputError(f"unknown audience '{audience}'; use one of: {', '.join(AUDIENCES)}")
        turn = turn_id(thread_id, clean_question(question, site.settings.max_question_chars))
        key = (turn, audience, self.pack_digest)
        found = self.answers.get(key)
        if found is None:  # first time here: store the turn, compose, record the articles
            turn, answer, earlier = ask_in_thread(site, site.threads, question, audience, thread_id)
            site.reviews.record_audiences(answer, earlier)
            return turn, answer, self.answers.put(key, Composed(answer)) if answer.in_scope else None
        # the turn is stored (it was answered from the database); its articles may not be known yet if the
        # entry came from a page view
        if not site.reviews.known(found.answer):
            site.reviews.record_audiences(found.answer, (site.threads.chain(turn) or [])[:-1])
        return turn, found.answer, found

    def _page_key(self, request: Request, turn: str, audience: str, answer: Answer) -> tuple | None:
        """What a cached page is stored under: None for a signed-in reader, whose page is rendered for them.
        Reads the article's review state (one indexed row) and the session, if a cookie names one."""
        from oncoguide.web.auth import session_of

        if self.pages.size <= 0 or session_of(request) is not None:
            return None
        state = self.review_state(turn, answer)
        return (turn, audience, self.pack_digest, state, request.url.path, request.url.query)

    def review_state(self, turn: str, answer: Answer) -> tuple | None:
        """The article's review state (Reviews.state), read again only when something was written to the
        site database since it was last read (site/changes.py); always read where that cannot be known."""
        version = self.site.data_version.current()  # taken before the read: a write during it means a re-read
        key = (turn, answer.audience, self.pack_digest)
        if version is not None:
            seen = self.states.get(key)
            if seen is not None and seen[0] == version:
                return seen[1]
        state = self.site.reviews.state(answer)
        if version is not None:
            self.states.put(key, (version, state))
        return state

    def view(self, request: Request, make: Callable[[str | None], Response], site_data: bool = False) -> Response:
        """A page that follows from its address and the pack alone (`site_data`: and the site database), rendered
        once per (address, pack digest[, data version]) for readers who are not signed in, and sent with each
        visitor's CSRF token like a cached answer page. `make(token)` renders it (token None: the visitor's own).

        A page that reads the site database is cached only where a write to it can be seen (site/changes.py:
        SQLite); a page that is not a 200 (a finder's refusal) is sent once with the visitor's token, never kept.
        """
        from oncoguide.web.auth import session_of

        if self.views.size <= 0 or session_of(request) is not None:
            return make(None)
        version = self.site.data_version.current() if site_data else None
        if site_data and version is None:
            return make(None)
        key = ("view", request.url.path, request.url.query, self.pack_digest, version)
        page = self.views.get(key)
        if page is None:
            made = make(SLOT)
            if made.status_code != 200:
                return self._once(request, made)
            page = self.views.put(key, Page.of(bytes(made.body)))
        return self._send(request, page)

    @staticmethod
    def _once(request: Request, made: Response) -> Response:
        """A page rendered with the token's placeholder, sent once with this visitor's token (not rendered twice)."""
        from oncoguide.web.auth import CSRF_COOKIE, csrf_token, set_cookie

        token, new = csrf_token(request)
        body = bytes(made.body).replace(SLOT.encode(), token.encode())
        response = Response(body, status_code=made.status_code, media_type="text/html")
        if new:
            set_cookie(request, response, CSRF_COOKIE, token)
        return response

    def cached_page(self, request: Request, turn: str, audience: str, answer: Answer) -> Response | None:
        """The answer page if it is cached for this review state (no rendering: fit for the event loop)."""
        key = self._page_key(request, turn, audience, answer)
        page = self.pages.get(key) if key is not None else None
        return self._send(request, page) if page is not None else None

    def page(self, request: Request, turn: str, audience: str, answer: Answer) -> Response:
        """The answer page, with an ETag; 304 when the browser's copy is current."""
        from oncoguide.web.reading import reading
        from oncoguide.web.views import render, review_status

        context: dict[str, Any] = {
            "answer": answer,
            "turn": turn,
            "audience": audience,
            "reading": reading(answer, audience),
        }
        key = self._page_key(request, turn, audience, answer)
        if key is None:
            review = review_status(self.site.reviews.reader_view(answer))
            response = render(request, "answer.html", review=review, **context)
            return conditional(request, response, etag_of(response.body))
        page = self.pages.get(key)
        if page is None:
            review = review_status(self.site.reviews.reader_view(answer))
            body = render(request, "answer.html", token=SLOT, review=review, **context).body
            page = self.pages.put(key, Page.of(bytes(body)))
        return self._send(request, page)

    def _send(self, request: Request, page: Page) -> Response:
        """A cached page with this visitor's CSRF token (and cookie, for a new visitor) and its ETag; a bodiless
        304 when the visitor's copy is current (the headers made once, not updated one by one)."""
        from oncoguide.web.auth import CSRF_COOKIE, csrf_token, set_cookie

        token, new = csrf_token(request)
        etag = etag_of(f"{page.digest}\n{token}".encode())
        headers = {"etag": etag, "cache-control": REVALIDATE, "vary": "Accept-Encoding, Cookie"}
        if not new and matches(request.headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers=headers)
        if page.gzipped.plain_length >= self.site.settings.gzip_min_bytes and self.gzip_for(request):
            body = page.gzipped.body(token.encode())
            headers["content-encoding"] = "gzip"
        else:
            body = token.encode().join(page.parts)
        response = Response(body, media_type="text/html", headers=headers)
        if new:
            set_cookie(request, response, CSRF_COOKIE, token)
        return response

    def gzip_for(self, request: Request) -> bool:
        """Whether a cached body goes gzipped: the client accepts gzip (as the middleware would compress it)."""
        return accepts_gzip(request.headers.get("accept-encoding", ""))

    def ask_json(self, request: Request, turn: str, answer: Answer, entry: Composed | None) -> Response:
        """The POST /api/ask body (as JSONResponse writes it), serialised (and gzipped) once per cached answer."""
        if entry is None or entry.json is None:
            body = json.dumps(
                {"thread_id": turn, **answer.to_dict()}, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode()
            if entry is None:
                return Response(body, media_type="application/json")
            entry.json = body
        if len(entry.json) >= self.site.settings.gzip_min_bytes and self.gzip_for(request):
            if entry.json_gzip is None:
                entry.json_gzip = gzip_whole(entry.json)
            return Response(entry.json_gzip, media_type="application/json", headers=GZIPPED)
        return Response(entry.json, media_type="application/json")


def conditional(request: Request, response: Response, etag: str) -> Response:
    """The response with its ETag and revalidation headers, or a bodiless 304 when the client's copy matches."""
    headers = {"etag": etag, "cache-control": REVALIDATE, "vary": "Accept-Encoding, Cookie"}
    if response.status_code == 200 and matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response
