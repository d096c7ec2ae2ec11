"""Taking an answer away (issue 19, part 2), through the real application: the patient handout page and its PDF
(text read back from the PDF with pypdf), the references as RIS and BibTeX files read back by independent
parsers (rispy, bibtexparser), and the links and texts the copy buttons carry."""

from __future__ import annotations

import io
import re
import threading
from datetime import date
from html import unescape
from http.server import BaseHTTPRequestHandler, HTTPServer

import bibtexparser
import pypdf
import pytest
import rispy
import textstat
from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts
from fastapi.testclient import TestClient
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oncoguide.web.app import create_app
from tests.conftest import ACCOUNT_PASSWORD, FLAGSHIP, csrf_of, login

TURN = re.compile(r"/answer/([a-z2-7]{16})\?")


def ask(client, question: str = FLAGSHIP, audience: str = "clinician") -> str:
    r = client.post(
        "/ask", data={"question": question, "audience": audience, "csrf": csrf_of(client)}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:300]
    return TURN.match(r.headers["location"]).group(1)


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def items(html: str, section_class: str) -> list[str]:
    """The list items of every <section class="section_class"> of a page, as text."""
    out = []
    for block in re.findall(rf'<section class="{section_class}".*?</section>', html, re.S):
        out += [text_of(li) for li in re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)]
    return out


def statements(page: str) -> list[str]:
    """The statements of an answer page (each section's list, not the disagreement boxes placed after it), without
    their citation marks, disagreement links or icon arrays."""
    out = []
    for block in re.findall(r'<section class="answer-section".*?</section>', page, re.S):
        listing = re.search(r"<ul>(.*?)</ul>", block, re.S)
        for li in re.findall(r"<li[^>]*>(.*?)</li>", listing.group(1) if listing else "", re.S):
            li = re.sub(r'<span class="disputed">.*?</span>|<div class="icon-arrays">.*?</div>', "", li, flags=re.S)
            out.append(re.sub(r"(\s*\d+)+$", "", text_of(li)).strip())
    return out


def without_marks(point: str) -> str:
    return re.sub(r"\s*\[[\d, ]+\]$", "", point).strip()


def reference_titles(page: str) -> list[str]:
    return re.findall(r'<li id="ref-\d+" value="\d+">', page)


# --- the handout page ---------------------------------------------------------------------------------------


def test_handout_is_the_patient_answer_in_short_with_date_status_sources_and_link(client):
    turn = ask(client)
    page = client.get(f"/answer/{turn}/handout").text
    patient = client.get(f"/answer/{turn}?audience=patient").text
    clinician = client.get(f"/answer/{turn}?audience=clinician").text
    text = text_of(page)

    assert text_of(re.search(r"<h1[^>]*>.*?</h1>", page, re.S).group(0)) == text_of(
        re.search(r"<h1[^>]*>.*?</h1>", patient, re.S).group(0)
    )
    assert f"Handout date {date.today().isoformat()}" in text
    assert re.search(r"Last updated \d{4}-\d{2}-\d{2}", text)
    assert "Checked by a clinician? Not yet." in text  # nobody has reviewed it
    link = f"http://testserver/answer/{turn}?audience=patient"
    assert f'<a href="{link}">{link}</a>' in page

    # every point is one of the patient answer's statements, none of the clinician answer's
    points = [without_marks(p) for p in items(page, "h-section")]
    patient_statements, clinician_statements = set(statements(patient)), set(statements(clinician))
    shown = [p for p in points if p in patient_statements]
    assert len(shown) >= 8
    assert not set(shown) & clinician_statements
    total = len(statements(patient))
    assert f"the main points: {len(shown)} of the {total} points" in text
    assert len(shown) < total

    # sources numbered 1..N without gaps, every one cited in the handout and every mark listed
    marks = {int(n) for group in re.findall(r'class="h-cite">\[([\d, ]+)\]', page) for n in group.split(", ")}
    block = re.search(r'<section class="h-refs".*?</section>', page, re.S).group(0)
    sources = [int(n) for n in re.findall(r'<li value="(\d+)"', block)]
    assert sources == list(range(1, len(sources) + 1)) and marks == set(sources)


def test_handout_reads_at_grade_8_or_below(client):
    turn = ask(client)
    page = client.get(f"/answer/{turn}/handout").text
    body = page.split('class="h-short"', 1)[1].split('class="h-more"', 1)[0]
    words = re.sub(r"\[[\d, ]+\]", "", text_of("<" + body))
    words = words.split("Questions you could ask your care team")[0]
    assert textstat.flesch_kincaid_grade(words) <= 8
    shown = float(re.search(r"school grade (\d+\.\d)", page).group(1))
    assert shown <= 8


def test_handout_names_the_reviewer_once_the_patient_article_is_approved(client):
    turn = ask(client)
    client.app.state.site.accounts.add("dr.handout", "Dr Hand Out", "reviewer", ACCOUNT_PASSWORD)
    reviewer = login(TestClient(client.app, raise_server_exceptions=False), "dr.handout")
    art = int(re.search(r"/review/articles/(\d+)", reviewer.get(f"/answer/{turn}?audience=patient").text).group(1))
    token = re.search(r'name="csrf" value="([^"]+)"', reviewer.get("/review").text).group(1)
    for to in ("under-review", "approved"):
        revision = client.app.state.site.reviews.get(art).revision
        r = reviewer.post(
            f"/review/articles/{art}",
            data={"to": to, "comment": "checked", "revision": revision, "csrf": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:300]
    text = text_of(client.get(f"/answer/{turn}/handout").text)
    expected = rf"Checked by a clinician\? Yes: reviewed by Dr Hand Out \(reviewer\), {date.today().isoformat()} ?\."
    assert re.search(expected, text)


def test_handout_and_copy_link_use_the_public_address_when_one_is_set(web_settings):
    settings = web_settings.model_copy(update={"public_url": "https://oncoguide.example.org"})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        turn = ask(c)
        handout = c.get(f"/answer/{turn}/handout").text
        assert f"https://oncoguide.example.org/answer/{turn}?audience=patient</a>" in handout
        page = c.get(f"/answer/{turn}?audience=clinician").text
        assert f'data-copy="https://oncoguide.example.org/answer/{turn}?audience=clinician"' in page


def test_no_handout_or_export_for_what_does_not_exist(client):
    for path in (
        "/answer/aaaaaaaaaaaaaaaa/handout",
        "/answer/aaaaaaaaaaaaaaaa/handout.pdf",
        "/answer/aaaaaaaaaaaaaaaa/references.ris",
        "/answer/" + "a" * 41 + "/references.bib",
    ):
        assert client.get(path).status_code == 404, path
    turn = ask(client)
    for n in ("0", "999", "abc", "99999999999"):
        assert client.get(f"/answer/{turn}/references/{n}.ris").status_code == 404, n
    refused = ask(client, "How do I bake sourdough bread?")
    page = client.get(f"/answer/{refused}?audience=clinician").text
    assert "/handout" not in page  # no tools on a refusal ...
    assert client.get(f"/answer/{refused}/handout").status_code == 404  # ... and no handout behind them
    assert client.get(f"/answer/{refused}/handout.pdf").status_code == 404


# --- the PDF ------------------------------------------------------------------------------------------------


def test_handout_pdf_holds_the_handout_text_on_at_most_two_pages(client):
    turn = ask(client)
    page = client.get(f"/answer/{turn}/handout").text
    r = client.get(f"/answer/{turn}/handout.pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="oncoguide-handout-{turn}.pdf"'
    pdf = pypdf.PdfReader(io.BytesIO(r.content))
    assert 1 <= len(pdf.pages) <= 2
    text = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    title = text_of(re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1))
    assert pdf.metadata.title.startswith(f"Handout: {title}")
    for words in (
        "In short",
        "Handout date",
        date.today().isoformat(),
        "Checked by a clinician?",
        "Sources",
        f"page 1 of {len(pdf.pages)}",
    ):
        assert words in text, words
    squeezed = text.replace(" ", "")  # the PDF breaks lines anywhere in a long address
    assert f"http://testserver/answer/{turn}?audience=patient".replace(" ", "") in squeezed
    for point in items(page, "h-section")[:6] + items(page, "h-refs")[:3]:
        assert point.replace(" ", "") in squeezed, point


def test_the_pdf_renderer_fetches_nothing(tmp_path):
    """An image or stylesheet named in a document is never fetched: not over HTTP, not from a file."""
    from oncoguide.web.pdf import pdf_from_html

    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server hook's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "secret.txt"
    secret.write_text("do not embed me")
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        pdf = pdf_from_html(
            f'<html><head><link rel="stylesheet" href="{base}/x.css"></head><body><p>Hello</p>'
            f'<img src="{base}/x.png"><object data="file://{secret}"></object>'
            f'<p style="background: url({base}/bg.png)">x</p></body></html>'
        )
    finally:
        server.shutdown()
    assert hits == []
    assert b"do not embed me" not in pdf
    assert "Hello" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


# --- RIS and BibTeX -----------------------------------------------------------------------------------------


def answer_sources(client, turn: str, audience: str = "clinician"):
    """The answer's references in page order, as pack sources (the API gives each one's id)."""
    state = client.app.state
    from oncoguide.site.threads import answer_turn

    return answer_turn(state.site, state.site.threads, turn, audience).references


def test_ris_export_of_the_whole_list_reads_back_in_a_reference_manager_parser(client, kb):
    turn = ask(client)
    r = client.get(f"/answer/{turn}/references.ris?audience=clinician")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-research-info-systems; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="oncoguide-{turn}.ris"'
    entries = rispy.loads(r.text)
    page = client.get(f"/answer/{turn}?audience=clinician").text
    assert len(entries) == len(reference_titles(page))
    for entry, ref in zip(entries, answer_sources(client, turn), strict=True):
        src = kb.contents.sources[ref.id]
        assert entry["title"] == src.title.rstrip(".")
        assert entry["year"] == str(src.year)
        assert entry.get("doi") == src.doi
        assert (entry.get("accession_number") or None) == (f"PMID:{src.pmid}" if src.pmid else None)
        assert entry["type_of_reference"] == ("JOUR" if src.journal else "ELEC" if src.url else "GEN")
        if src.journal:
            assert entry["secondary_title"] == src.journal
        surname = src.authors.split(" ")[0].rstrip(",")
        if re.fullmatch(r"[A-Z][a-z]+ [A-Z]{1,3}(, .*)?", src.authors):  # a Vancouver list: people
            assert entry["authors"][0].startswith(f"{surname}, ")


def test_bibtex_export_of_the_whole_list_parses_with_each_source_as_an_entry(client, kb):
    turn = ask(client)
    r = client.get(f"/answer/{turn}/references.bib?audience=patient")
    assert r.headers["content-type"] == "application/x-bibtex; charset=utf-8"
    library = bibtexparser.parse_string(r.text, append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    assert library.failed_blocks == []
    refs = answer_sources(client, turn, "patient")
    assert [e.key for e in library.entries] == [ref.id for ref in refs]
    for entry, ref in zip(library.entries, refs, strict=True):
        src = kb.contents.sources[ref.id]
        assert entry.entry_type == ("article" if src.journal else "misc")
        assert entry["year"] == str(src.year)
        if src.doi:
            assert entry["doi"] == src.doi.replace("_", r"\_")
        if src.pmid:
            assert entry["pmid"] == src.pmid
        if src.pages and "-" in src.pages:
            assert entry["pages"] == src.pages.replace("-", "--", 1)
        m = re.fullmatch(r"([A-Z][a-z]+) ([A-Z]{1,3})(, .*)?", src.authors)
        if m:  # a Vancouver list: the first author's surname and initials, as BibTeX splits them
            first = entry["author"][0]
            assert first.last == [m.group(1)] and first.first == [c + "." for c in m.group(2)]


def test_one_reference_exports_alone_in_both_formats(client, kb):
    turn = ask(client)
    refs = answer_sources(client, turn)
    n = len(refs) // 2
    ris_one = rispy.loads(client.get(f"/answer/{turn}/references/{n}.ris").text)
    bib_one = bibtexparser.parse_string(client.get(f"/answer/{turn}/references/{n}.bib").text)
    src = kb.contents.sources[refs[n - 1].id]
    assert [e["title"] for e in ris_one] == [src.title.rstrip(".")]
    assert [e.key for e in bib_one.entries] == [src.id]
    r = client.get(f"/answer/{turn}/references/{n}.bib")
    assert r.headers["content-disposition"] == f'attachment; filename="oncoguide-{turn}-{n}.bib"'


def test_answer_page_carries_the_copy_texts_and_export_links(client):
    turn = ask(client)
    page = client.get(f"/answer/{turn}?audience=clinician").text
    assert f'data-copy="http://testserver/answer/{turn}?audience=clinician"' in page
    copies = [unescape(c) for c in re.findall(r'data-copy="([^"]*)"', page)]
    listed = reference_titles(page)
    assert len(copies) == 1 + len(listed) + 1  # the link, one a reference, the whole list
    every = copies[-1].split("\n")
    assert len(every) == len(listed)
    for i, (line, one) in enumerate(zip(every, copies[1:-1], strict=True), start=1):
        assert line == f"{i}. {one}"
    # each copied citation is what the reference list shows, with its identifiers
    for li, one in zip(
        re.findall(r'<li id="ref-\d+" value="\d+">(.*?)<span class="level">', page, re.S), copies[1:-1], strict=True
    ):
        shown = text_of(li)
        assert one.startswith(shown.split(" PMID ")[0].split(" doi:")[0].split(" source page")[0].strip())
        for ident in re.findall(r"PMID \d+|doi:\S+", shown):
            assert ident in one
    for path in (
        f"/answer/{turn}/references.ris?audience=clinician",
        f"/answer/{turn}/references/1.bib?audience=clinician",
        f"/answer/{turn}/handout.pdf",
        f"/answer/{turn}/handout",
    ):
        assert f'href="{path}"' in page.replace("&amp;", "&"), path


# --- the formats' edge cases ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authors", "people", "et_al"),
    [
        ("Hogg D, Chung PW, et al.", ["Hogg, D.", "Chung, P.W."], True),
        ("van der Graaf WTA, O'Sullivan B", ["van der Graaf, W.T.A.", "O'Sullivan, B."], False),
        ("Nystrom LM, Gibbs CP Jr", ["Nystrom, L.M.", "Gibbs, C.P., Jr"], False),
        ("Rutkowski P, Ługowska I", ["Rutkowski, P.", "Ługowska, I."], False),
        (
            "Casali PG, et al., for the EORTC Soft Tissue and Bone Sarcoma Group",
            ["Casali, P.G.", "EORTC Soft Tissue and Bone Sarcoma Group"],
            True,
        ),
        ("Lansu J, Bovée JVMG, et al.; Haas RL", ["Lansu, J.", "Bovée, J.V.M.G.", "Haas, R.L."], True),
        (
            "PDQ Adult Treatment Editorial Board, National Cancer Institute",
            ["PDQ Adult Treatment Editorial Board, National Cancer Institute"],
            False,
        ),
        ("Cancer Research UK", ["Cancer Research UK"], False),
        ("Author list not captured (see PMID 30001237)", [], False),
        ("French Sarcoma Group (author names not shown on the record read)", ["French Sarcoma Group"], False),
    ],
)
def test_authors_become_people_organisations_or_nobody(authors, people, et_al):
    from oncoguide.engine.bibliography import authors_of

    found, more = authors_of(authors)
    assert [a.ris() for a in found] == people and more == et_al


def test_every_pack_source_exports_and_parses_back(kb):
    from oncoguide.engine.bibliography import bibtex, ris

    sources = list(kb.contents.sources.values())
    assert len(rispy.loads(ris(sources))) == len(sources)
    library = bibtexparser.parse_string(bibtex(sources))
    assert library.failed_blocks == [] and len(library.entries) == len(sources)
    assert len({e.key for e in library.entries}) == len(sources)


TEX_BACK = {r"\textbackslash{}": "\\", r"\textasciitilde{}": "~", r"\textasciicircum{}": "^"}


def untex(value: str) -> str:
    """The inverse of BibTeX escaping, in one pass (the escapes never overlap)."""
    return re.sub(
        r"\\textbackslash\{\}|\\textasciitilde\{\}|\\textasciicircum\{\}|\\([{}&%$#_])",
        lambda m: m.group(1) or TEX_BACK[m.group(0)],
        value,
    )


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80))
def test_any_title_survives_both_formats(title):
    """Braces, backslashes, LaTeX's specials and any Unicode in a title still give one well-formed entry."""
    from oncoguide.engine.bibliography import bibtex, ris
    from oncoguide.pack.contents import SourceRec

    src = SourceRec(
        id="s-1",
        type="cohort",
        title=title,
        authors="Hogg D",
        journal="J Test",
        year=2020,
        volume="1(2)",
        pages="3-4",
        pmid="123",
        doi="10.1/x_y",
        url=None,
        level=3,
    )
    expected = " ".join(title.split()).rstrip(".")
    assume(expected)
    ris_back = rispy.loads(ris([src]))
    assert [e["title"] for e in ris_back] == [expected]
    library = bibtexparser.parse_string(bibtex([src]))
    assert library.failed_blocks == [] and len(library.entries) == 1
    value = library.entries[0]["title"]
    assert value.startswith("{") and value.endswith("}")
    assert untex(value[1:-1]) == expected


@given(st.lists(st.integers(0, 8), max_size=12), st.integers(0, 30), st.integers(1, 4))
def test_handout_shares_keep_one_of_each_section_then_fill_the_first(sizes, total, per_section):
    from oncoguide.engine.handout import shares

    keep = shares(sizes, total, per_section)
    assert all(min(1, n) <= k <= max(min(1, n), min(n, per_section)) for k, n in zip(keep, sizes, strict=True))
    assert sum(keep) <= max(total, sum(1 for n in sizes if n))
    extra = [k - min(1, n) for k, n in zip(keep, sizes, strict=True)]
    room = [min(n, per_section) - min(1, n) for n in sizes]
    # a later section gets more only when every earlier one is as full as it may be
    for i, e in enumerate(extra):
        if e:
            assert all(extra[j] == room[j] for j in range(i))
