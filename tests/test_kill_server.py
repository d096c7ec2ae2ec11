"""The server is killed (SIGKILL, all workers) while reviewers' decisions are being written: every
decision the API confirmed is in the audit log afterwards, and the database passes an integrity check."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from oncoguide.site.accounts import Accounts
from oncoguide.site.db import engine_for, upgrade
from tests.conftest import free_port

CYCLE = ["under-review", "approved", "retracted", "submitted"]  # an admin may make every one of these moves


def call(base: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def test_no_confirmed_review_is_lost_when_the_server_is_killed(kb_settings, tmp_path):
    db = tmp_path / "site.sqlite3"
    url = f"sqlite:///{db}"
    accounts = Accounts(engine_for(url))
    upgrade(accounts.engine)
    accounts.add("chief", "Dr Chief Editor", "admin", "a long admin passphrase")
    token = accounts.create_token("chief", "kill test")
    accounts.engine.dispose()

    port = free_port()
    env = dict(os.environ, ONCOGUIDE_DB=str(kb_settings.db), ONCOGUIDE_DATABASE_URL=url)
    server = subprocess.Popen(
        [sys.executable, "-m", "oncoguide", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        questions = [
            "Is DFSP contagious?",
            "Is DFSP inherited?",
            "What is the first-line treatment for metastatic GIST?",
            "How often does DFSP come back after Mohs surgery?",
        ]
        for q in questions:
            call(base, "/api/ask", {"question": q})
        queue = json.load(
            urllib.request.urlopen(
                urllib.request.Request(base + "/api/articles", headers={"authorization": f"Bearer {token}"})
            )
        )
        # each question makes an article per audience, and the server made the condition pages' own
        articles = [a["id"] for a in queue["submitted"] if a["question"] in questions and a["audience"] == "clinician"]
        assert len(articles) == len(questions)

        confirmed: list[tuple[int, str, int]] = []  # (article, new status, revision) the API answered 200 for
        stop = threading.Event()

        def reviewer(art_id: int) -> None:
            revision, step = 1, 0
            while not stop.is_set():
                to = CYCLE[step % len(CYCLE)]
                try:
                    out = call(
                        base,
                        f"/api/articles/{art_id}/transition",
                        {"to": to, "comment": f"decision {step}", "revision": revision},
                        token,
                    )
                except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                    return  # the server is gone
                confirmed.append((art_id, out["status"], out["revision"]))
                revision, step = out["revision"], step + 1

        workers = [threading.Thread(target=reviewer, args=(a,)) for a in articles]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while len(confirmed) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(server.pid, signal.SIGKILL)  # the master and both workers, mid-write
        stop.set()
        for w in workers:
            w.join(timeout=15)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)

    assert len(confirmed) >= 40, "the reviewers did not get far enough before the kill"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        logged = set(
            conn.execute(
                "SELECT article_id, to_status FROM review_events WHERE user_id IS NOT NULL ORDER BY id"
            ).fetchall()
        )
        counts = {
            a: n
            for a, n in conn.execute(
                "SELECT article_id, count(*) FROM review_events WHERE user_id IS NOT NULL GROUP BY article_id"
            )
        }
        revisions = dict(conn.execute("SELECT id, revision FROM articles").fetchall())
    finally:
        conn.close()
    for art_id, status, revision in confirmed:
        assert (art_id, status) in logged
        assert revisions[art_id] >= revision  # the confirmed state, or a later one, survived
    per_article = {}
    for art_id, _, _ in confirmed:
        per_article[art_id] = per_article.get(art_id, 0) + 1
    for art_id, n in per_article.items():
        assert counts[art_id] >= n  # no confirmed decision missing from the append-only log
