"""`oncoguide ingest`: files and folders in, whole documents stored, a per-file report out.

A file that cannot be read is reported with the reason and the batch goes on. Documents are written
in transactions holding whole documents only (up to BATCH_PASSAGES passages each), so an interrupted run
leaves complete documents and running it again resumes: files already fully stored are recognised by
the hash of their bytes and skipped, documents by the hash of their text.

Every path given or met in a folder gets a result: a FIFO, a device, a dangling link or a loop of links
fails with the reason instead of hanging the batch or vanishing from the report. Only hidden files and
folders (names starting with ".") are left out of walks without a line, as documented.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from oncoguide.library.documents import ParseError
from oncoguide.library.files import look, not_regular, read_regular
from oncoguide.library.parse import FORMATS, MAX_BYTES, file_format, parse_data
from oncoguide.library.split import split
from oncoguide.library.store import Library
from oncoguide.library.textclean import printable

BATCH_PASSAGES = 2000


class Status(StrEnum):
    INGESTED = "ingested"
    UNCHANGED = "unchanged"  # already stored
    FAILED = "failed"  # cannot be read or parsed (the exit status is 1)
    SKIPPED = "skipped"  # met in a folder walk and not read: a type we do not read, a folder seen already


@dataclass
class FileResult:
    path: str  # as given or found (JSON escapes it; text output shows it through printable())
    status: Status
    documents: int = 0  # new documents stored
    known: int = 0  # documents whose text was already stored
    passages: int = 0  # new passages stored
    error: str | None = None


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == Status.FAILED]

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
        return {
            "files": [vars(f) for f in self.files],
            "documents": self.documents,
            "passages": self.passages,
            "seconds": round(self.seconds, 3),
            "passages_per_second": round(self.rate, 1),
            "failed": len(self.failed),
        }


@dataclass(frozen=True)
class Found:
    """A path to read, or one not read and why (`status` FAILED or SKIPPED with `reason`)."""

    path: Path
    status: Status | None = None
    reason: str | None = None


def expand(paths: Iterable[Path]) -> Iterator[Found]:
    """Every path to report on, lazily: files as given, folders walked in name order (links followed,
    hidden names left out); whatever is not read gets its reason."""
    walked: set[tuple[int, int]] = set()  # folders by (device, inode): each is walked once
    for path in map(Path, paths):
        info, problem = look(path)
        if info is None:
            yield Found(path, Status.FAILED, problem)
        elif stat.S_ISDIR(info.st_mode):
            yield from _walk(path, info, walked)
        else:
            yield Found(path)  # read_regular() refuses it with the reason when it is not a regular file


def _walk(top: Path, info: os.stat_result, walked: set) -> Iterator[Found]:
    """A folder depth first in name order, with a stack of open folders rather than recursion, so a tree
    thousands of folders deep is walked like any other."""
    opened = _enter(top, info, walked, ())
    if isinstance(opened, Found):
        yield opened
        return
    stack = [opened]
    while stack:
        children, ancestors = stack[-1]
        path = next(children, None)
        if path is None:
            stack.pop()
            continue
        found, problem = look(path)
        if found is None:
            yield Found(path, Status.FAILED, problem)
        elif stat.S_ISDIR(found.st_mode):
            opened = _enter(path, found, walked, ancestors)
            if isinstance(opened, Found):
                yield opened
            else:
                stack.append(opened)
        elif problem := not_regular(found):
            yield Found(path, Status.FAILED, problem)
        elif path.suffix.lower() not in FORMATS:
            yield Found(path, Status.SKIPPED, f"not a supported type ({path.suffix or 'no suffix'})")
        else:
            yield Found(path)


def _enter(folder: Path, info: os.stat_result, walked: set, ancestors: tuple) -> Found | tuple[Iterator[Path], tuple]:
    """The folder's entries (hidden names left out) and the folders above it, or why it is not walked."""
    key = (info.st_dev, info.st_ino)
    if key in ancestors:  # a link back up the tree: following it would never end
        return Found(folder, Status.FAILED, "a link to a folder that contains it (a loop); not followed")
    if key in walked:
        return Found(folder, Status.SKIPPED, "a folder already walked through another path")
    walked.add(key)
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries if not entry.name.startswith("."))
    except OSError as exc:
        return Found(folder, Status.FAILED, f"cannot list the folder ({exc.strerror or exc})")
    return iter([folder / name for name in names]), (*ancestors, key)


@dataclass
class _Prepared:
    result: FileResult
    digest: str | None = None
    batches: list = field(default_factory=list)  # lists of (document, passages), about BATCH_PASSAGES each
    documents: int = 0


def ingest(
    paths: Iterable[Path],
    library: Library,
    max_bytes: int = MAX_BYTES,
    progress: Callable[[FileResult | None, int], None] | None = None,
) -> IngestReport:
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
            for found in expand(paths):
                if stop.is_set():
                    return
                ready.put(_prepare(found, library, max_bytes))
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
                library.mark_file(item.digest, printable(item.result.path), item.documents)
                item.result.status = Status.INGESTED if item.result.documents else Status.UNCHANGED
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


def _prepare(found: Found, library: Library, max_bytes: int) -> _Prepared:
    """Everything before writing: checks, reading, hashing, parsing and splitting (no database writes).

    The file is read once: the bytes hashed are the bytes parsed, even if the file changes afterwards.
    """
    path = found.path
    item = _Prepared(FileResult(str(path), found.status or Status.FAILED, error=found.reason))
    result = item.result
    if found.status is not None:
        return item
    try:
        fmt = file_format(path)
        data = read_regular(path, max_bytes)
        digest = hashlib.sha256(data).hexdigest()
        if library.file_done(digest):
            result.status = Status.UNCHANGED
            return item
        docs = parse_data(data, fmt, path)
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
