"""Shared fixtures: a real SQLite knowledge base built from the real pack, once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oncoguide.kb import KnowledgeBase
from oncoguide.settings import PACKAGE_PACK, Settings

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
    return subprocess.run([sys.executable, "-m", "oncoguide", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=120)


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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(kb_settings, tmp_path_factory):
    """`oncoguide serve` with two worker processes, started as a user would; yields its base URL."""
    import time
    import urllib.request

    port = free_port()
    site = tmp_path_factory.mktemp("site") / "site.sqlite3"
    env = dict(os.environ, ONCOGUIDE_DB=str(kb_settings.db), ONCOGUIDE_DATABASE_URL=f"sqlite:///{site}")
    proc = subprocess.Popen([sys.executable, "-m", "oncoguide", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
