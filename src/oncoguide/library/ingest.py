"""`oncoguide ingest`: files and folders in, whole documents stored, a per-file report out.

A file that cannot be read is reported with the reason and the batch goes on. Documents are written
in transactions holding whole documents only (up to BATCH_PASSAGES passages each), so an interrupted run
leaves complete documents and running it again resumes: files already fully stored are recognised by
the hash of their bytes and skipped, documents by the hash of their text.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from oncoguide.library.documents import ParseError
from oncoguide.library.parse import FORMATS, MAX_BYTES, parse
from oncoguide.library.split import split
from oncoguide.library.store import Library

BATCH_PASSAGES = 2000


@dataclass
class FileResult:
    path: str
    status: str                 # "ingested", "unchanged" (already stored), "failed", "skipped" (not a known type)
    documents: int = 0          # new documents stored
    known: int = 0              # documents whose text was already stored
    passages: int = 0           # new passages stored
    error: str | None = None


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def documents(self) -> int:
        return sum(f.documents for f in self.files)

    @property
    def passages(self) -> int:
        return sum(f.passages for f in self.files)

    @property
    def rate(self) -> float:
        return self.passages / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"files": [vars(f) for f in self.files], "documents": self.documents, "passages": self.passages,
                "seconds": round(self.seconds, 3), "passages_per_second": round(self.rate, 1),
                "failed": len(self.failed)}


def expand(paths: Iterable[Path]) -> list[tuple[Path, str | None]]:
    """Every file to look at, with a reason when it is not ingested: folders are walked (hidden files and
    folders left out), files of other types inside a folder are listed as skipped."""
    found: list[tuple[Path, str | None]] = []
    for path in map(Path, paths):
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in f.relative_to(path).parts):
                    continue
                found.append((f, None if f.suffix.lower() in FORMATS else "skipped"))
        elif path.exists():
            found.append((path, None))
        else:
            found.append((path, "no such file or folder"))
    return found


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _Prepared:
    result: FileResult
    digest: str | None = None
    batches: list = field(default_factory=list)   # lists of (document, passages), about BATCH_PASSAGES each
    documents: int = 0


def ingest(paths: Iterable[Path], library: Library, max_bytes: int = MAX_BYTES,
           progress: Callable[[FileResult | None, int], None] | None = None) -> IngestReport:
    """Ingest files and folders; `progress(result_or_None, new_passages)` is called as work is done.

    A reader thread parses and splits the next files while this thread writes: SQLite does its share of
    the work (FTS5 tokenising) without holding the GIL, so the two overlap on two cores.
    """
    report = IngestReport()
    started = time.perf_counter()
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def reader() -> None:
        try:
            for path, reason in expand(paths):
                if stop.is_set():
                    return
                ready.put(_prepare(path, reason, library, max_bytes))
        except BaseException as exc:  # handed to the writer, which raises it
            ready.put(exc)
        finally:
            ready.put(None)

    thread = threading.Thread(target=reader, name="oncoguide-ingest-reader", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            report.files.append(item.result)
            if item.digest is not None:
                for batch in item.batches:
                    _store(library, batch, item.result, progress)
                library.mark_file(item.digest, item.result.path, item.documents)
                item.result.status = "ingested" if item.result.documents else "unchanged"
            if progress:
                progress(item.result, 0)
    finally:
        stop.set()
        while thread.is_alive():  # let the reader finish its put() and see the stop
            try:
                ready.get(timeout=0.1)
            except queue.Empty:
                pass
        report.seconds = time.perf_counter() - started
    return report


def _prepare(path: Path, reason: str | None, library: Library, max_bytes: int) -> _Prepared:
    """Everything before writing: checks, hashing, parsing and splitting (no database writes)."""
    item = _Prepared(FileResult(str(path), "failed"))
    result = item.result
    if reason == "skipped":
        result.status, result.error = "skipped", f"not a supported type ({path.suffix or 'no suffix'})"
        return item
    if reason:
        result.error = reason
        return item
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ParseError(f"the file is {size:,} bytes; the limit is {max_bytes:,}")
        digest = file_hash(path)
        if library.file_done(digest):
            result.status = "unchanged"
            return item
        docs = parse(path, max_bytes)
    except OSError as exc:
        result.error = f"cannot read the file: {exc.strerror or exc}"
        return item
    except ParseError as exc:
        result.error = str(exc)
        return item
    batch, size = [], 0
    for doc in docs:
        passages = split(doc)
        batch.append((doc, passages))
        size += len(passages)
        if size >= BATCH_PASSAGES:
            item.batches.append(batch)
            batch, size = [], 0
    if batch:
        item.batches.append(batch)
    item.digest, item.documents = digest, len(docs)
    return item


def _store(library: Library, batch, result: FileResult, progress) -> None:
    new_passages = 0
    for (_doc, passages), (_id, new) in zip(batch, library.add_batch(batch), strict=True):
        if new:
            result.documents += 1
            new_passages += len(passages)
        else:
            result.known += 1
    result.passages += new_passages
    if progress:
        progress(None, new_passages)
