"""Retrieval quality on PubMedQA (1,000 abstracts, MIT licence): each abstract, ingested through the real
`ingest()` path, must be found by its own question at least as well as bm25s with its default settings
finds it (one document per abstract), computed here on the same data. No timing is asserted."""

from __future__ import annotations

import pytest
from bench import pubmedqa


def test_library_finds_pubmedqa_abstracts_at_least_as_well_as_bm25s(kb, tmp_path):
    data = pubmedqa.load()
    if data is None:
        pytest.skip(pubmedqa.MISSING)
    pytest.importorskip("bm25s", reason="bm25s (the baseline) is not installed")
    lexicon = kb.contents.lexicon
    engine, report = pubmedqa.ingest_into(f"sqlite:///{tmp_path / 'site.sqlite3'}", data, tmp_path)
    assert report.documents == len(data) == 1000 and not report.failed
    try:
        ours = pubmedqa.run_ours(engine, data, lexicon.abbreviations, lexicon.spelling)
    finally:
        engine.dispose()
    bm25s = pubmedqa.run_bm25s_documents(data)

    summary = f"ours {ours.metrics()} vs bm25s {bm25s.metrics()}"
    assert ours.recall1 >= bm25s.recall1, summary
    assert ours.recall10 >= bm25s.recall10, summary
    assert ours.mrr >= bm25s.mrr, summary
    assert ours.recall10 > 0.95, summary
