"""Backup and restore of a SQLite site database.

`backup` takes an online, consistent copy while the site is running and writing: SQLite's backup API
copies every page inside one read transaction, so the copy is the database as of one instant, and
writers (WAL mode) are not held up. `restore` checks a backup (a SQLite file, intact, with an
oncoguide schema) in a temporary file next to the site database, brings it to the current schema and
only then swaps it in with os.replace, so a bad backup leaves the site database as it was.

PostgreSQL site databases are backed up with PostgreSQL's own tools (pg_dump / pg_restore).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass
class Report:
    path: Path
    revision: str | None
    rows: dict[str, int]  # table -> row count, for the site tables present

    def describe(self) -> str:
        counts = ", ".join(f"{n} {table}" for table, n in self.rows.items())
        return f"schema revision {self.revision or 'none'}; {counts or 'no tables'}"


def sqlite_path(url: str) -> Path:
    """The file of a SQLite site database URL; a clear error for PostgreSQL and in-memory databases."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - any unparsable URL gets the same message
        raise BackupError(f"cannot read the database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        raise BackupError(
            "the site database is PostgreSQL: back it up with pg_dump and restore it with "
            "pg_restore (for example `pg_dump -Fc -f site.dump DBNAME`, "
            "`pg_restore --clean -d DBNAME site.dump`)"
        )
    if backend != "sqlite":
        raise BackupError(f"backup and restore support SQLite site databases only, not {backend}")
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file::memory:"):
        raise BackupError("an in-memory site database cannot be backed up or restored")
    return Path(parsed.database)


def _report(conn: sqlite3.Connection, path: Path) -> Report:
    from oncoguide.site.db import metadata

    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    revision = None
    if "alembic_version" in present:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    rows = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in metadata.tables if t in present}
    return Report(path, revision, rows)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_next_to(path: Path, purpose: str) -> Path:
    tmp = path.with_name(f".{path.name}.{purpose}-{os.getpid()}")
    for leftover in (
        tmp,
        tmp.with_name(tmp.name + "-wal"),
        tmp.with_name(tmp.name + "-shm"),
        tmp.with_name(tmp.name + "-journal"),
    ):
        leftover.unlink(missing_ok=True)
    return tmp


def _discard(tmp: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)


def backup(url: str, path: str | Path) -> Report:
    """Copy the SQLite site database at `url` to `path`, consistently, while it may be in use."""
    source = sqlite_path(url)
    dest = Path(path)
    if not source.exists():
        raise BackupError(f"there is no site database at {source}")
    if dest.exists() and dest.resolve() == source.resolve():
        raise BackupError(f"{dest} is the site database itself; choose another file for the backup")
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory; give the backup's file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_next_to(dest, "backup")
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)  # all pages in one step: one read transaction, one instant
                out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                report = _report(out, dest)
            finally:
                out.close()
        finally:
            src.close()
        _fsync(tmp)
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from None
    finally:
        _discard(tmp)
    return report


def check_backup(path: Path) -> None:
    """Refuse anything that is not an intact oncoguide site database, naming the problem."""
    if not path.exists():
        raise BackupError(f"there is no backup file at {path}")
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with open(path, "rb") as f:
        if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{path} is not a SQLite database (it does not start with the SQLite header)")


def _verify(conn: sqlite3.Connection, path: Path) -> None:
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is corrupt: {exc}") from None
    if problems != ["ok"]:
        shown = "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")
        raise BackupError(f"{path} is corrupt: PRAGMA integrity_check found {len(problems)} problem(s): {shown}")
    has_version = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if not has_version:
        raise BackupError(f"{path} is not an oncoguide site database (it has no alembic_version table)")


def restore(path: str | Path, url: str) -> Report:
    """Replace the SQLite site database at `url` with the backup at `path`, after checking the backup.

    Stop the server first: processes that have the old database open keep writing to it.
    """
    from oncoguide.site.db import upgrade

    backup_file = Path(path)
    target = sqlite_path(url)
    check_backup(backup_file)
    if target.exists() and target.resolve() == backup_file.resolve():
        raise BackupError(f"{backup_file} is the site database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_next_to(target, "restore")
    try:
        try:
            src = sqlite3.connect(f"{backup_file.resolve().as_uri()}?mode=ro", uri=True)
            try:
                out = sqlite3.connect(tmp)
                try:
                    src.backup(out)
                finally:
                    out.close()
            finally:
                src.close()
            conn = sqlite3.connect(tmp)
            try:
                _verify(conn, backup_file)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{backup_file} is not a readable SQLite database or is corrupt: {exc}") from None
        try:
            upgrade(f"sqlite:///{tmp}")  # an older backup comes up to this version's schema
        except Exception as exc:  # noqa: BLE001 - alembic and SQLAlchemy errors alike
            raise BackupError(f"cannot bring {backup_file} to the current schema: {exc}") from None
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            report = _report(conn, target)
        finally:
            conn.close()
        _fsync(tmp)
        if target.exists():
            # Fold the old write-ahead log into the old file first, then drop the log, so that no stale
            # -wal is ever replayed onto the restored file (and a crash before the swap loses nothing).
            try:
                old = sqlite3.connect(target, timeout=30)
                try:
                    busy = old.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                finally:
                    old.close()
            except sqlite3.DatabaseError:
                busy = 0  # the current file is itself unreadable: replacing it is the point
            if busy:
                raise BackupError(f"{target} is in use (a server is running?); stop it and restore again")
        for suffix in ("-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
        _fsync(target.parent)
    finally:
        _discard(tmp)
    return report
