"""PubMedQA (ori_pqal.json, MIT licence) as a retrieval test: 1,000 abstracts, each with the question it
answers. Shared by bench/library_quality.py, bench/library_scale.py and tests/test_library_quality.py.

Each abstract is ingested through the real `ingest()` path as one JSON-lines record (title "PubMedQA
<pmid>", never the question: the question is the query); its question should find it. The same abstracts
go to bm25s with its default settings, one document per abstract, as the baseline to match or beat.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "pubmedqa" / "ori_pqal.json"
MISSING = f"the PubMedQA file is absent ({DATA}); put ori_pqal.json (MIT licence) there to run this"
K = 10


def load(path: Path = DATA) -> dict[str, dict] | None:
    """PMID -> {QUESTION, CONTEXTS, LABELS, LONG_ANSWER, YEAR, ...}, or None when the file is absent."""
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def record(pmid: str, entry: dict) -> dict:
    """The JSON-lines record `ingest()` reads for one abstract."""
    sections = [
        {"name": label.title(), "text": context}
        for label, context in zip(entry["LABELS"], entry["CONTEXTS"], strict=True)
    ]
    sections.append({"name": "Conclusions", "text": entry["LONG_ANSWER"]})
    return {
        "title": f"PubMedQA {pmid}",
        "sections": sections,
        "pmid": pmid,
        "year": entry.get("YEAR"),
        "type": "abstract",
    }


def write_jsonl(data: dict[str, dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for pmid, entry in data.items():
            f.write(json.dumps(record(pmid, entry), ensure_ascii=False) + "\n")
    return path


def passages(entry: dict) -> list[str]:
    """An abstract's passages for bm25s: each context, then the long answer."""
    return [*entry["CONTEXTS"], entry["LONG_ANSWER"]]


def document(entry: dict) -> str:
    """An abstract as one bm25s document: contexts and long answer joined with spaces."""
    return " ".join(passages(entry))


def lexicon() -> tuple[Mapping[str, Sequence[str]], Mapping[str, str]]:
    """The knowledge base's abbreviations and spellings, which expand queries as in the application."""
    from oncoguide.kb import KnowledgeBase

    lex = KnowledgeBase.open().contents.lexicon
    return lex.abbreviations, lex.spelling


# --- scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    name: str
    recall1: float
    recall5: float
    recall10: float
    mrr: float
    median_ms: float
    p95_ms: float

    def metrics(self) -> dict[str, float]:
        return {"Recall@1": self.recall1, "Recall@5": self.recall5, "Recall@10": self.recall10, "MRR@10": self.mrr}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def score(name: str, rankings: list[list[str]], gold: list[str], seconds: list[float]) -> Result:
    """Recall@1/5/10 and MRR over the top 10 (0 when the right abstract is not there) of the gold PMIDs."""
    ranks = []
    for ranked, want in zip(rankings, gold, strict=True):
        top = ranked[:K]
        ranks.append(top.index(want) + 1 if want in top else None)
    n = len(gold)
    ms = [s * 1000 for s in seconds]
    found = [r for r in ranks if r is not None]
    return Result(
        name,
        sum(r <= 1 for r in found) / n,
        sum(r <= 5 for r in found) / n,
        len(found) / n,
        sum(1 / r for r in found) / n,
        statistics.median(ms),
        pct(ms, 0.95),
    )


def at_least_as_good(ours: Result, baseline: Result) -> dict[str, bool]:
    theirs = baseline.metrics()
    return {k: v >= theirs[k] for k, v in ours.metrics().items()}


# --- the runs -------------------------------------------------------------------------------------


def ingest_into(url: str, data: dict[str, dict], folder: Path):
    """Write the abstracts as JSON lines in `folder` and ingest them into the site database at `url`;
    returns (engine, IngestReport)."""
    from oncoguide.library.ingest import ingest
    from oncoguide.library.store import Library
    from oncoguide.site.db import connect

    engine = connect(url)
    report = ingest([write_jsonl(data, folder / "pubmedqa.jsonl")], Library(engine))
    if report.failed:
        raise RuntimeError(f"ingest failed: {report.failed[0].error}")
    return engine, report


def run_ours(engine, data: dict[str, dict], abbreviations: dict, spelling: dict, name: str = "oncoguide") -> Result:
    """Each question through plan() and rank_documents(limit=10), timed (planning included)."""
    from oncoguide.library.search import plan, rank_documents

    questions = [e["QUESTION"] for e in data.values()]
    rank_documents(engine, plan(questions[0], abbreviations, spelling), limit=K)  # warm-up
    rankings, seconds = [], []
    for q in questions:
        t = time.perf_counter()
        hits = rank_documents(engine, plan(q, abbreviations, spelling), limit=K)
        seconds.append(time.perf_counter() - t)
        rankings.append([h.document.pmid for h in hits])
    return score(name, rankings, list(data), seconds)


def _bm25s(texts: list[str]):
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, show_progress=False), show_progress=False)
    return retriever


def _retrieve(retriever, question: str, k: int):
    import bm25s

    docs, _scores = retriever.retrieve(bm25s.tokenize(question, show_progress=False), k=k, show_progress=False)
    return docs[0].tolist()


def run_bm25s_documents(data: dict[str, dict]) -> Result:
    """bm25s with default settings, one document per abstract."""
    pmids = list(data)
    retriever = _bm25s([document(e) for e in data.values()])
    rankings, seconds = [], []
    for e in data.values():
        t = time.perf_counter()
        ids = _retrieve(retriever, e["QUESTION"], K)
        seconds.append(time.perf_counter() - t)
        rankings.append([pmids[i] for i in ids])
    return score("bm25s, document per abstract", rankings, pmids, seconds)


def run_bm25s_passages(data: dict[str, dict], depth: int = 50) -> Result:
    """bm25s with default settings over the passages; an abstract ranked by its best passage among the
    top `depth` (as rank_documents looks at the top 50 passages)."""
    owner, texts = [], []
    for pmid, e in data.items():
        for p in passages(e):
            owner.append(pmid)
            texts.append(p)
    retriever = _bm25s(texts)
    rankings, seconds = [], []
    for e in data.values():
        t = time.perf_counter()
        ids = _retrieve(retriever, e["QUESTION"], min(depth, len(texts)))
        seconds.append(time.perf_counter() - t)
        rankings.append(list(dict.fromkeys(owner[i] for i in ids))[:K])
    return score("bm25s, passages (best per abstract)", rankings, list(data), seconds)
