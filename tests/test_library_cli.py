"""The library as a user drives it: `oncoguide ingest` on a folder of mixed and broken files, re-runs
that change nothing, documents list/show/remove, search, claims support, answers quoting the library
when the pack has no answer (CLI, web page, JSON API), and interrupted ingests that leave whole
documents only and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oncoguide.library.store import Library
from oncoguide.site.db import connect
from tests.conftest import csrf_of, run_cli

# invented records in our own words (not quotations of real papers)
RECORDS = [
    {
        "title": "Cryotherapy for plantar warts in adults",
        "pmid": "99999901",
        "year": 2018,
        "type": "article",
        "sections": [
            {
                "name": "Background",
                "text": "Plantar warts are common. Freezing with liquid nitrogen is "
                "a usual first treatment in clinics.",
            },
            {
                "name": "Results",
                "text": "Cryotherapy cleared plantar warts in 40 of 100 adults after "
                "three sessions, with blistering as the main harm.",
            },
        ],
    },
    {
        "title": "Dermatofibrosarcoma protuberans in a teaching hospital",
        "doi": "10.9999/test.2",
        "year": 2021,
        "type": "abstract",
        "sections": [
            {
                "name": "Abstract",
                "text": "We reviewed 12 patients with DFSP treated with Mohs surgery; "
                "none had recurrence after two years.",
            }
        ],
    },
]
MARKDOWN = """---
title: Notes on wart care at home
year: 2020
---
# Home care

Keep plantar warts covered in shared showers. Do not cut them yourself.
"""


def library_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "records.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    (folder / "warts.md").write_text(MARKDOWN)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n")  # truncated
    (folder / "junk.txt").write_bytes(os.urandom(2000).replace(b"\x00", b"\x01") + b"\x00\x00")
    (folder / "latin1.txt").write_bytes(
        "Verruca care: caf\u00e9 staff noted pi\u00f1a-shaped warts rarely.\n".encode("cp1252")
    )
    (folder / "entities.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]>'
        "\n<PubmedArticleSet>&a;</PubmedArticleSet>\n"
    )
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n")
    with open(folder / "huge.txt", "wb") as f:  # sparse: nothing is written to disk
        f.truncate(200 * 1024 * 1024)
    return folder


@pytest.fixture
def site_env(tmp_path, kb_settings):
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    return url, {"ONCOGUIDE_DATABASE_URL": url, "ONCOGUIDE_DB": str(kb_settings.db)}


def test_ingest_a_mixed_folder_then_again(tmp_path, site_env):
    url, env = site_env
    folder = library_folder(tmp_path)
    r = run_cli("ingest", str(folder), env_extra=env)
    assert r.returncode == 1, r.stderr  # some files failed; the rest went in
    out = r.stdout
    assert "ingested" in out and "records.jsonl: 2 new document(s)" in out
    assert "warts.md: 1 new document(s)" in out and "latin1.txt: 1 new document(s)" in out
    for name, reason in (
        ("broken.pdf", "failed"),
        ("junk.txt", "binary data"),
        ("huge.txt", "the limit is"),
        ("entities.xml", "entit"),
        ("picture.png", "skipped"),
    ):
        line = next(x for x in out.splitlines() if name in x)
        assert reason in line, line
    assert "root:" not in out + r.stderr  # the external entity was never read
    assert "Traceback" not in r.stderr
    assert "4 new document(s)" in out and "4 failed" in out

    again = run_cli("ingest", str(folder), "--format", "json", env_extra=env)
    report = json.loads(again.stdout)
    assert report["documents"] == 0 and report["passages"] == 0
    statuses = {Path(f["path"]).name: f["status"] for f in report["files"]}
    assert statuses["records.jsonl"] == statuses["warts.md"] == "unchanged"
    engine = connect(url)
    assert Library(engine).counts()[0] == 4
    engine.dispose()


def test_documents_list_show_remove(tmp_path, site_env):
    url, env = site_env
    run_cli("ingest", str(library_folder(tmp_path)), env_extra=env)
    listing = run_cli("documents", "list", "--format", "json", env_extra=env)
    docs = json.loads(listing.stdout)
    warts = next(d for d in docs if d["title"] == "Cryotherapy for plantar warts in adults")
    assert warts["pmid"] == "99999901" and warts["year"] == 2018 and warts["passages"] >= 1
    shown = run_cli("documents", "show", str(warts["id"]), "--format", "json", env_extra=env)
    passages = json.loads(shown.stdout)["passages"]
    assert passages[1]["section"] == "Results" and passages[1]["text"].startswith("Cryotherapy cleared")
    text = run_cli("documents", "show", str(warts["id"]), env_extra=env).stdout
    assert "PMID 99999901" in text and "characters" in text
    assert run_cli("documents", "remove", str(warts["id"]), env_extra=env).returncode == 0
    gone = run_cli("documents", "show", str(warts["id"]), env_extra=env)
    assert gone.returncode == 1 and "no document" in gone.stderr
    assert "nothing in the library matches" in run_cli("search", "cryotherapy", env_extra=env).stdout


def test_search_marks_matches_and_expands_abbreviations(tmp_path, site_env):
    _url, env = site_env
    run_cli("ingest", str(library_folder(tmp_path)), env_extra=env)
    r = run_cli("search", "plantar warts cryotherapy", "--limit", "2", env_extra=env)
    assert r.returncode == 0 and "[Cryotherapy] cleared [plantar] [warts]" in r.stdout
    hits = json.loads(run_cli("search", "dermatofibrosarcoma protuberans", "--format", "json", env_extra=env).stdout)
    assert hits[0]["document"]["doi"] == "10.9999/test.2" and "DFSP" in hits[0]["text"]  # found by its abbreviation
    a, b = hits[0]["marks"][0]
    assert hits[0]["text"][a:b] == "DFSP"
    assert (
        json.loads(run_cli("search", "warts", "--year-from", "2019", "--format", "json", env_extra=env).stdout)[0][
            "document"
        ]["year"]
        == 2020
    )
    assert (
        json.loads(run_cli("search", "warts", "--type", "article", "--format", "json", env_extra=env).stdout)[0][
            "document"
        ]["type"]
        == "article"
    )
    bad = run_cli("search", "warts", "--type", "poem", env_extra=env)
    assert bad.returncode == 2 and "unknown type" in bad.stderr
    empty = run_cli("search", "what is the", env_extra=env)
    assert empty.returncode == 2 and "no words to search for" in empty.stderr


def test_answers_quote_the_library_when_the_pack_has_nothing(tmp_path, site_env):
    _url, env = site_env
    before = run_cli("ask", "How well does cryotherapy treat plantar warts?", env_extra=env)
    assert "From the library" not in before.stdout  # no site database yet: a plain abstention
    run_cli("ingest", str(library_folder(tmp_path)), env_extra=env)
    r = run_cli("ask", "How well does cryotherapy treat plantar warts?", "--format", "json", env_extra=env)
    answer = json.loads(r.stdout)
    assert answer["in_scope"] is False and answer["sections"] == [] and answer["references"] == []
    assert "not reviewed" in answer["bottom_line"] or "no one has reviewed" in answer["bottom_line"].lower()
    first = answer["excerpts"][0]
    assert first["pmid"] == "99999901" and first["reviewed"] is False
    shown = run_cli("documents", "show", str(first["document_id"]), "--format", "json", env_extra=env)
    doc_passages = {p["start"]: p["text"] for p in json.loads(shown.stdout)["passages"]}
    assert doc_passages[first["start"]] == first["text"]  # quoted exactly, at its offsets
    text = run_cli("ask", "How well does cryotherapy treat plantar warts?", env_extra=env).stdout
    assert "From the library: quoted exactly, not reviewed" in text and "characters" in text
    nothing = json.loads(run_cli("ask", "What is the airspeed of a swallow?", "--format", "json", env_extra=env).stdout)
    assert nothing["excerpts"] == [] and not nothing["in_scope"]  # nothing relevant: the pack's own abstention
    curated = json.loads(run_cli("ask", "Is DFSP inherited?", "--format", "json", env_extra=env).stdout)
    assert curated["in_scope"] and curated["excerpts"] == []  # curated claims answer it: no excerpts


def test_the_web_answer_shows_excerpts_as_unreviewed_quotes(tmp_path, web_settings, kb_settings):
    from oncoguide.library.ingest import ingest
    from oncoguide.web.app import create_app

    folder = library_folder(tmp_path)
    with TestClient(create_app(web_settings), raise_server_exceptions=False) as c:
        ingest([folder], Library(connect(web_settings.database_url)))
        api = c.post("/api/ask", json={"question": "cryotherapy for plantar warts", "audience": "patient"}).json()
        assert api["excerpts"] and api["excerpts"][0]["title"] == "Cryotherapy for plantar warts in adults"
        r = c.post("/ask", data={"question": "cryotherapy for plantar warts", "csrf": csrf_of(c)})
        page = r.text
        assert "From the library: quoted exactly, not reviewed" in page
        assert "<mark>Cryotherapy</mark> cleared <mark>plantar</mark> <mark>warts</mark>" in page
        assert "PMID 99999901" in page


def test_claims_support_lists_passages_for_a_claim(tmp_path, site_env, kb):
    _url, env = site_env
    claim_id = next(cid for cid, c in kb.contents.claims.items() if "Mohs" in c.clinician and c.condition == "dfsp")
    run_cli("ingest", str(library_folder(tmp_path)), env_extra=env)
    r = run_cli("claims", "support", claim_id, "--format", "json", env_extra=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["document"]["doi"] == "10.9999/test.2"
    missing = run_cli("claims", "support", "no-such-claim", env_extra=env)
    assert missing.returncode == 1 and "no claim" in missing.stderr


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_ingest_leaves_whole_documents_and_resumes(tmp_path, site_env, how):
    url, env = site_env
    folder = tmp_path / "many"
    folder.mkdir()
    expected = 0
    for f in range(30):
        with open(folder / f"part{f:02d}.jsonl", "w") as out:
            for d in range(300):
                sections = [
                    {
                        "name": f"Part {s}",
                        "text": f"Record {f}-{d}-{s} describes a slow skin tumour seen in clinic number {d * 7 + s}.",
                    }
                    for s in range(3)
                ]
                out.write(json.dumps({"title": f"Record {f}-{d}", "sections": sections}) + "\n")
                expected += 1
    proc = subprocess.Popen(
        [sys.executable, "-m", "oncoguide", "ingest", str(folder)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = connect(url)
    library = Library(engine)
    deadline = time.monotonic() + 60
    while library.counts()[0] == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(how)
    _out, err = proc.communicate(timeout=60)
    if how == signal.SIGINT and proc.returncode == 130:
        assert "run the same command again to resume" in err and "Traceback" not in err
    docs, passages = library.counts()
    assert 0 < docs
    with engine.connect() as conn:  # every stored document has all of its passages
        from sqlalchemy import text

        short = conn.execute(
            text(
                "SELECT count(*) FROM library_documents d WHERE d.passages != "
                "(SELECT count(*) FROM library_passages p WHERE p.document_id = d.id)"
            )
        ).scalar()
        indexed = conn.execute(text("SELECT count(*) FROM library_fts WHERE library_fts MATCH 'tumour'")).scalar()
    assert short == 0 and indexed == passages
    again = run_cli("ingest", str(folder), "--format", "json", env_extra=env)
    assert again.returncode == 0, again.stderr
    assert library.counts()[0] == expected  # resumed: nothing lost, nothing twice
    engine.dispose()
