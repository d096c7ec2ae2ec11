"""Library retrieval quality (make bench): PubMedQA's 1,000 abstracts ingested through `ingest()`, each
found by its own question with plan() + rank_documents(limit=10), on SQLite and on PostgreSQL.

Reports Recall@1/5/10 and MRR (over the top 10) of the right abstract and the query latency, beside
bm25s with its default settings over the same abstracts (one document per abstract: the issue's bar,
which ours must match or beat on every metric) and over the same passages (for reference).
Timings are printed, never asserted.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import pubmedqa  # noqa: E402
from pgcluster import Unavailable, cluster, create_database, drop_database  # noqa: E402


def row(r: pubmedqa.Result) -> str:
    return (
        f"{r.name:<38} {r.recall1:>8.3f} {r.recall5:>8.3f} {r.recall10:>9.3f} {r.mrr:>8.3f} "
        f"{r.median_ms:>9.2f} {r.p95_ms:>8.2f}"
    )


def verdict(ours: pubmedqa.Result, baseline: pubmedqa.Result) -> str:
    better = pubmedqa.at_least_as_good(ours, baseline)
    if all(better.values()):
        return f"{ours.name}: at least as good as {baseline.name} on every metric: YES (target: yes)"
    lost = ", ".join(f"{k} {ours.metrics()[k]:.3f} < {baseline.metrics()[k]:.3f}" for k, ok in better.items() if not ok)
    return f"{ours.name}: at least as good as {baseline.name} on every metric: NO ({lost}) (target: yes)"


def main() -> None:
    data = pubmedqa.load()
    if data is None:
        print(f"library quality: skipped: {pubmedqa.MISSING}")
        return
    started = time.perf_counter()
    abbreviations, spelling = pubmedqa.lexicon()
    tmp = Path(tempfile.mkdtemp(prefix="oncoguide-library-quality-"))
    results = []
    try:
        engine, report = pubmedqa.ingest_into(f"sqlite:///{tmp / 'site.sqlite3'}", data, tmp)
        print(
            f"PubMedQA: {report.documents:,} abstracts, {report.passages:,} passages ingested on SQLite in "
            f"{report.seconds:.1f} s ({report.rate:,.0f} passages/s); {len(data):,} questions",
            flush=True,
        )
        results.append(pubmedqa.run_ours(engine, data, abbreviations, spelling, "oncoguide (SQLite)"))
        engine.dispose()
        baseline = pubmedqa.run_bm25s_documents(data)
        results += [baseline, pubmedqa.run_bm25s_passages(data)]

        pg_note = None
        try:
            with cluster() as admin:
                url = create_database(admin, "library_quality")
                try:
                    (tmp / "pg").mkdir()
                    engine, report = pubmedqa.ingest_into(url, data, tmp / "pg")
                    print(
                        f"PostgreSQL: {report.passages:,} passages ingested in {report.seconds:.1f} s "
                        f"({report.rate:,.0f} passages/s)",
                        flush=True,
                    )
                    results.insert(
                        1, pubmedqa.run_ours(engine, data, abbreviations, spelling, "oncoguide (PostgreSQL)")
                    )
                    engine.dispose()
                finally:
                    drop_database(admin, "library_quality")
        except Unavailable as exc:
            pg_note = f"PostgreSQL: skipped: {exc}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(
        f"{'retrieval of the right abstract':<38} {'Recall@1':>8} {'Recall@5':>8} {'Recall@10':>9} {'MRR@10':>8} "
        f"{'median ms':>9} {'p95 ms':>8}"
    )
    for r in results:
        print(row(r))
    if pg_note:
        print(pg_note)
    print()
    for r in results:
        if r.name.startswith("oncoguide"):
            print(verdict(r, baseline))
    print(
        f"(whole run {time.perf_counter() - started:.0f} s; latency includes plan() for ours and tokenising "
        "the query for bm25s)"
    )


if __name__ == "__main__":
    main()
