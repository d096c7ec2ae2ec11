"""API tokens through the real CLI: create, list with name, creation and last use, revoke one by its
name (the others keep working); a revoked token gets 401."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from oncoguide.site.db import api_tokens
from oncoguide.web.app import create_app
from tests.conftest import run_cli


def test_tokens_are_listed_with_their_last_use_and_revoked_one_by_name(tmp_path, kb_settings):
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    env = {"ONCOGUIDE_DATABASE_URL": url}

    def cli(*args, stdin=None):
        return run_cli("users", *args, env_extra=env, stdin=stdin, db=kb_settings.db)

    assert (
        cli("add", "dr.lee", "--role", "reviewer", "--password-stdin", stdin="a sensible long passphrase\n").returncode
        == 0
    )
    ci, laptop = (cli("token", "dr.lee", "--name", name).stdout.strip() for name in ("ci", "laptop"))
    assert ci.startswith("og_") and laptop.startswith("og_")
    twice = cli("token", "dr.lee", "--name", "ci")
    assert twice.returncode == 2 and "already has an active token named 'ci'" in twice.stderr

    listed = cli("tokens").stdout
    assert re.search(r"dr\.lee\s+ci\s+created \d{4}-\d\d-\d\d \d\d:\d\d\s+last used never\s+active", listed), listed
    assert ci not in listed and laptop not in listed  # the secret is shown once, at creation

    with TestClient(
        create_app(kb_settings.model_copy(update={"database_url": url})), raise_server_exceptions=False
    ) as client:
        for _ in range(3):
            assert client.get("/api/articles", headers={"authorization": f"Bearer {ci}"}).status_code == 200
        engine = client.app.state.site.accounts.engine
        with engine.connect() as conn:
            used = dict(conn.execute(select(api_tokens.c.name, api_tokens.c.last_used)).all())
        assert used["ci"] is not None and used["laptop"] is None  # written once: three calls in one minute
        assert re.search(
            r"dr\.lee\s+ci\s+created \S+ \S+\s+last used \d{4}-\d\d-\d\d \d\d:\d\d\s+active",
            cli("tokens", "dr.lee").stdout,
        )

        revoked = cli("token", "dr.lee", "--revoke", "ci")
        assert revoked.returncode == 0 and "revoked 1 token named 'ci' of dr.lee" in revoked.stdout
        r = client.get("/api/articles", headers={"authorization": f"Bearer {ci}"})
        assert r.status_code == 401 and "revoked" in r.json()["error"]
        assert client.get("/api/articles", headers={"authorization": f"Bearer {laptop}"}).status_code == 200

    assert re.search(r"dr\.lee\s+ci\s+.*revoked", cli("tokens").stdout)
    again = cli("token", "dr.lee", "--revoke", "ci")
    assert again.returncode == 2 and "has no active token named 'ci'" in again.stderr
    assert cli("tokens", "nobody").returncode == 2
    # a revoked token's name may be used again
    assert cli("token", "dr.lee", "--name", "ci").stdout.startswith("og_")
