"""The library store and BM25 search on SQLite (FTS5) and PostgreSQL (tsvector + GIN): documents
stored whole or not at all, the same text stored once, abbreviations expanded, matches marked,
filters, removal."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from oncoguide.library.documents import ParsedDocument, Passage, Section
from oncoguide.library.search import SearchError, plan, search
from oncoguide.library.store import Library
from oncoguide.site.db import connect

ABBREVIATIONS = {"dfsp": ["dermatofibrosarcoma protuberans"], "gist": ["gastrointestinal stromal tumor"]}
SPELLING = {"tumour": "tumor", "tumours": "tumors"}

# invented test documents (not quotations of any paper)
DOCS = [
    (
        "Slow skin tumour outcomes",
        2019,
        "article",
        [
            ("Background", "Dermatofibrosarcoma protuberans is an uncommon skin tumour that grows slowly."),
            ("Results", "After wide excision, local recurrence was seen in a small share of patients."),
        ],
    ),
    (
        "Kinase inhibitor response",
        2021,
        "review",
        [
            ("Abstract", "Imatinib shrank DFSP in many patients whose tumour carried the fusion gene."),
            ("Conclusion", "Responses lasted for months; resistance appeared in some."),
        ],
    ),
    (
        "Stomach wall tumours",
        2015,
        "article",
        [
            ("Abstract", "Gastrointestinal stromal tumors of the stomach were treated with surgery alone."),
            ("Results", "Mitotic count predicted relapse after surgery."),
        ],
    ),
    (
        "Radiation after surgery",
        2012,
        "guideline",
        [("Recommendation", "Radiotherapy may follow surgery when margins are close or positive.")],
    ),
]


def parsed(title, year, kind, sections) -> tuple[ParsedDocument, list[Passage]]:
    doc = ParsedDocument(
        title=title,
        sections=tuple(Section(n, t) for n, t in sections),
        authors=("Test A", "Test B"),
        year=year,
        type=kind,
        format="text",
        source=f"{title}.txt",
    )
    passages, pos = [], 0
    for i, s in enumerate(doc.sections):
        start = doc.text.index(s.text, pos)
        passages.append(Passage(i, s.name, start, start + len(s.text), s.text))
        pos = start + len(s.text)
    return doc, passages


@pytest.fixture
def library(site_url):
    engine = connect(site_url)
    lib = Library(engine)
    for d in DOCS:
        lib.add(*parsed(*d))
    yield lib
    engine.dispose()


def find(lib, question, **kw):
    return search(lib.engine, plan(question, ABBREVIATIONS, SPELLING), **kw)


def test_the_same_text_is_stored_once(library):
    doc, passages = parsed(*DOCS[0])
    first_id = library.find_hash(doc.content_hash)
    assert library.add(doc, passages) == (first_id, False)
    assert library.counts() == (4, 7)


def test_abbreviations_find_the_written_out_name_and_back(library):
    by_abbreviation = find(library, "What is DFSP?")
    assert {h.document.title for h in by_abbreviation} == {"Slow skin tumour outcomes", "Kinase inhibitor response"}
    by_name = find(library, "dermatofibrosarcoma protuberans and imatinib")
    assert by_name[0].document.title == "Kinase inhibitor response"  # matches both ideas of the question
    assert by_name[0].matched == (0, 1) and by_name[0].coverage(plan("dfsp imatinib", ABBREVIATIONS)) == 1.0
    gist = find(library, "gist surgery")
    assert gist[0].document.title == "Stomach wall tumours"


def test_matches_are_marked_at_their_offsets(library):
    hit = find(library, "imatinib")[0]
    assert [hit.text[a:b] for a, b in hit.marks] == ["Imatinib"]
    assert hit.highlighted("**", "**").startswith("**Imatinib** shrank")
    doc_text = parsed(*DOCS[1])[0].text
    assert doc_text[hit.start : hit.end] == hit.text  # the passage is quoted exactly from its document


def test_british_and_american_spellings_match(library):
    assert {h.document.title for h in find(library, "stomach tumours")} >= {"Stomach wall tumours"}


def test_ranking_prefers_the_passage_with_more_of_the_rare_words(library):
    hits = find(library, "relapse after surgery mitotic count")
    assert hits[0].text.startswith("Mitotic count predicted relapse")
    assert hits[0].score > hits[1].score


def test_type_and_year_filters(library):
    assert {h.document.title for h in find(library, "surgery", type="guideline")} == {"Radiation after surgery"}
    assert {h.document.year for h in find(library, "surgery tumour skin", year_from=2016)} <= {2019, 2021}
    assert find(library, "surgery", year_from=2030) == []


def test_removed_documents_leave_no_trace(library):
    doc_id = find(library, "imatinib")[0].document.id
    assert library.remove(doc_id) and not library.remove(doc_id)
    assert find(library, "imatinib") == [] and library.counts() == (3, 5)
    assert library.passages(doc_id) == [] and library.get(doc_id) is None
    if library.dialect == "postgresql":
        with library.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM library_terms WHERE lexeme = 'imatinib'")).scalar() == 0
            assert conn.execute(text("SELECT passages FROM library_stats")).scalar() == 5


def test_a_document_that_fails_half_way_is_not_stored(library):
    doc, passages = parsed(
        "Broken", 2020, "article", [("A", "First part about imatinib resistance."), ("B", "Second part.")]
    )
    broken = [passages[0], Passage(1, "B", passages[1].start, passages[1].end, None)]  # NOT NULL fails
    with pytest.raises(Exception):  # noqa: B017 - the database's own integrity error, whichever driver
        library.add(doc, broken)
    assert library.find_hash(doc.content_hash) is None and library.counts() == (4, 7)
    assert [h.document.title for h in find(library, "resistance")] == ["Kinase inhibitor response"]


@pytest.mark.parametrize(
    "question, message", [("the what of which?", "no words to search for"), ("x" * 2001, "the limit is 2,000")]
)
def test_queries_that_cannot_be_run(question, message):
    with pytest.raises(SearchError, match=message):
        plan(question, ABBREVIATIONS)


def test_query_plan_groups_alternatives():
    q = plan("Is dermatofibrosarcoma protuberans in children treated with Mohs?", ABBREVIATIONS)
    assert q.groups == (("dermatofibrosarcoma protuberans", "dfsp"), ("children",), ("treated",), ("mohs",))
