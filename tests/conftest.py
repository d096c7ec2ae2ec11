"""Shared fixtures: a real SQLite knowledge base built from the real pack, once per test session."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oncoguide.kb import KnowledgeBase
from oncoguide.settings import PACKAGE_PACK, Settings
from tests.pgserver import StartFailed, Unavailable, cluster, free_port

FLAGSHIP = "Stage 4 dermatofibrosarcoma protuberans (DFSP): what is the prognosis, and how is it treated?"


@pytest.fixture(scope="session")
def kb_settings(tmp_path_factory) -> Settings:
    db = tmp_path_factory.mktemp("kb") / "oncoguide.sqlite3"
    return Settings(db=db, pack_dir=PACKAGE_PACK)


@pytest.fixture(scope="session")
def kb(kb_settings) -> KnowledgeBase:
    return KnowledgeBase.open(kb_settings)


@pytest.fixture
def pack_copy(tmp_path) -> Path:
    """A writable copy of the real pack, for tests that break it on purpose."""
    dest = tmp_path / "pack"
    shutil.copytree(PACKAGE_PACK, dest)
    return dest


def run_cli(*args: str, env_extra: dict | None = None, stdin: str | None = None, db: Path | None = None):
    """Run the installed CLI as a user would, in a separate process."""
    env = dict(os.environ)
    if db is not None:
        env["ONCOGUIDE_DB"] = str(db)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "oncoguide", *args], capture_output=True, text=True, env=env, input=stdin, timeout=120
    )


@pytest.fixture
def web_settings(kb_settings, tmp_path) -> Settings:
    """The session's knowledge base with a fresh site database for this test."""
    return kb_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'site.sqlite3'}"})


@pytest.fixture
def client(web_settings):
    """The real application in process (FastAPI TestClient); server errors come back as responses."""
    from fastapi.testclient import TestClient

    from oncoguide.web.app import create_app

    with TestClient(create_app(web_settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def live_site_url(tmp_path_factory) -> str:
    """The site database of the live server (tests add accounts to it directly)."""
    return f"sqlite:///{tmp_path_factory.mktemp('site') / 'site.sqlite3'}"


@contextlib.contextmanager
def serving(kb_settings, site_url: str, env_extra: dict | None = None, workers: int = 2):
    """`oncoguide serve` with two worker processes (or `workers`), started as a user would; yields its base URL."""
    import time
    import urllib.request

    port = free_port()
    env = dict(os.environ, ONCOGUIDE_DB=str(kb_settings.db), ONCOGUIDE_DATABASE_URL=site_url, **(env_extra or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "oncoguide", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the server did not start:\n{proc.stdout.read()}") from None
            time.sleep(0.2)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def live_server(kb_settings, live_site_url):
    """`oncoguide serve` with two worker processes, started as a user would; yields its base URL."""
    with serving(kb_settings, live_site_url) as base:
        yield base


# --- The site database on SQLite and on PostgreSQL --------------------------------------------------


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster (tests/pgserver.py) on a free local port, for this session; yields the
    URL of its maintenance database. Skips when PostgreSQL cannot run here (`make test` installs it)."""
    try:
        with cluster() as url:
            yield url
    except Unavailable as exc:
        pytest.skip(str(exc))
    except StartFailed as exc:
        pytest.fail(str(exc))


_databases = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def site_url(request, tmp_path):
    """A fresh, empty site database for this test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'site.sqlite3'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(request.getfixturevalue("postgres_cluster"))
    name = f"site_{os.getpid()}_{next(_databases)}"
    conninfo = f"host={admin.host} port={admin.port} user={admin.username} dbname={admin.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def csrf_of(client) -> str:
    """The CSRF token a browser would hold after loading a page (the anonymous double-submit cookie)."""
    if "og_csrf" not in client.cookies:
        client.get("/")
    return client.cookies["og_csrf"]


ACCOUNT_PASSWORD = "long enough passphrase 42"
ROLES = ("reader", "contributor", "moderator", "reviewer", "editor", "admin")


@pytest.fixture
def site(kb_settings, site_url):
    """The application on a fresh site database (SQLite, then PostgreSQL) with one account per role."""
    from fastapi.testclient import TestClient

    from oncoguide.web.app import create_app

    settings = kb_settings.model_copy(update={"database_url": site_url})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        for role in ROLES:
            c.app.state.site.accounts.add(f"{role}1", f"Dr {role.title()}", role, ACCOUNT_PASSWORD)
        c.app.state.site.accounts.add("reviewer2", "Dr Second Reviewer", "reviewer", ACCOUNT_PASSWORD)
        yield c


def login(client, username: str, password: str = ACCOUNT_PASSWORD):
    """Sign in as a browser would: load the sign-in page, post its form with the token it carries."""
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token, "next": "/review"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return client


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (the browser tests share it)."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, FLAGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


SHOTS = os.environ.get("SCREENSHOTS")  # a folder: the browser tests save a full-page picture of what they see


def save_shot(page, name: str) -> None:
    """A full-page screenshot under SCREENSHOTS (when set). Sections a page lays out only near the screen
    (content-visibility: auto, the answer page) would be blank beyond the first screen in such a picture,
    as a reader who scrolls never sees them, so they are laid out for it."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    page.add_style_tag(content="* { content-visibility: visible !important; }")
    page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def ask_live(base: str, question: str = FLAGSHIP, audience: str = "clinician") -> str:
    """Ask a running server through POST /api/ask, as a browser test sets up its page: the thread id."""
    import json
    import urllib.request

    body = json.dumps({"question": question, "audience": audience}).encode()
    request = urllib.request.Request(base + "/api/ask", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request) as r:
        return json.load(r)["thread_id"]
