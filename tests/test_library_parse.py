"""The library's file parsers and passage splitter: each format, exact offsets, and bad input refused with a reason.

All the text here and under fixtures/library/ is invented test data (fake PMIDs 9999999x)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncoguide.library.documents import SECTION_GAP, ParsedDocument, ParseError, Section
from oncoguide.library.metadata import clean_doi, clean_pmid, clean_type, clean_year
from oncoguide.library.parse import parse
from oncoguide.library.split import sentences, split
from oncoguide.library.textclean import normalise_text

FIXTURES = Path(__file__).parent / "fixtures" / "library"


def make_pdf(
    path: Path, pages: list[str], title: str | None = None, author: str | None = None, user_password: str | None = None
) -> Path:
    """A small PDF with one block of text per page (fpdf2, at test time)."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    if user_password:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    path.write_bytes(bytes(pdf.output()))
    return path


def check_offsets(doc: ParsedDocument, max_chars: int = 1000) -> list:
    passages = split(doc, max_chars)
    text = doc.text
    for ordinal, p in enumerate(passages):
        assert p.ordinal == ordinal
        assert text[p.start : p.end] == p.text
        assert p.text and p.text == p.text.strip()
    return passages


def message(path: Path) -> str:
    with pytest.raises(ParseError) as caught:
        parse(path)
    return str(caught.value)


# ---- each format ----------------------------------------------------------------------------------------------


def test_html_takes_main_text_headings_and_citation_metadata():
    [doc] = parse(FIXTURES / "skin_tumour.html")
    assert doc.format == "html" and doc.type == "article"
    assert doc.title == "A slow-growing skin tumour: notes for readers"
    assert doc.authors == ("Invented, Alex", "Madeup, Sam")
    assert (doc.journal, doc.year, doc.pmid, doc.doi) == (
        "Journal of Test Fixtures",
        2021,
        "99999981",
        "10.9999/test.html.1",
    )
    assert doc.licence == "CC BY 4.0 (test data)"
    assert [s.name for s in doc.sections] == ["A slow-growing skin tumour", "Treatment", "Outlook"]
    assert "grows over many years & rarely spreads." in doc.text
    assert "Most people do well — the outlook is good." in doc.text
    assert "skin.\nSome centres" in doc.text  # <br> is a line break
    assert "First item about follow-up\nSecond item about scars" in doc.text
    assert "Cell one Cell two" in doc.text
    assert "MUST NOT APPEAR" not in doc.text + doc.title
    assert "outside the main element" not in doc.text


def test_html_without_main_falls_back_to_article_then_body(tmp_path):
    page = tmp_path / "page.htm"
    page.write_text(
        "<html><head><title>Invented page &ndash; test</title></head><body>"
        "<nav>Menu</nav><article><p>Short teaser.</p></article>"
        "<article><h3>Invented heading</h3><p>The longer article about a fictional lump wins.</p>"
        "<p>It has a second paragraph.</p></article><footer>Foot</footer></body></html>"
    )
    [doc] = parse(page)
    assert doc.title == "Invented page – test" and doc.type == "web page" and doc.authors == ()
    assert [(s.name, s.text) for s in doc.sections] == [
        ("Invented heading", "The longer article about a fictional lump wins.\n\nIt has a second paragraph.")
    ]
    body = tmp_path / "body.html"
    body.write_text(
        "<body><h1>Only a heading one</h1><div>First line<div>nested line</div></div>"
        "<script>hidden()</script><p style='display: none'>gone</p>"
        "<meta name='dc.type' content='Guideline'></body>"
    )
    [doc] = parse(body)
    assert doc.title == "Only a heading one" and doc.type == "guideline"
    assert doc.sections == (Section("Only a heading one", "First line\nnested line"),)


def test_markdown_front_matter_headings_and_markup():
    [doc] = parse(FIXTURES / "tumour_note.md")
    assert doc.format == "markdown"
    assert doc.title == "Notes on an invented tumour"
    assert doc.authors == ("Example, Pat", "Sample, Lee")
    assert (doc.journal, doc.year, doc.pmid, doc.doi, doc.type) == (
        "Test Notes Quarterly",
        2019,
        "99999971",
        "10.9999/test.md.1",
        "review",
    )
    assert doc.licence == "written for tests, no rights reserved"
    assert [s.name for s in doc.sections] == ["An invented tumour", "Diagnosis", "Follow-up"]
    first = doc.sections[0].text
    assert first == "This file is test data. It talks about an imaginary tumour of the skin, see the guide."
    assert "code fence text is kept" in doc.sections[1].text
    assert "Check the scar every year.\nReport any new lump." in doc.sections[2].text
    assert "A small heading that stays in the text" in doc.sections[2].text
    assert "snake_case_word" in doc.text
    assert "picture" not in doc.text and "https://" not in doc.text and "**" not in doc.text


def test_markdown_title_without_front_matter(tmp_path):
    note = tmp_path / "note.markdown"
    note.write_text("Some text before.\n\n# The *real* title\n\nBody here.\n")
    [doc] = parse(note)
    assert doc.title == "The real title" and doc.type == "note"
    assert [s.name for s in doc.sections] == ["", "The real title"]
    bare = tmp_path / "bare.md"
    bare.write_text("**Bold first line** of a note\n\nmore\n")
    assert parse(bare)[0].title == "Bold first line of a note"


def test_plain_text_is_normalised_with_first_line_as_title():
    [doc] = parse(FIXTURES / "clinic_note.txt")
    assert doc.format == "text" and doc.type == "note" and doc.title == "Clinic visit summary"
    assert len(doc.sections) == 1 and doc.sections[0].name == ""
    assert doc.text == (
        "Clinic visit summary\n\nThe patient, an invented person for this test, has a small lump on "
        "the shoulder. It has been there for two years.\n\nThe plan is to remove it under local "
        "anaesthetic."
    )


def test_plain_text_long_first_line_gives_the_file_stem(tmp_path):
    path = tmp_path / "long-line.text"
    path.write_text("word " * 100)
    assert parse(path)[0].title == "long-line"


def test_pubmed_xml_one_document_per_article_with_abstract():
    docs = parse(FIXTURES / "pubmed_set.xml")
    assert len(docs) == 2  # the third article has no abstract and is skipped
    review, guideline = docs
    assert review.format == "pubmed-xml" and review.type == "review"
    assert review.title == "Margins in an invented skin tumour: a review."
    assert review.authors == ("Fakename AB", "Synthetic Sarcoma Group")
    assert (review.journal, review.year, review.pmid) == ("Journal of Synthetic Test Data", 2022, "99999991")
    assert review.doi == "10.9999/synth.2022.1"  # ArticleIdList before ELocationID
    assert review.licence == "Copyright (c) 2022 Test Authors. Test data only."
    assert [s.name for s in review.sections] == ["Background", "Materials and methods", "Results"]
    assert review.sections[2].text == "Wider margins went with fewer 2 regrowths."
    assert review.source.endswith("pubmed_set.xml#1") and review.extra["skipped_without_abstract"] == 1
    assert guideline.type == "guideline" and guideline.year == 2018 and guideline.journal == "Test Guid J"
    assert guideline.doi == "10.9999/guide.2018" and guideline.sections == (
        Section("Abstract", "Fictional panel advice: remove the lump and check the edges."),
    )
    assert guideline.source.endswith("#2")


def test_pubmed_single_article_root_and_plain_type(tmp_path):
    path = tmp_path / "one.xml"
    path.write_text(
        "<PubmedArticle><MedlineCitation><PMID>99999994</PMID><Article><Journal><Title>T</Title>"
        "<JournalIssue><PubDate><Year>1799</Year></PubDate></JournalIssue></Journal>"
        "<ArticleTitle>Test only</ArticleTitle><ArticleDate><Year>2001</Year></ArticleDate>"
        "<Abstract><AbstractText>Invented words.</AbstractText></Abstract></Article></MedlineCitation>"
        "</PubmedArticle>"
    )
    [doc] = parse(path)
    assert doc.type == "abstract" and doc.year is None and doc.pmid == "99999994"


def test_jsonl_records_with_text_or_sections():
    first, second = parse(FIXTURES / "records.jsonl")
    assert first.format == "jsonl" and first.title == "First invented record"
    assert first.authors == ("Doe J", "Roe R") and first.year == 2020 and first.pmid == "99999961"
    assert first.type == "guideline" and first.extra["source"] == "https://example.org/first"
    assert first.source.endswith("records.jsonl#1")
    assert second.source.endswith("records.jsonl#3")  # numbered by line; the blank line 2 is skipped
    assert second.sections == (
        Section("Summary", "The summary of a fictional study."),
        Section("", "A section given as a plain string."),
    )
    assert second.year is None  # 1750 is out of range
    assert second.doi == "10.9999/jsonl.2" and second.type == "other" and second.journal == "Imaginary Medicine"


def test_pdf_pages_and_metadata(tmp_path):
    path = make_pdf(
        tmp_path / "paper.pdf",
        ["An invented tumour grows slowly. " * 30, "Second page on margins."],
        title="An invented PDF title",
        author="Writer, Test; Other, Person",
    )
    [doc] = parse(path)
    assert doc.format == "pdf" and doc.title == "An invented PDF title"
    assert doc.authors == ("Writer, Test", "Other, Person")
    assert [s.name for s in doc.sections] == ["Page 1", "Page 2"]
    assert doc.sections[1].text == "Second page on margins."
    assert "An invented tumour grows slowly." in doc.sections[0].text
    assert doc.extra["pages"] == 2


def test_pdf_without_info_uses_first_line_and_skips_blank_pages(tmp_path):
    path = make_pdf(
        tmp_path / "bare.pdf", ["Heading of an invented leaflet\nThe body of the leaflet.", " ", "Last page."]
    )
    [doc] = parse(path)
    assert doc.title == "Heading of an invented leaflet"
    assert [s.name for s in doc.sections] == ["Page 1", "Page 3"]


def test_pdf_content_is_sniffed_whatever_the_suffix(tmp_path):
    pdf = make_pdf(tmp_path / "x.pdf", ["Misnamed invented document."])
    misnamed = tmp_path / "misnamed.txt"
    misnamed.write_bytes(pdf.read_bytes())
    assert parse(misnamed)[0].format == "pdf"


def test_pypdf_warnings_stay_off_the_terminal(tmp_path, capfd):
    data = make_pdf(tmp_path / "ok.pdf", ["Recoverable invented text."]).read_bytes()
    head, _, tail = data.rpartition(b"startxref\n")
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(head + b"startxref\n999999" + tail[tail.index(b"\n") :])
    [doc] = parse(damaged)  # pypdf recovers, and would warn on stderr
    assert "Recoverable invented text." in doc.text
    assert capfd.readouterr().err == ""


# ---- offsets ---------------------------------------------------------------------------------------------------


def all_fixture_documents(tmp_path: Path) -> list[ParsedDocument]:
    docs = [doc for path in sorted(FIXTURES.iterdir()) for doc in parse(path)]
    docs += parse(make_pdf(tmp_path / "p.pdf", ["Some invented words, e.g. these. " * 80, "And more."]))
    return docs


@pytest.mark.parametrize("max_chars", [40, 120, 1000])
def test_offsets_hold_for_every_passage_of_every_fixture(tmp_path, max_chars):
    docs = all_fixture_documents(tmp_path)
    assert {d.format for d in docs} == {"html", "markdown", "text", "pubmed-xml", "jsonl", "pdf"}
    for doc in docs:
        passages = check_offsets(doc, max_chars)
        assert passages and all(len(p.text) <= max_chars for p in passages)
        assert {p.section for p in passages} == {s.name for s in doc.sections}


# ---- the splitter ----------------------------------------------------------------------------------------------


def test_sentences_do_not_split_on_abbreviations_or_decimals():
    text = (
        "A lump grew, e.g. on the arm. Smith et al. saw 3.5 cm lesions (see Fig. 2). Was it benign? "
        '"Yes." J. Doe vs. R. Roe agreed, i.e. mostly. 12 people took part.\n\nno full stop here\nnext line'
    )
    found = [text[a:b] for a, b in sentences(text)]
    assert found == [
        "A lump grew, e.g. on the arm.",
        "Smith et al. saw 3.5 cm lesions (see Fig. 2).",
        "Was it benign?",
        '"Yes."',
        "J. Doe vs. R. Roe agreed, i.e. mostly.",
        "12 people took part.",
        "no full stop here\nnext line",
    ]


def test_split_groups_whole_sentences_within_sections():
    doc = ParsedDocument(
        "t", (Section("One", "First sentence here. Second one is here. Third."), Section("Two", "Other section."))
    )
    passages = split(doc, max_chars=45)
    assert [(p.section, p.text) for p in passages] == [
        ("One", "First sentence here. Second one is here."),
        ("One", "Third."),
        ("Two", "Other section."),
    ]
    assert passages[-1].start == len("First sentence here. Second one is here. Third.") + len(SECTION_GAP)


def test_split_cuts_a_long_sentence_at_whitespace_and_an_endless_word_anywhere():
    doc = ParsedDocument("t", (Section("", "alpha beta gamma delta epsilon. " + "x" * 25),))
    passages = check_offsets(doc, max_chars=12)
    assert [p.text for p in passages] == ["alpha beta", "gamma delta", "epsilon.", "x" * 12, "x" * 12, "x"]
    with pytest.raises(ValueError):
        split(doc, max_chars=0)


def test_split_of_whitespace_only_section_gives_nothing():
    doc = ParsedDocument("t", (Section("a", "  \n "), Section("b", " Text. ")))
    assert [(p.section, p.text, p.start) for p in split(doc)] == [("b", "Text.", len("  \n ") + 2 + 1)]


WORDS = st.sampled_from(
    [
        "tumour",
        "skin",
        "slow",
        "e.g.",
        "et",
        "al.",
        "Fig.",
        "3.5",
        "vs.",
        "i.e.",
        "Dr.",
        "(see",
        "2)",
        '"quoted"',
        "ÉLAN",
        "naïve",
        "J.",
        "x",
        "U.S.",
        "12",
        "[ref]",
    ]
)
SENTENCE = st.tuples(
    st.lists(st.one_of(WORDS, st.text("abcdefgh", min_size=1, max_size=70)), min_size=1, max_size=25),
    st.sampled_from([".", "!", "?", "", '."', ".)"]),
).map(lambda t: " ".join(t[0])[:1].upper() + " ".join(t[0])[1:] + t[1])
SECTION_TEXT = st.tuples(
    st.lists(SENTENCE, max_size=8), st.sampled_from([" ", "  ", "\n", "\n\n", " \t "]), st.sampled_from(["", " ", "\n"])
).map(lambda t: t[2] + t[1].join(t[0]) + t[2])
SECTIONS = st.lists(st.tuples(st.sampled_from(["", "Background", "Page 2"]), SECTION_TEXT), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SECTIONS, st.integers(min_value=8, max_value=300))
def test_split_properties(sections, max_chars):
    doc = ParsedDocument("t", tuple(Section(n, t) for n, t in sections))
    text = doc.text
    passages = check_offsets(doc, max_chars)
    bounds, offset = [], 0
    for section in doc.sections:
        bounds.append((offset, offset + len(section.text), section.name))
        offset += len(section.text) + len(SECTION_GAP)
    covered = set()
    last_end = -1
    for p in passages:
        assert len(p.text) <= max_chars
        assert p.start >= last_end  # in order, no overlap
        last_end = p.end
        inside = [name for start, end, name in bounds if start <= p.start and p.end <= end]
        assert inside == [p.section]  # within exactly one section: never across a boundary
        covered.update(range(p.start, p.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


# ---- bad input -------------------------------------------------------------------------------------------------


def test_truncated_pdf(tmp_path):
    data = make_pdf(tmp_path / "ok.pdf", ["Invented text on one page."]).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    assert "truncated" in message(cut)


def test_damaged_pdf(tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4\n" + random.Random(1).randbytes(3000) + b"\n%%EOF\n")
    assert "damaged" in message(junk)
    not_pdf = tmp_path / "not.pdf"
    not_pdf.write_text("just some text")
    assert "not a PDF" in message(not_pdf)


def test_pdf_without_text_layer(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a drawing only, like a scanned page without OCR
    path = tmp_path / "scan.pdf"
    path.write_bytes(bytes(pdf.output()))
    assert "no text layer (scanned?)" in message(path)


def test_encrypted_pdf_needing_a_password(tmp_path):
    path = make_pdf(tmp_path / "locked.pdf", ["Invented secret."], user_password="letmein")
    assert "password" in message(path)
    open_one = make_pdf(tmp_path / "owner-only.pdf", ["Invented readable text."], user_password="")
    assert "Invented readable text." in parse(open_one)[0].text


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes_are_binary(tmp_path, seed):
    path = tmp_path / "noise.txt"
    data = random.Random(seed).randbytes(4096)
    path.write_bytes(data if seed == 0 else data.replace(b"\x00", b"\x01"))
    assert "binary data, not text" in message(path)


def test_huge_sparse_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)
    monkeypatch.setattr(Path, "open", lambda *a, **k: pytest.fail("the file was opened"))
    started = time.perf_counter()
    text = message(path)
    assert time.perf_counter() - started < 1
    assert text == f"the file is {200 * 1024 * 1024} bytes; the limit is {100 * 1024 * 1024}"


def test_max_bytes_is_honoured(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text("Eleven byte")
    with pytest.raises(ParseError, match="the file is 11 bytes; the limit is 10"):
        parse(path, max_bytes=10)
    assert parse(path, max_bytes=11)[0].text == "Eleven byte"


def test_cp1252_text_is_decoded(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Café naïve résumé – costs 5 € in Zürich.\n".encode("cp1252"))
    assert parse(path)[0].text == "Café naïve résumé – costs 5 € in Zürich."


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_byte_order_marks(tmp_path, encoding):
    path = tmp_path / "bom.md"
    data = "# Tumeur inventée\n\nTexte de test.\n".encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    [doc] = parse(path)
    assert doc.title == "Tumeur inventée" and doc.text == "Texte de test."


def test_normalisation():
    assert normalise_text("e\u0301\x00\x07 a\t\t b  \r\n\r\n\r\n\r\nnext\r") == "é a b\n\nnext"


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>99999995</PMID><Article><ArticleTitle>&lol2;</ArticleTitle>
<Abstract><AbstractText>&lol2;</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>99999996</PMID><Article><ArticleTitle>&secret;</ArticleTitle>
<Abstract><AbstractText>Leak: &secret;</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>
"""
PARAMETER_XXE = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [ <!ENTITY % secret SYSTEM "file:///etc/passwd"> %secret; ]>
<PubmedArticleSet/>
"""


@pytest.mark.parametrize("xml", [LAUGHS, XXE, PARAMETER_XXE], ids=["billion-laughs", "xxe", "parameter-xxe"])
def test_xml_entities_are_refused(tmp_path, xml, capfd):
    path = tmp_path / "evil.xml"
    path.write_text(xml)
    text = message(path)
    assert text == "XML with entity declarations is refused (XXE-safe)"
    output = capfd.readouterr()
    passwd = Path("/etc/passwd")
    if passwd.exists():
        for line in passwd.read_text(errors="replace").splitlines()[:5]:
            assert line not in text + output.out + output.err


def test_malformed_and_foreign_xml(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<PubmedArticleSet>\n  <PubmedArticle>\n</PubmedArticleSet>\n")
    assert message(bad) == "malformed XML at line 3, column 3: mismatched tag"
    other = tmp_path / "other.xml"
    other.write_text("<catalogue><item>Invented</item></catalogue>")
    assert "not PubMed XML" in message(other)
    tricky = tmp_path / "tricky.xml"
    tricky.write_text("<catalogue><!-- <PubmedArticle> --><item>x</item></catalogue>")
    assert "only PubMed XML" in message(tricky)
    no_abstract = tmp_path / "none.xml"
    no_abstract.write_text(
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>99999997</PMID><Article>"
        "<ArticleTitle>No abstract</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
        "</PubmedArticleSet>"
    )
    assert message(no_abstract) == "no PubmedArticle with an abstract (of 1 articles)"


@pytest.mark.parametrize(
    "lines, expected",
    [
        (
            ['{"title": "ok", "text": "Fine."}', "", '{"title": "broken", "text": "x",}'],
            "line 3: not valid JSON (at character 33: Expecting property name enclosed in double quotes)",
        ),
        (['{"title": "ok", "text": "Fine."}', '{"text": "no title"}'], "line 2: 'title' is missing"),
        (['["a list"]'], "line 1: expected a JSON object, found list"),
        (['{"title": "t"}'], "line 1: needs 'text' (a string) or 'sections' (a list)"),
        (['{"title": "t", "text": "  "}'], "line 1: no text"),
        (['{"title": "t", "sections": [42]}'], 'line 1: section 1 must be a string or {"name": ..., "text": ...}'),
        (['{"title": "t", "text": "x", "authors": [1]}'], "line 1: 'authors' must be a string or a list of strings"),
    ],
)
def test_jsonl_bad_line_fails_the_whole_file(tmp_path, lines, expected):
    path = tmp_path / "records.ndjson"
    path.write_text("\n".join(lines) + "\n")
    assert message(path) == expected


@pytest.mark.parametrize(
    "front, expected",
    [
        ("---\ntitle: fine\nauthors: [unclosed\n---\nBody.\n", "bad front matter on line 3: expected ',' or ']'"),
        ("---\ntitle: fine\n  bad: indent\n---\nBody.\n", "bad front matter on line 3"),
        ("---\n- just\n- a list\n---\nBody.\n", "bad front matter on line 2: expected 'key: value' lines"),
        ("---\ntitle: never closed\n\nBody.\n", "never closed"),
    ],
)
def test_markdown_bad_front_matter(tmp_path, front, expected):
    path = tmp_path / "note.md"
    path.write_text(front)
    assert expected in message(path)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".jsonl", ".xml", ".pdf"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_text("" if suffix != ".txt" else "  \n\n ")
    assert message(path).startswith("no text")


def test_documents_with_no_text(tmp_path):
    page = tmp_path / "scripts.html"
    page.write_text("<html><body><script>only()</script><nav>menu</nav></body></html>")
    assert message(page) == "no text"
    note = tmp_path / "headings.md"
    note.write_text("---\ntitle: x\n---\n# Heading only\n")
    assert message(note) == "no text"


def test_unknown_suffix_missing_file_and_directory(tmp_path):
    path = tmp_path / "paper.docx"
    path.write_text("x")
    text = message(path)
    assert "'.docx'" in text and ".pdf" in text and ".jsonl" in text and ".markdown" in text
    assert message(tmp_path / "absent.txt") == "no such file"
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert "directory" in message(folder)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([".txt", ".md", ".html", ".jsonl", ".xml", ".pdf"]),
    st.binary(max_size=600),
    st.sampled_from([b"", b"%PDF-1.4\n", b"<PubmedArticleSet>", b"---\n", b'{"title":']),
)
def test_junk_gives_documents_or_parse_error_only(tmp_path_factory, suffix, junk, prefix):
    path = tmp_path_factory.mktemp("junk") / f"junk{suffix}"
    path.write_bytes(prefix + junk + (b"\n%%EOF\n" if prefix.startswith(b"%PDF") else b""))
    try:
        docs = parse(path)
    except ParseError as exc:
        assert str(exc)
    else:
        for doc in docs:
            check_offsets(doc)


# ---- metadata clean-up -----------------------------------------------------------------------------------------


def test_metadata_cleaners():
    assert [clean_year(v) for v in (2020, "2020/03/01", "Nov 1999", 1799, "2101", True, None, "abc")] == [
        2020,
        2020,
        1999,
        None,
        None,
        None,
        None,
        None,
    ]
    assert [clean_pmid(v) for v in (99999998, "PMID: 99999998", "12a", "", None)] == [
        "99999998",
        "99999998",
        None,
        None,
        None,
    ]
    assert [clean_doi(v) for v in ("https://doi.org/10.9999/AbC.1", "doi: 10.9999/X.", "10.99/short", None)] == [
        "10.9999/abc.1",
        "10.9999/x",
        None,
        None,
    ]
    assert [clean_type(v) for v in ("Practice Guideline", "Systematic Review", "web page", "poem", None)] == [
        "guideline",
        "review",
        "web page",
        "other",
        "other",
    ]


def test_html_declared_charset_is_used_when_not_utf8(tmp_path):
    path = tmp_path / "sjis.html"
    path.write_bytes(
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
        "</head><body><p>皮膚の腫瘍（テスト用の文章）。</p></body></html>".encode("shift_jis")
    )
    assert parse(path)[0].text == "皮膚の腫瘍（テスト用の文章）。"
