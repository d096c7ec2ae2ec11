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
