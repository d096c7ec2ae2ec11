"""Library commands: ingest files, list/show/remove documents, search passages, and find passages that
may support a curated claim."""

from __future__ import annotations

import json
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from oncoguide.cli.common import Format, current, fail, open_kb

app = typer.Typer()

documents_app = typer.Typer(no_args_is_help=True, help="The library's ingested documents: list, show, remove.")
app.add_typer(documents_app, name="documents")
claims_app = typer.Typer(no_args_is_help=True, help="Curated claims and the library passages that may support them.")
app.add_typer(claims_app, name="claims")


class OutFormat(str, Enum):
    text = "text"
    json = "json"


def open_library():
    return current().library


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders (PDF, HTML, Markdown, text, PubMed XML, JSON lines).")
    ],
    fmt: Annotated[OutFormat, typer.Option("--format", help="Output format of the summary.")] = OutFormat.text,
) -> None:
    """Add documents to the library: split into passages and indexed for search. Safe to run again."""
    from oncoguide.library.ingest import Status
    from oncoguide.library.ingest import ingest as run
    from oncoguide.library.textclean import printable

    library = open_library()
    with _progress() as progress:
        try:
            report = run(paths, library, current().settings.max_ingest_bytes, progress)
        except KeyboardInterrupt:
            typer.echo(
                "\ninterrupted: every document stored so far is complete; run the same command again to resume",
                err=True,
            )
            raise typer.Exit(130) from None
    if fmt == OutFormat.json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        for f in report.files:  # names and reasons through printable(): a name cannot forge or hide a line
            where = printable(f.path)
            if f.status == Status.FAILED:
                typer.echo(f"failed   {where}: {printable(f.error or '')}")
            elif f.status == Status.SKIPPED:
                typer.echo(f"skipped  {where}: {printable(f.error or '')}")
            elif f.status == Status.UNCHANGED and not f.known:
                typer.echo(f"unchanged {where}: already in the library")
            else:
                known = f", {f.known} already in the library" if f.known else ""
                typer.echo(f"ingested {where}: {f.documents} new document(s), {f.passages} passage(s){known}")
        docs, passages = library.counts()
        typer.echo(
            f"{len(report.files)} file(s): {report.documents} new document(s), {report.passages:,} passages "
            f"in {report.seconds:.1f} s ({report.rate:,.0f} passages/s); {len(report.failed)} failed. "
            f"The library holds {docs:,} documents, {passages:,} passages."
        )
    if report.failed:
        raise typer.Exit(1)


class _progress:
    """A progress line with passages/s on standard error, for runs long enough to need one (on a terminal)."""

    def __enter__(self):
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), transient=True
            )
            self.bar.start()
            self.task = self.bar.add_task("ingesting", rate="")
        self.passages = self.files = 0
        self.started = time.perf_counter()
        return self

    def __call__(self, result, passages: int) -> None:
        self.passages += passages
        self.files += result is not None
        if self.bar is not None:
            elapsed = max(time.perf_counter() - self.started, 1e-6)
            self.bar.update(
                self.task,
                description=f"{self.files} file(s), {self.passages:,} passages",
                rate=f"{self.passages / elapsed:,.0f} passages/s",
            )

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


@documents_app.command("list")
def documents_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many to show.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="How many to skip.")] = 0,
    fmt: Annotated[OutFormat, typer.Option("--format", help="Output format.")] = OutFormat.text,
) -> None:
    """The library's documents, oldest first."""
    library = open_library()
    docs = library.documents(limit, offset)
    if fmt == OutFormat.json:
        sys.stdout.write(json.dumps([_doc_dict(d) for d in docs], indent=2, default=str) + "\n")
        return
    total, passages = library.counts()
    for d in docs:
        typer.echo(f"{d.id:>6}  {d.type:<9} {d.year or '':<4}  {d.passages:>4} passages  {d.title[:70]}")
    typer.echo(f"{total:,} document(s), {passages:,} passages in the library")


@documents_app.command("show")
def documents_show(
    doc_id: Annotated[int, typer.Argument(help="Document number (from `documents list`).")],
    fmt: Annotated[OutFormat, typer.Option("--format", help="Output format.")] = OutFormat.text,
) -> None:
    """One document: its source details and its passages with their character offsets."""
    library = open_library()
    doc = library.get(doc_id)
    if doc is None:
        fail(f"no document {doc_id} in the library", 1)
    passages = library.passages(doc_id)
    if fmt == OutFormat.json:
        data = _doc_dict(doc) | {"passages": [vars(p) for p in passages]}
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    typer.echo(doc.citation())
    typer.echo(f"type {doc.type}, format {doc.format}, from {doc.source}, added {doc.added:%Y-%m-%d}")
    if doc.licence:
        typer.echo(f"licence: {doc.licence}")
    for p in passages:
        typer.echo(f"\n[{p.ordinal}] {p.section or '(no section)'}  characters {p.start}-{p.end}")
        typer.echo(p.text)


@documents_app.command("remove")
def documents_remove(doc_id: Annotated[int, typer.Argument(help="Document number (from `documents list`).")]) -> None:
    """Remove a document and its passages from the library and its index."""
    if not open_library().remove(doc_id):
        fail(f"no document {doc_id} in the library", 1)
    typer.echo(f"removed document {doc_id}")


def _doc_dict(d) -> dict:
    return {
        "id": d.id,
        "title": d.title,
        "authors": d.authors,
        "journal": d.journal,
        "year": d.year,
        "pmid": d.pmid,
        "doi": d.doi,
        "type": d.type,
        "licence": d.licence,
        "source": d.source,
        "format": d.format,
        "chars": d.chars,
        "passages": d.passages,
        "added": d.added,
    }


def hit_dict(h) -> dict:
    return {
        "rank": h.rank,
        "score": h.score,
        "text": h.text,
        "marks": [list(m) for m in h.marks],
        "document": _doc_dict(h.document),
        "citation": h.document.citation(),
        "passage_id": h.passage_id,
        "section": h.section,
        "start": h.start,
        "end": h.end,
    }


def print_hits(hits, fmt: Format, heading: str) -> None:
    if fmt == Format.json:
        sys.stdout.write(json.dumps([hit_dict(h) for h in hits], indent=2, default=str) + "\n")
        return
    if not hits:
        typer.echo("nothing in the library matches")
        return
    md = fmt == Format.markdown
    if md:
        typer.echo(f"# {heading}\n")
    for h in hits:
        where = f"{h.section + ', ' if h.section else ''}characters {h.start}-{h.end}"
        if md:
            typer.echo(f"{h.rank}. > {h.highlighted('**', '**')}\n\n   {h.document.citation()} ({where})\n")
        else:
            typer.echo(f"{h.rank}. [{h.score:.2f}] {h.document.citation()}\n   {where}\n   {h.highlighted('[', ']')}\n")


def _plan(text: str):
    from oncoguide.library.search import SearchError, plan

    lexicon = open_kb().contents.lexicon
    try:
        return plan(text, lexicon.abbreviations, lexicon.spelling, current().settings.max_question_chars)
    except SearchError as exc:
        fail(str(exc))


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to look for; abbreviations are expanded (DFSP, GIST, ...).")],
    type: Annotated[
        str | None,
        typer.Option(
            "--type", help="Only documents of this type (article, abstract, guideline, review, web page, note, other)."
        ),
    ] = None,
    year_from: Annotated[int | None, typer.Option("--year-from", help="Only documents from this year on.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many passages.")] = 10,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """BM25-ranked library passages, with the matching words marked."""
    from oncoguide.library.documents import TYPES
    from oncoguide.library.search import search as run

    if type is not None and type not in TYPES:
        fail(f"unknown type '{type}'; use one of: {', '.join(TYPES)}")
    q = _plan(query)
    print_hits(run(current().engine, q, limit, type, year_from), fmt, f"Library passages for: {query}")


@claims_app.command("support")
def claims_support(
    claim_id: Annotated[str, typer.Argument(help="A claim id from the knowledge pack.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many passages.")] = 5,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """Library passages that may support a curated claim, for a reviewer to check the citation against."""
    from oncoguide.library.support import candidates

    kb = open_kb()
    claim = kb.contents.claims.get(claim_id)
    if claim is None:
        fail(f"no claim '{claim_id}' in the knowledge pack", 1)
    hits = candidates(current().engine, kb.contents, claim, limit, current().settings.max_question_chars)
    if fmt != Format.json:
        typer.echo(f"Claim {claim_id}: {claim.clinician}\n")
    print_hits(hits, fmt, f"Passages that may support {claim_id}")
