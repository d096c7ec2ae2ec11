"""Serving (issue 19, part 5): gzip when the client accepts it, versioned static files cached for a year,
ETag/304 on answer pages, a meta description on each page, a favicon; answers and answer pages cached by
(turn, audience, pack digest, review state) and dropped when any of them changes; repeated questions
answered without reading the thread or the review tables again."""

from __future__ import annotations

import gzip
import json
import re
import urllib.request

import pytest
from fastapi.responses import Response
from fastapi.testclient import TestClient
from sqlalchemy import event

from oncoguide.web.app import create_app
from oncoguide.web.compression import SplicedGzip
from oncoguide.web.static_files import BUNDLED
from tests.conftest import ACCOUNT_PASSWORD, FLAGSHIP, login

META = re.compile(r'<meta name="description" content="([^"]*)">')


def ask(client, question: str = FLAGSHIP, audience: str = "clinician", thread_id: str | None = None) -> str:
    body = {"question": question, "audience": audience} | ({"thread_id": thread_id} if thread_id else {})
    r = client.post("/api/ask", json=body)
    assert r.status_code == 200, r.text[:300]
    return r.json()["thread_id"]


def statements(engine) -> list[str]:
    """Every SQL statement the site database runs from now on (SQLAlchemy's own event hook)."""
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: seen.append(sql))
    return seen


# --- compression and cache headers -------------------------------------------------------------------


def test_gzip_is_negotiated_over_real_http(live_server):
    data = json.dumps({"question": FLAGSHIP}).encode()
    req = urllib.request.Request(live_server + "/api/ask", data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        turn = json.load(r)["thread_id"]
    url = f"{live_server}/answer/{turn}?audience=clinician"
    cookie = {"cookie": "og_csrf=" + "t" * 43}  # one visitor, so both copies carry the same token
    with urllib.request.urlopen(urllib.request.Request(url, headers={"accept-encoding": "gzip", **cookie})) as r:
        assert r.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in r.headers["vary"]
        packed = r.read()
    with urllib.request.urlopen(urllib.request.Request(url, headers={"accept-encoding": "identity", **cookie})) as r:
        assert r.headers.get("content-encoding") is None
        plain = r.read()
    assert gzip.decompress(packed) == plain
    assert len(packed) < len(plain) / 2
    assert b"t" * 43 in plain and b"csrf-slot" not in plain


def test_small_responses_are_sent_uncompressed_and_css_js_compressed(client):
    robots = client.get("/robots.txt", headers={"accept-encoding": "gzip"})
    assert robots.status_code == 200 and len(robots.content) < client.app.state.site.settings.gzip_min_bytes
    assert robots.headers.get("content-encoding") is None
    for asset in ("site.css", "style.css", "vendor/htmx.min.js"):
        r = client.get(f"/static/{asset}", headers={"accept-encoding": "gzip"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip", asset


def test_the_size_threshold_comes_from_settings(web_settings):
    with TestClient(create_app(web_settings.model_copy(update={"gzip_min_bytes": 10_000_000}))) as c:
        r = c.get("/", headers={"accept-encoding": "gzip"})
        assert r.status_code == 200 and r.headers.get("content-encoding") is None
        css = c.get("/static/site.css", headers={"accept-encoding": "gzip"})  # made and gzipped once, apart
        assert css.status_code == 200 and css.headers.get("content-encoding") is None


def test_pages_link_one_stylesheet_holding_every_stylesheet_in_cascade_order(client):
    home = client.get("/").text
    assert len(re.findall(r'<link rel="stylesheet"', home)) == 1
    url = re.search(r'<link rel="stylesheet" href="([^"]+)"', home).group(1)
    assert url.startswith("/static/site.css?v=")
    bundle = client.get(url, headers={"accept-encoding": "gzip"})
    assert bundle.headers["content-type"].startswith("text/css") and bundle.headers["content-encoding"] == "gzip"
    parts = [client.get(f"/static/{name}").text for name in BUNDLED]
    at = [bundle.text.index(part) for part in parts]  # each file whole, in order
    assert at == sorted(at) and sum(map(len, parts)) <= len(bundle.text)
    again = client.get(url, headers={"if-none-match": bundle.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_static_files_are_versioned_and_cached_for_a_year(client):
    home = client.get("/").text
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', home)
    assert {re.sub(r"\?.*", "", u) for u in links} >= {"/static/site.css", "/static/vendor/htmx.min.js"}
    for url in links:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable", url
        unversioned = client.get(url.split("?")[0])
        assert unversioned.content == r.content
        assert unversioned.headers["cache-control"] == "no-cache"  # revalidated: its content may change
    versions = {u.split("?v=")[1] for u in links}
    assert len(versions) == len(links)  # each file its own version (a hash of its content)
    stale = client.get("/static/style.css?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"  # an old version's address must not pin new content


def test_favicon_and_robots(client):
    home = client.get("/").text
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', home).group(1)
    svg = client.get(icon)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.startswith(b"<svg") and b"<script" not in svg.content
    legacy = client.get("/favicon.ico")  # asked for by browsers that do not read the link
    assert legacy.status_code == 200 and legacy.content == svg.content
    robots = client.get("/robots.txt")
    assert robots.headers["content-type"].startswith("text/plain")
    assert robots.text.startswith("User-agent: *") and "Disallow: /review" in robots.text


# --- ETag and 304 ------------------------------------------------------------------------------------


def test_answer_page_revalidates_with_304(client):
    url = f"/answer/{ask(client)}?audience=clinician"
    first = client.get(url)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(url, headers={"if-none-match": 'W/"something-else"'}).status_code == 200
    assert client.get(url, headers={"if-none-match": f'"x", {etag}'}).status_code == 304
    # the page carries the visitor's CSRF token, so another visitor's copy has another tag
    other = TestClient(client.app).get(url)
    assert other.status_code == 200 and other.headers["etag"] != etag


def test_a_cached_page_carries_each_visitors_own_token_and_its_forms_work(client):
    turn = ask(client)
    url = f"/answer/{turn}?audience=clinician"
    visitors = [TestClient(client.app), TestClient(client.app)]
    for v in visitors:
        page = v.get(url).text
        tokens = set(re.findall(r'name="csrf" value="([^"]+)"', page))
        assert tokens == {v.cookies["og_csrf"]}
        assert f'"X-CSRF-Token": "{v.cookies["og_csrf"]}"' in page
        r = v.post(
            "/ask",
            data={
                "question": "what about radiation?",
                "thread_id": turn,
                "audience": "clinician",
                "csrf": tokens.pop(),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/answer/")
    assert visitors[0].cookies["og_csrf"] != visitors[1].cookies["og_csrf"]


# --- what the caches hold, and when they let go ------------------------------------------------------


def test_page_follows_the_review_state(site):
    url = f"/answer/{ask(site)}?audience=clinician"
    reader = TestClient(site.app)
    before = reader.get(url)
    assert "Pending review" in before.text
    # a reviewer approves the article (in another worker, as far as this reader's process can tell)
    reviews, accounts = site.app.state.site.reviews, site.app.state.site.accounts
    art_id = reviews.find(site.app.state.caches.cached_answer(url.split("/")[2].split("?")[0], "clinician"))
    reviewer = accounts.get("reviewer1")
    art = reviews.transition(art_id, "under-review", reviewer, "", reviews.get(art_id).revision)
    reviews.transition(art_id, "approved", reviewer, "checked", art.revision)
    after = reader.get(url, headers={"if-none-match": before.headers["etag"]})
    assert after.status_code == 200  # the old copy is no longer current
    assert "Pending review" not in after.text and "Reviewed by Dr Reviewer (reviewer)" in after.text
    assert after.headers["etag"] != before.headers["etag"]


def test_signed_in_readers_get_their_own_page(site):
    url = f"/answer/{ask(site)}?audience=clinician"
    anonymous = TestClient(site.app).get(url).text  # now cached for anonymous readers
    assert "Open in the review queue" not in anonymous and "Sign in" in anonymous
    reviewer = login(TestClient(site.app, raise_server_exceptions=False), "reviewer1")
    page = reviewer.get(url)
    assert "Open in the review queue" in page.text and "Sign out Dr Reviewer" in page.text
    assert reviewer.get(url, headers={"if-none-match": page.headers["etag"]}).status_code == 304
    assert "Open in the review queue" not in TestClient(site.app).get(url).text
    assert ACCOUNT_PASSWORD not in page.text


def test_answers_follow_the_pack_digest(web_settings, pack_copy, tmp_path):
    """One process's caches, then the pack changes under them (its digest with it): the new pack's answer."""
    texts = pack_copy / "texts.yaml"
    texts.write_text(texts.read_text().replace('updated: "2026-11-22"', 'updated: "2031-01-02"'))
    assert "2031-01-02" in texts.read_text()
    with TestClient(create_app(web_settings)) as old:
        url = f"/answer/{ask(old)}?audience=clinician"
        assert "2026-11-22" in old.get(url).text
        edited = web_settings.model_copy(update={"db": tmp_path / "kb2.sqlite3", "pack_dir": pack_copy})
        with TestClient(create_app(edited)) as new:
            caches = new.app.state.caches
            caches.answers, caches.pages = old.app.state.caches.answers, old.app.state.caches.pages
            assert caches.pack_digest != old.app.state.caches.pack_digest
            page = new.get(url).text
            assert "2031-01-02" in page and "2026-11-22" not in page
            body = new.post("/api/ask", json={"question": FLAGSHIP}).json()
            assert body["updated"] == "2031-01-02"


def test_caches_are_bounded_by_settings(web_settings):
    with TestClient(create_app(web_settings.model_copy(update={"page_cache_entries": 2}))) as c:
        questions = [FLAGSHIP, "How often does DFSP come back after Mohs surgery?", "Is DFSP inherited or contagious?"]
        for q in questions:
            turn = ask(c, q)
            assert c.get(f"/answer/{turn}?audience=clinician").status_code == 200
        caches = c.app.state.caches
        assert len(caches.answers) == 2 and len(caches.pages) == 2
        assert caches.cached_answer(turn, "clinician") is not None  # the newest kept, the oldest dropped


def test_with_caching_off_answers_are_the_same(web_settings, tmp_path):
    off = web_settings.model_copy(update={"page_cache_entries": 0, "database_url": f"sqlite:///{tmp_path / 'b.db'}"})
    with TestClient(create_app(web_settings)) as cached, TestClient(create_app(off)) as fresh:
        for body in (
            {"question": FLAGSHIP},
            {"question": FLAGSHIP},  # the second time from the cache
            {"question": "Does imatinib work for DFSP that cannot be removed?", "audience": "patient"},
        ):
            a, b = cached.post("/api/ask", json=body), fresh.post("/api/ask", json=body)
            assert a.status_code == b.status_code == 200
            assert a.content == b.content  # byte for byte, as JSONResponse writes it
        turn = a.json()["thread_id"]
        url = f"/answer/{turn}?audience=patient"
        cookie = {"og_csrf": "c" * 43}
        cached.cookies.update(cookie)
        fresh.cookies.update(cookie)
        cached.get(url)
        assert cached.get(url).text == fresh.get(url).text
        assert len(fresh.app.state.caches.answers) == 0 and len(fresh.app.state.caches.pages) == 0


def test_unknown_and_bad_turns_are_404_not_cached(client):
    for turn in ("a" * 16, "x" * 41, "%00"):
        assert client.get(f"/answer/{turn}").status_code == 404
    assert len(client.app.state.caches.answers) == 0
    r = client.post("/api/ask", json={"question": FLAGSHIP, "thread_id": "a" * 16})
    assert r.status_code == 422 and "unknown thread_id" in r.json()["error"]
    r = client.post("/api/ask", json={"question": "   "})
    assert r.status_code == 422


def test_repeated_ask_reads_neither_the_thread_nor_the_review_tables(client):
    ask(client)  # the first time: stored, composed, articles made for both audiences
    engine = client.app.state.site.engine
    seen = statements(engine)
    for _ in range(3):
        ask(client)
    assert not [s for s in seen if re.search(r"\b(articles|article_versions|turns)\b", s)], seen


def test_a_follow_up_asked_again_is_answered_from_the_cache_with_its_context(client):
    first = ask(client)
    follow = ask(client, "what about radiation?", "patient", thread_id=first)
    again = client.post(
        "/api/ask", json={"question": "what about radiation?", "audience": "patient", "thread_id": first}
    )
    assert again.json()["thread_id"] == follow
    assert again.json()["understood"]["condition"] == "dfsp"  # inherited from the first question


def test_a_cached_page_view_reads_the_review_state_only_after_a_write(client):
    url = f"/answer/{ask(client)}?audience=clinician"
    client.get(url)
    seen = statements(client.app.state.site.engine)
    assert client.get(url).status_code == 200
    assert seen == []  # nothing written since the last view: SQLite's data_version says so, no query
    ask(client, "Is DFSP inherited or contagious?")  # a write (a new turn, new articles)
    seen.clear()
    assert client.get(url).status_code == 200
    assert len(seen) == 1 and re.search(r"FROM articles\b", seen[0]) and "article_versions" not in seen[0], seen


def test_data_version_changes_with_every_commit_from_any_connection(web_settings):
    import sqlite3

    from oncoguide.site.core import Site

    site = Site(web_settings)
    version = site.data_version
    first = version.current()
    assert first is not None and version.current() == first
    path = web_settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as other:  # another process's connection, as far as SQLite can tell
        other.execute("CREATE TABLE scratch (x)")
    second = version.current()
    assert second != first
    with site.engine.begin() as conn:  # this process's own pool
        conn.exec_driver_sql("INSERT INTO scratch VALUES (1)")
    assert version.current() != second


def test_data_version_is_unknown_on_postgresql():
    from oncoguide.site.changes import DataVersion

    assert DataVersion("postgresql+psycopg://u@localhost/site").current() is None
    assert DataVersion("sqlite:///:memory:").current() is None


def test_the_articles_of_a_page_viewed_first_are_still_recorded_on_ask(client):
    """An answer cached by a page view (no articles known yet) still gets its articles when asked."""
    turn = ask(client)
    reviews = client.app.state.site.reviews
    reviews._known.clear()  # as in another process that has only shown the page
    assert client.get(f"/answer/{turn}?audience=patient").status_code == 200
    assert ask(client) == turn
    answer = client.app.state.caches.cached_answer(turn, "clinician")
    assert reviews.known(answer)


# --- meta descriptions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/algorithm",
        "/algorithm/dfsp",
        "/algorithm/groups/gist-recurrent-or-metastatic",
        "/algorithm/find?condition=gist&site=gastrointestinal&metastases=disseminated",
        "/evidence",
        "/evidence/imatinib-dfsp",
        "/conditions/dfsp",
        "/editorial-policy",
        "/join",
        "/login",
        "/docs",
        "/no-such-page",
    ],
)
def test_every_page_has_one_meta_description(client, path):
    page = client.get(path).text
    found = META.findall(page)
    assert len(found) == 1, path
    assert 40 <= len(found[0]) <= 160, found


def test_descriptions_say_what_each_page_is(client):
    turn = ask(client)
    answer = client.get(f"/answer/{turn}?audience=clinician").text
    description = META.search(answer).group(1)
    bottom_line = re.search(
        r'<section class="bottom-line"[^>]*>\s*<h2[^>]*>[^<]*</h2>\s*<p[^>]*>([^<]+)', answer
    ).group(1)
    assert description.rstrip("…")[:60] == bottom_line[:60]
    assert len(description) <= 155
    pages = {p: META.search(client.get(p).text).group(1) for p in ("/", "/evidence/imatinib-dfsp", "/conditions/gist")}
    assert len(set(pages.values())) == 3
    assert "Imatinib" in pages["/evidence/imatinib-dfsp"] or "imatinib" in pages["/evidence/imatinib-dfsp"]
    assert "GIST" in pages["/conditions/gist"] or "gastrointestinal" in pages["/conditions/gist"].lower()


def test_a_page_compressed_once_decompresses_to_the_page_for_any_token():
    pieces = [b"<p>" + b"words " * 20_000, b'" name="csrf">', b"", b"end" * 30_000 + bytes(range(256))]
    spliced = SplicedGzip.of(pieces)
    for token in (b"t" * 43, b"", b"x" * 70_000):  # the last is longer than one stored block holds
        assert gzip.decompress(spliced.body(token)) == token.join(pieces)  # gzip checks the CRC and the size


@pytest.mark.parametrize(
    ("header", "gzipped"),
    [("gzip, deflate, br", True), ("gzip;q=0", False), ("identity", False), ("*", True), ("*;q=0, gzip;q=0.5", True)],
)
def test_cached_answers_are_gzipped_only_when_the_client_accepts_it(client, header, gzipped):
    asked = client.post("/api/ask", json={"question": FLAGSHIP}, headers={"accept-encoding": "identity"})
    turn = asked.json()["thread_id"]
    again = client.post("/api/ask", json={"question": FLAGSHIP}, headers={"accept-encoding": header})
    assert (again.headers.get("content-encoding") == "gzip") is gzipped
    assert again.content == asked.content  # the client decodes what was sent
    client.cookies.set("og_csrf", "c" * 43)
    pages = [client.get(f"/answer/{turn}", headers={"accept-encoding": h}) for h in ("identity", header, header)]
    assert [(p.headers.get("content-encoding") == "gzip") for p in pages[1:]] == [gzipped, gzipped]
    assert pages[1].text == pages[2].text == pages[0].text


def test_a_csrf_cookie_that_is_not_a_token_is_replaced_not_written_into_the_page(client):
    turn = client.post("/api/ask", json={"question": FLAGSHIP}).json()["thread_id"]
    client.get(f"/answer/{turn}")  # cached
    client.cookies.set("og_csrf", '"><script>alert(1)</script>' + "a" * 20)
    page = client.get(f"/answer/{turn}")
    assert page.status_code == 200 and "<script>alert" not in page.text
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", page.cookies["og_csrf"])


# --- other pages: rendered once per address ------------------------------------------------------------

CACHED_PAGES = (
    "/",
    "/evidence/imatinib-dfsp",
    "/algorithm/groups/gist-recurrent-or-metastatic",
    "/algorithm/find?condition=gist&site=gastrointestinal&metastases=disseminated",
    "/conditions/dfsp",
    "/community",
)


@pytest.mark.parametrize("url", CACHED_PAGES)
def test_a_cached_page_is_the_same_page_with_each_visitors_own_token(client, url):
    visitors = [TestClient(client.app), TestClient(client.app)]
    pages = [v.get(url) for v in visitors]
    tokens = [v.cookies["og_csrf"] for v in visitors]
    assert [p.status_code for p in pages] == [200, 200] and tokens[0] != tokens[1]
    for p, token in zip(pages, tokens, strict=True):
        assert f'"X-CSRF-Token": "{token}"' in p.text and "csrf-slot" not in p.text
    assert pages[0].text.replace(tokens[0], "T") == pages[1].text.replace(tokens[1], "T")
    again = visitors[0].get(url, headers={"if-none-match": pages[0].headers["etag"]})
    assert again.status_code == 304


def test_pages_of_the_pack_are_rendered_once_and_read_nothing_from_the_database(client):
    for url in CACHED_PAGES[:4]:  # the ones that follow from the pack alone
        client.get(url)
    seen = statements(client.app.state.site.engine)
    for url in CACHED_PAGES[:4]:
        assert TestClient(client.app).get(url).status_code == 200
    assert seen == []


def test_a_condition_page_is_rendered_again_after_any_write_and_counts_new_questions(client):
    TestClient(client.app).get("/conditions/gist")  # the first view makes the overview's turn and articles
    first = TestClient(client.app).get("/conditions/gist").text
    seen = statements(client.app.state.site.engine)
    assert TestClient(client.app).get("/conditions/gist").status_code == 200
    assert seen == []  # nothing written since: served as rendered
    for _ in range(3):  # asked (counted in memory): the page writes the counts, then shows them
        ask(client, "What is the first-line treatment for metastatic GIST?")
    later = TestClient(client.app).get("/conditions/gist").text
    assert seen and later != first


def test_a_finder_error_is_never_cached_and_signed_in_readers_get_their_own_pages(site):
    visitor = TestClient(site.app)
    bad = visitor.get("/algorithm/find?condition=nonsense")
    assert bad.status_code == 422 and "unknown condition" in bad.text
    assert "csrf-slot" not in bad.text and f'"X-CSRF-Token": "{visitor.cookies["og_csrf"]}"' in bad.text
    anonymous = TestClient(site.app).get("/evidence/imatinib-dfsp").text
    assert "Sign in" in anonymous
    reviewer = login(TestClient(site.app, raise_server_exceptions=False), "reviewer1")
    assert "Sign out Dr Reviewer" in reviewer.get("/evidence/imatinib-dfsp").text
    assert "Dr Reviewer" not in TestClient(site.app).get("/evidence/imatinib-dfsp").text


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize(("value", "max_age"), [("t" * 43, None), ("s-_" * 15, 3600), ("not a token; x=1", None)])
def test_cookies_are_written_as_starlette_writes_them(scheme, value, max_age):
    from starlette.requests import Request

    from oncoguide.web.auth import set_cookie

    request = Request({"type": "http", "scheme": scheme, "headers": [], "path": "/", "query_string": b""})
    ours, theirs = Response(b""), Response(b"")
    set_cookie(request, ours, "og_csrf", value, max_age)
    theirs.set_cookie(
        "og_csrf", value, max_age=max_age, httponly=True, samesite="lax", path="/", secure=scheme == "https"
    )
    assert ours.headers.getlist("set-cookie") == theirs.headers.getlist("set-cookie")
