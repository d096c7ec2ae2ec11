"""The library: documents ingested from files (PDF, HTML, Markdown, text, PubMed XML, JSON lines),
split into passages with character offsets, indexed for BM25 full-text search, and quoted exactly
(and labelled unreviewed) when the curated pack does not cover a question."""
