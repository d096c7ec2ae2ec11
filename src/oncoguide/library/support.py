"""For editors: library passages that may support a curated claim, so a reviewer can check a citation
against the text. Passages from the very documents the claim cites (same PMID or DOI) come first."""

from __future__ import annotations

from dataclasses import replace

from oncoguide.library.search import MAX_QUERY_CHARS, Hit, plan, search


def candidates(engine, contents, claim, limit: int = 5, max_chars: int = MAX_QUERY_CHARS) -> list[Hit]:
    lexicon = contents.lexicon
    query = plan(claim.clinician, lexicon.abbreviations, lexicon.spelling, max_chars)
    cited_pmids, cited_dois = set(), set()
    for source_id, _locator in claim.citations:
        source = contents.sources.get(source_id)
        if source is not None and source.pmid:
            cited_pmids.add(str(source.pmid))
        if source is not None and source.doi:
            cited_dois.add(source.doi.lower())
    hits = search(engine, query, limit=max(limit * 4, 20))

    def cited(h: Hit) -> bool:
        return (h.document.pmid in cited_pmids) or ((h.document.doi or "").lower() in cited_dois)

    ordered = sorted(hits, key=lambda h: (not cited(h), h.rank))[:limit]
    return [replace(h, rank=i) for i, h in enumerate(ordered, start=1)]
