"""Library scale (make bench): synthetic corpora of 10k, 100k and 1M passages made from PubMedQA's
sentences, ingested with `ingest()` into a fresh site database (SQLite; PostgreSQL up to --postgres-max),
then 200 PubMedQA questions through plan() + search(limit=10).

For each size: ingest rate, index size on disk, query latency (median, p95) and peak memory of a fresh
process that only opens the database and serves the queries (so ingest memory does not count); beside
bm25s (default settings) on the same passages, with the ratio ours/bm25s. Targets at 1M passages:
ingest >= 5,000 passages/s, query median <= 30 ms and p95 <= 150 ms, memory while serving <= 2 GB.
Timings are printed, never asserted.

    .venv/bin/python bench/library_scale.py [--sizes 10000,100000,1000000] [--no-postgres] [--postgres-max N]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import pubmedqa  # noqa: E402

SEED = 20240611
SECTIONS = 10  # sections per synthetic document; each one passage (kept under 1,000 chars)
DOCS_PER_FILE = 10_000
QUESTIONS = 200
TARGET_SIZE = 1_000_000
TARGETS = {"rate": 5_000, "median": 30.0, "p95": 150.0, "rss": 2048.0}
SECTION_NAMES = (
    "Background",
    "Objective",
    "Methods",
    "Patients",
    "Design",
    "Measurements",
    "Results",
    "Findings",
    "Discussion",
    "Conclusions",
)


def say(text: str) -> None:
    print(text, flush=True)


# --- the corpus ---------------------------------------------------------------------------------------


def all_sentences(data: dict[str, dict]) -> list[str]:
    from oncoguide.library.split import sentences

    found = []
    for entry in data.values():
        for text in pubmedqa.passages(entry):
            found += [text[a:b] for a, b in sentences(text)]
    return found


def write_corpus(sentences: list[str], passages: int, folder: Path) -> int:
    """Documents of SECTIONS sections, each 2-4 shuffled sentences (at most 1,000 characters, so one
    passage), in JSON-lines files of DOCS_PER_FILE documents; returns the number of documents."""
    rng = random.Random(SEED)
    folder.mkdir(parents=True)
    documents = passages // SECTIONS
    for first in range(0, documents, DOCS_PER_FILE):
        with (folder / f"corpus-{first // DOCS_PER_FILE:04d}.jsonl").open("w", encoding="utf-8") as f:
            for n in range(first, min(first + DOCS_PER_FILE, documents)):
                sections = []
                for name in SECTION_NAMES:
                    while True:
                        text = " ".join(rng.sample(sentences, rng.randint(2, 4)))
                        if len(text) <= 1000:
                            break
                    sections.append({"name": name, "text": text})
                f.write(
                    json.dumps(
                        {
                            "title": f"Synthetic document {n + 1}",
                            "sections": sections,
                            "year": 1990 + n % 35,
                            "type": "article",
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    return documents


# --- our side -------------------------------------------------------------------------------------------


@dataclass
class Row:
    size: int
    name: str
    rate: float  # passages/s
    bytes: int
    median_ms: float
    p95_ms: float
    rss_mb: float | None = None
    passages: int = 0


def ingest_corpus(url: str, folder: Path, expected: int):
    """Ingest the folder into the site database at `url`, printing progress; returns (engine, report)."""
    from oncoguide.library.ingest import ingest
    from oncoguide.library.store import Library
    from oncoguide.site.db import connect

    engine = connect(url)
    done = [0, 0]  # passages so far, next report at
    step = max(expected // 10, 10_000)
    done[1] = step
    started = time.perf_counter()

    def progress(_result, new_passages: int) -> None:
        done[0] += new_passages
        if done[0] >= done[1] and done[0] < expected:
            seconds = time.perf_counter() - started
            say(f"    ... {done[0]:,} passages in {seconds:.0f} s ({done[0] / seconds:,.0f} passages/s)")
            done[1] += step

    report = ingest([folder], Library(engine), progress=progress)
    if report.failed:
        raise RuntimeError(f"ingest failed: {report.failed[0].path}: {report.failed[0].error}")
    if report.passages != expected:
        say(f"    note: {report.passages:,} passages stored, {expected:,} expected")
    return engine, report


def serve(url: str, questions_file: Path) -> dict:
    """The query phase in a fresh process: open the database, run the questions, report latency and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--serve", url, "--questions-file", str(questions_file)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the query process failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _serve_main(url: str, questions_file: Path) -> None:
    import resource

    from oncoguide.library.search import plan, search
    from oncoguide.site.db import connect

    spec = json.loads(questions_file.read_text(encoding="utf-8"))
    abbreviations, spelling = spec["abbreviations"], spec["spelling"]
    engine = connect(url)
    search(engine, plan(spec["warmup"], abbreviations, spelling), limit=10)
    seconds = []
    for q in spec["questions"]:
        t = time.perf_counter()
        search(engine, plan(q, abbreviations, spelling), limit=10)
        seconds.append(time.perf_counter() - t)
    engine.dispose()
    ms = [s * 1000 for s in seconds]
    print(
        json.dumps(
            {
                "median": pubmedqa.pct(ms, 0.5),
                "p95": pubmedqa.pct(ms, 0.95),
                "rss_mb": peak_rss_mb(),
                "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak RSS. On Linux, ru_maxrss (RUSAGE_SELF) keeps the high-water mark of the process
    image before execve, i.e. the parent's RSS when it forked us (hundreds of MB after an ingest), so the
    address space's own high-water mark (VmHWM) is read instead; ru_maxrss elsewhere."""
    import resource

    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sqlite_bytes(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def stored_passages(engine) -> list[str]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return list(conn.execute(text("SELECT text FROM library_passages ORDER BY id")).scalars())


# --- bm25s -----------------------------------------------------------------------------------------------


def run_bm25s(size: int, texts: list[str], questions: list[str], folder: Path) -> Row:
    import bm25s

    t = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, show_progress=False), show_progress=False)
    seconds = time.perf_counter() - t
    retriever.save(str(folder))
    size_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    retriever.retrieve(bm25s.tokenize(questions[0], show_progress=False), k=10, show_progress=False)
    ms = []
    for q in questions:
        t = time.perf_counter()
        retriever.retrieve(bm25s.tokenize(q, show_progress=False), k=10, show_progress=False)
        ms.append((time.perf_counter() - t) * 1000)
    return Row(
        size,
        "bm25s",
        len(texts) / seconds,
        size_bytes,
        pubmedqa.pct(ms, 0.5),
        pubmedqa.pct(ms, 0.95),
        passages=len(texts),
    )


# --- the report --------------------------------------------------------------------------------------------

HEADER = (
    f"{'passages':>10}  {'engine':<22} {'ingest p/s':>11} {'size MB':>9} {'median ms':>10} {'p95 ms':>9} "
    f"{'peak RSS MB':>12}"
)


def show(row: Row) -> str:
    rss = f"{row.rss_mb:>12.0f}" if row.rss_mb is not None else f"{'-':>12}"
    line = (
        f"{row.size:>10,}  {row.name:<22} {row.rate:>11,.0f} {row.bytes / 2**20:>9.1f} {row.median_ms:>10.2f} "
        f"{row.p95_ms:>9.2f} {rss}"
    )
    if row.size == TARGET_SIZE and row.name.startswith("oncoguide"):
        line += (
            f"   targets: >= {TARGETS['rate']:,} p/s, median <= {TARGETS['median']:.0f} ms, "
            f"p95 <= {TARGETS['p95']:.0f} ms, RSS <= {TARGETS['rss']:,.0f} MB"
        )
    return line


def ratio(ours: Row, theirs: Row) -> str:
    return (
        f"{'':>10}  {'  ratio ours/bm25s':<22} {ours.rate / theirs.rate:>11.2f} {ours.bytes / theirs.bytes:>9.2f} "
        f"{ours.median_ms / theirs.median_ms:>10.1f} {ours.p95_ms / theirs.p95_ms:>9.1f} {'':>12}"
    )


def verdicts(row: Row) -> list[str]:
    checks = [
        ("ingest", row.rate, ">=", TARGETS["rate"], "passages/s"),
        ("query median", row.median_ms, "<=", TARGETS["median"], "ms"),
        ("query p95", row.p95_ms, "<=", TARGETS["p95"], "ms"),
    ]
    if row.rss_mb is not None and row.name == "oncoguide (SQLite)":
        checks.append(("memory while serving", row.rss_mb, "<=", TARGETS["rss"], "MB"))
    out = []
    for what, value, op, target, unit in checks:
        ok = value >= target if op == ">=" else value <= target
        out.append(
            f"  {row.name} at {row.size:,} passages, {what}: {value:,.1f} {unit} (target {op} {target:,} "
            f"{unit}): {'met' if ok else 'MISSED'}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="passages per corpus, comma-separated")
    parser.add_argument(
        "--postgres",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run on PostgreSQL (a throwaway cluster)",
    )
    parser.add_argument("--postgres-max", type=int, default=100_000, help="largest size run on PostgreSQL")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--questions-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve_main(args.serve, args.questions_file)
        return

    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if not sizes or min(sizes) < SECTIONS:
        parser.error(f"--sizes: give passage counts of at least {SECTIONS}")
    data = pubmedqa.load()
    if data is None:
        say(f"library scale: skipped: {pubmedqa.MISSING}")
        return
    abbreviations, spelling = pubmedqa.lexicon()
    questions = [e["QUESTION"] for e in data.values()]
    spec = {
        "abbreviations": abbreviations,
        "spelling": spelling,
        "warmup": questions[QUESTIONS],
        "questions": questions[:QUESTIONS],
    }
    sentences = all_sentences(data)
    tmp = Path(tempfile.mkdtemp(prefix="oncoguide-library-scale-"))
    questions_file = tmp / "questions.json"
    questions_file.write_text(json.dumps(spec), encoding="utf-8")
    say(
        f"library scale: {len(sentences):,} PubMedQA sentences; documents of {SECTIONS} sections of 2-4 shuffled "
        f"sentences (seed {SEED}); {QUESTIONS} PubMedQA questions through plan() + search(limit=10)"
    )
    rows: list[Row] = []
    try:
        for size in sizes:
            folder = tmp / f"corpus-{size}"
            t = time.perf_counter()
            documents = write_corpus(sentences, size, folder)
            say(
                f"{size:,} passages: {documents:,} documents written in {time.perf_counter() - t:.1f} s; "
                "ingesting on SQLite"
            )
            db = tmp / f"site-{size}.sqlite3"
            engine, report = ingest_corpus(f"sqlite:///{db}", folder, documents * SECTIONS)
            say(
                f"  SQLite ingest: {report.passages:,} passages in {report.seconds:.1f} s "
                f"({report.rate:,.0f} passages/s)"
            )
            texts = stored_passages(engine)
            engine.dispose()
            size_bytes = sqlite_bytes(db)
            served = serve(f"sqlite:///{db}", questions_file)
            ours = Row(
                size,
                "oncoguide (SQLite)",
                report.rate,
                size_bytes,
                served["median"],
                served["p95"],
                served["rss_mb"],
                report.passages,
            )
            say(
                f"  SQLite: {size_bytes / 2**20:,.1f} MB on disk; queries median {ours.median_ms:.2f} ms, "
                f"p95 {ours.p95_ms:.2f} ms; peak RSS while serving {ours.rss_mb:,.0f} MB"
            )
            say("  bm25s: indexing the same passages")
            theirs = run_bm25s(size, texts, spec["questions"], tmp / f"bm25s-{size}")
            del texts
            say(
                f"  bm25s: {theirs.rate:,.0f} passages/s, {theirs.bytes / 2**20:,.1f} MB saved; queries median "
                f"{theirs.median_ms:.2f} ms, p95 {theirs.p95_ms:.2f} ms"
            )
            rows += [ours, theirs]
            db.unlink()
            shutil.rmtree(tmp / f"bm25s-{size}", ignore_errors=True)
            if not args.postgres or size > args.postgres_max:
                shutil.rmtree(folder, ignore_errors=True)
        pg_notes = run_postgres(args, sizes, tmp, questions_file, rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    say("")
    say(HEADER)
    for size in sizes:
        order = ("oncoguide (SQLite)", "oncoguide (PostgreSQL)", "bm25s")
        by_name = {r.name: r for r in rows if r.size == size}
        for name in order:
            if name in by_name:
                say(show(by_name[name]))
        if "oncoguide (SQLite)" in by_name and "bm25s" in by_name:
            say(ratio(by_name["oncoguide (SQLite)"], by_name["bm25s"]))
        if "oncoguide (PostgreSQL)" in by_name and "bm25s" in by_name:
            say(ratio(by_name["oncoguide (PostgreSQL)"], by_name["bm25s"]).replace("ours/bm25s", "PG/bm25s  "))
    for note in pg_notes:
        say(note)
    say(
        "(size: SQLite file + WAL after a checkpoint; PostgreSQL pg_total_relation_size of the library tables; "
        "bm25s retriever.save(). Peak RSS: VmHWM of the query process, which only opens the database and runs the "
        "queries; for PostgreSQL the client, not the server. PostgreSQL is VACUUM ANALYZEd after ingest.)"
    )
    at_target = [r for r in rows if r.size == TARGET_SIZE and r.name.startswith("oncoguide")]
    if at_target:
        say(f"targets at {TARGET_SIZE:,} passages:")
        for r in at_target:
            for v in verdicts(r):
                say(v)
    else:
        say(f"targets apply at {TARGET_SIZE:,} passages, which this run did not include")


def run_postgres(args, sizes: list[int], tmp: Path, questions_file: Path, rows: list[Row]) -> list[str]:
    if not args.postgres:
        return ["PostgreSQL: not run (--no-postgres)"]
    run = [s for s in sizes if s <= args.postgres_max]
    notes = []
    skipped = [s for s in sizes if s > args.postgres_max]
    if skipped:
        notes.append(
            f"PostgreSQL: {', '.join(f'{s:,}' for s in skipped)} passages not run "
            f"(--postgres-max {args.postgres_max:,})"
        )
    if not run:
        return notes
    from pgcluster import Unavailable, cluster, create_database, drop_database, library_bytes

    try:
        with cluster() as admin:
            for size in run:
                name = f"library_scale_{size}"
                url = create_database(admin, name)
                try:
                    say(f"{size:,} passages: ingesting on PostgreSQL")
                    engine, report = ingest_corpus(url, tmp / f"corpus-{size}", size // SECTIONS * SECTIONS)
                    say(
                        f"  PostgreSQL ingest: {report.passages:,} passages in {report.seconds:.1f} s "
                        f"({report.rate:,.0f} passages/s)"
                    )
                    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.exec_driver_sql("VACUUM ANALYZE")
                    size_bytes = library_bytes(engine)
                    engine.dispose()
                    served = serve(url, questions_file)
                    row = Row(
                        size,
                        "oncoguide (PostgreSQL)",
                        report.rate,
                        size_bytes,
                        served["median"],
                        served["p95"],
                        served["rss_mb"],
                        report.passages,
                    )
                    say(
                        f"  PostgreSQL: {size_bytes / 2**20:,.1f} MB; queries median {row.median_ms:.2f} ms, "
                        f"p95 {row.p95_ms:.2f} ms"
                    )
                    rows.append(row)
                finally:
                    drop_database(admin, name)
                    shutil.rmtree(tmp / f"corpus-{size}", ignore_errors=True)
    except Unavailable as exc:
        notes.append(f"PostgreSQL: skipped: {exc}")
    return notes


if __name__ == "__main__":
    main()
