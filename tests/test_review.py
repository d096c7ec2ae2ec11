"""Editorial review on SQLite and PostgreSQL: articles from questions, the workflow with its audit log,
readers' view of the status, staleness when the pack changes, and no lost updates."""

from __future__ import annotations

import re
import threading

from fastapi.testclient import TestClient

from oncoguide.site.review import ReviewConflict, ReviewError, Reviews
from oncoguide.web.app import create_app
from tests.conftest import FLAGSHIP, csrf_of, login


def ask_flagship(client) -> int:
    r = client.post("/api/ask", json={"question": FLAGSHIP})
    assert r.status_code == 200
    art_id = client.app.state.site.reviews.find(client.app.state.site.kb.ask(FLAGSHIP))
    assert art_id is not None
    return art_id


def session_csrf(client) -> str:
    page = client.get("/review").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def reviewer_post(client, art_id, to, comment=""):
    revision = client.app.state.site.reviews.get(art_id).revision
    return client.post(
        f"/review/articles/{art_id}",
        data={"to": to, "comment": comment, "revision": revision, "csrf": session_csrf(client)},
        follow_redirects=False,
    )


def test_asking_creates_one_submitted_article_per_normalised_question(site):
    art_id = ask_flagship(site)
    site.post("/api/ask", json={"question": "stage IV DFSP - prognosis and treatment?"})
    queue = site.app.state.site.reviews.queue()
    # one article per normalised question and audience: the patient variant readers can switch to is one too
    assert sorted((a["audience"], a["id"] == art_id) for a in queue["submitted"]) == [
        ("clinician", True),
        ("patient", False),
    ]
    art = site.app.state.site.reviews.get(art_id)
    assert art.version == 1 and art.events[0]["to_status"] == "submitted" and art.events[0]["user_id"] is None
    assert art.basis["claims"] and art.basis["sources"]


def test_reviewer_takes_an_answer_to_approved_and_readers_see_who(site):
    art_id = ask_flagship(site)
    login(site, "reviewer1")
    assert reviewer_post(site, art_id, "under-review").status_code == 303
    assert reviewer_post(site, art_id, "approved", "Checked every citation.").status_code == 303
    art = site.app.state.site.reviews.get(art_id)
    assert art.status == "approved"
    assert [(e["from_status"], e["to_status"], e["username"]) for e in art.events] == [
        (None, "submitted", None),
        ("submitted", "under-review", "reviewer1"),
        ("under-review", "approved", "reviewer1"),
    ]
    reader = TestClient(site.app)
    loc = reader.post("/ask", data={"question": FLAGSHIP, "csrf": csrf_of(reader)}, follow_redirects=False)
    page = reader.get(loc.headers["location"]).text
    assert "Reviewed by Dr Reviewer (reviewer)" in page and 'aria-current="step">Approved' in page
    assert "Pending review" not in page


def test_changes_requested_then_revised_makes_a_new_version(site):
    art_id = ask_flagship(site)
    login(site, "reviewer1")
    reviewer_post(site, art_id, "under-review")
    assert reviewer_post(site, art_id, "changes-requested").status_code == 422  # a reason is required
    assert reviewer_post(site, art_id, "changes-requested", "Add the recurrence figures.").status_code == 303
    editor = login(TestClient(site.app), "editor1")
    assert reviewer_post(editor, art_id, "submitted", "Revised.").status_code == 303
    art = site.app.state.site.reviews.get(art_id)
    assert art.status == "submitted" and art.version == 2


def test_roles_that_may_not_approve_are_refused(site):
    art_id = ask_flagship(site)
    editor = login(TestClient(site.app), "editor1")
    reviewer_post(editor, art_id, "under-review")
    r = reviewer_post(editor, art_id, "approved")
    assert r.status_code == 403 and "cannot move an article to Approved" in r.text
    assert site.app.state.site.reviews.get(art_id).status == "under-review"


def test_two_reviewers_on_the_same_version_one_wins_one_is_told(site):
    art_id = ask_flagship(site)
    reviews: Reviews = site.app.state.site.reviews
    accounts = site.app.state.site.accounts
    r1, r2 = accounts.get("reviewer1"), accounts.get("reviewer2")
    reviews.transition(art_id, "under-review", r1, "", reviews.get(art_id).revision)
    revision = reviews.get(art_id).revision
    results = []
    barrier = threading.Barrier(2)

    def decide(user, to, comment):
        barrier.wait()
        try:
            reviews.transition(art_id, to, user, comment, revision)
            results.append("ok")
        except ReviewConflict as exc:
            results.append(str(exc))
        except ReviewError as exc:  # wrong: the loser must be told of the conflict, not of an invalid move
            results.append(f"not a conflict: {exc}")

    threads = [
        threading.Thread(target=decide, args=(r1, "approved", "fine")),
        threading.Thread(target=decide, args=(r2, "changes-requested", "not fine")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results.count("ok") == 1
    loser = next(r for r in results if r != "ok")
    assert loser == CONFLICT
    final = reviews.get(art_id)
    assert len([e for e in final.events if e["from_status"] == "under-review"]) == 1


def test_stale_revision_in_the_browser_gets_409(site):
    art_id = ask_flagship(site)
    login(site, "reviewer1")
    old = site.app.state.site.reviews.get(art_id).revision
    reviewer_post(site, art_id, "under-review")
    r = site.post(
        f"/review/articles/{art_id}",
        data={"to": "approved", "comment": "", "revision": old, "csrf": session_csrf(site)},
    )
    assert r.status_code == 409 and "someone else acted" in r.text


CONFLICT = "someone else acted on this article since you opened it; reload it to see what changed"  # README


def test_the_race_loser_gets_409_with_the_documented_message_in_the_browser_and_the_api(site):
    art_id = ask_flagship(site)
    reviews = site.app.state.site.reviews
    first, second = login(TestClient(site.app), "reviewer1"), login(TestClient(site.app), "reviewer2")
    revision = reviews.get(art_id).revision
    for client in (first, second):  # both opened the page at the same revision and press "Start review"
        r = client.post(
            f"/review/articles/{art_id}",
            data={"to": "under-review", "revision": revision, "csrf": session_csrf(client)},
            follow_redirects=False,
        )
        if client is first:
            assert r.status_code == 303
    assert r.status_code == 409 and CONFLICT in r.text
    tokens = [site.app.state.site.accounts.create_token(name, "race") for name in ("reviewer1", "reviewer2")]
    revision = reviews.get(art_id).revision
    answers = [
        site.post(
            f"/api/articles/{art_id}/transition",
            json={"to": "approved", "revision": revision},
            headers={"authorization": f"Bearer {t}"},
        )
        for t in tokens
    ]
    assert answers[0].status_code == 200
    assert answers[1].status_code == 409 and answers[1].json() == {"error": CONFLICT}
    moves = [(e["from_status"], e["to_status"]) for e in reviews.get(art_id).events]
    assert moves == [(None, "submitted"), ("submitted", "under-review"), ("under-review", "approved")]


def test_changing_a_claim_flags_the_approved_article_for_re_review(site, kb_settings, site_url, pack_copy, tmp_path):
    art_id = ask_flagship(site)
    reviews = site.app.state.site.reviews
    r1 = site.app.state.site.accounts.get("reviewer1")
    reviews.transition(art_id, "under-review", r1, "", reviews.get(art_id).revision)
    reviews.transition(art_id, "approved", r1, "ok", reviews.get(art_id).revision)
    claim_id = next(iter(reviews.get(art_id).basis["claims"]))
    # edit that claim in a copy of the pack and open the site on the rebuilt knowledge base
    path = next(p for p in (pack_copy / "claims").glob("*.yaml") if f"id: {claim_id}\n" in p.read_text())
    text = path.read_text()
    start = text.index(f"id: {claim_id}\n")
    rest = text[start:]
    at = rest.index("clinician: ")
    if rest.startswith("clinician: >-\n", at):  # a folded block: the text starts on the next, indented line
        revised = rest.replace("clinician: >-\n    ", "clinician: >-\n    REVISED ", 1)
    else:
        revised = rest.replace("clinician: ", "clinician: REVISED ", 1)
    path.write_text(text[:start] + revised)
    changed = kb_settings.model_copy(
        update={"db": tmp_path / "kb2.sqlite3", "pack_dir": pack_copy, "database_url": site_url}
    )
    with TestClient(create_app(changed)) as after:
        art = after.app.state.site.reviews.get(art_id)
        assert art.status == "needs-re-review"
        assert [c.id for c in art.changes] == [claim_id] and any(
            "REVISED" in line for c in art.changes for line in c.diff
        )
        assert after.app.state.site.reviews.refresh() == 1
        assert after.app.state.site.reviews.queue()["needs-re-review"][0]["id"] == art_id
        reader_page = after.get(
            after.post("/ask", data={"question": FLAGSHIP, "csrf": csrf_of(after)}, follow_redirects=False).headers[
                "location"
            ]
        ).text
        assert "Needs re-review" in reader_page


def test_the_audit_log_cannot_be_edited_or_deleted(site):
    import pytest
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DBAPIError

    from oncoguide.site.db import review_events

    ask_flagship(site)
    engine = site.app.state.site.reviews.engine
    for statement in (update(review_events).values(comment="rewritten history"), delete(review_events)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(review_events.select()).first().comment == "created from a reader's question"
