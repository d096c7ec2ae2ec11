"""Durability of the SQLite site database: a writer killed with SIGKILL loses nothing it reported as
committed and leaves an intact file; a backup taken while another process writes is consistent and
restores; restore refuses corrupt and foreign files and leaves the site database as it was."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from oncoguide.site.backup import BackupError, backup, restore
from oncoguide.site.db import head_revision
from oncoguide.site.threads import ThreadStore
from tests.conftest import run_cli

# Writes turns in small committed transactions (ThreadStore.add commits each one) and prints each id
# only after its commit returned. Every fifth question continues the previous thread.
WRITER = r"""
import sys
from oncoguide.site.threads import ThreadStore

store = ThreadStore(sys.argv[1])
parent = None
for i in range(int(sys.argv[2])):
    new_id, _ = store.add(parent if i % 5 else None, f"question {i} " + "x" * (i % 300))
    parent = new_id
    sys.stdout.write(new_id + "\n")
    sys.stdout.flush()
"""


def start_writer(url: str, count: int = 1_000_000) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(count)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def read_ids(proc: subprocess.Popen, n: int) -> list[str]:
    """The next n ids the writer reports (fails if it stops first)."""
    ids = []
    while len(ids) < n:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            pytest.fail(f"the writer stopped early (exit {proc.returncode}):\n{proc.stderr.read()}")
        ids.append(line.rstrip("\n"))
    return ids


def kill(proc: subprocess.Popen) -> list[str]:
    """SIGKILL the writer; return the ids it had fully reported (complete lines) before it died."""
    proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return [line for line in rest.split("\n")[:-1]]  # the last piece is "" or an unfinished line


def stored_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM turns")}


def integrity(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("PRAGMA integrity_check")]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def site(tmp_path) -> tuple[str, Path]:
    path = tmp_path / "site.sqlite3"
    return f"sqlite:///{path}", path


def test_sigkill_mid_write_loses_no_committed_row(site):
    url, path = site
    proc = start_writer(url)
    reported = read_ids(proc, 300)  # well into its run: it is writing when it is killed
    reported += kill(proc)
    assert len(reported) >= 300
    assert integrity(path) == ["ok"]
    missing = set(reported) - stored_ids(path)
    assert not missing, f"{len(missing)} committed turns were lost"
    # and the site carries on with the database the killed writer left
    store = ThreadStore(url)
    try:
        assert store.chain(reported[-1]) is not None
        new_id, _ = store.add(reported[-1], "after the crash")
        assert store.chain(new_id)[-1] == "after the crash"
    finally:
        store.dispose()


def test_backup_while_another_process_writes_then_restore(site, tmp_path):
    url, path = site
    proc = start_writer(url)
    try:
        before = read_ids(proc, 200)
        copy = tmp_path / "backups" / "site-backup.sqlite3"
        report = backup(url, copy)  # the writer keeps going meanwhile
        after = read_ids(proc, 100)  # ...and went on writing after the backup
    finally:
        written = kill(proc)
    assert report.revision == head_revision()
    assert integrity(copy) == ["ok"]
    assert not Path(str(copy) + "-wal").exists()  # one self-contained file
    in_backup = stored_ids(copy)
    assert set(before) <= in_backup  # everything committed before the backup started is in it
    assert report.rows["turns"] == len(in_backup)
    everything = stored_ids(path)
    assert set(before + after + written) <= everything
    assert in_backup < everything  # a snapshot of one instant, not the later writes

    restored = restore(copy, url)  # the writer is dead: replace the live database with the snapshot
    assert restored.rows["turns"] == len(in_backup)
    assert stored_ids(path) == in_backup
    assert integrity(path) == ["ok"]
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []  # no temp files left
    store = ThreadStore(url)
    try:
        assert store.chain(before[-1]) is not None
        assert store.chain(after[-1]) is None
    finally:
        store.dispose()


def test_restore_into_a_new_location(site, tmp_path):
    url, path = site
    store = ThreadStore(url)
    first, _ = store.add(None, "What is DFSP?")
    store.dispose()
    backup(url, tmp_path / "b.sqlite3")
    elsewhere = tmp_path / "new" / "site.sqlite3"
    restore(tmp_path / "b.sqlite3", f"sqlite:///{elsewhere}")
    store = ThreadStore(f"sqlite:///{elsewhere}")
    try:
        assert store.chain(first) == ["What is DFSP?"]
    finally:
        store.dispose()


@pytest.fixture
def site_with_data(site, tmp_path):
    """A site database with a few threads, and a good backup of it."""
    url, path = site
    store = ThreadStore(url)
    parent = None
    for i in range(200):
        parent, _ = store.add(parent if i % 4 else None, f"question {i} " + "y" * 200)
    store.dispose()
    good = tmp_path / "good.sqlite3"
    backup(url, good)
    return url, path, good


def assert_refused(backup_file: Path, url: str, path: Path, problem: str) -> None:
    ids, before = stored_ids(path), digest(path)
    with pytest.raises(BackupError, match=problem):
        restore(backup_file, url)
    assert digest(path) == before and stored_ids(path) == ids
    assert [p.name for p in path.parent.iterdir() if ".restore-" in p.name] == []


def test_restore_refuses_a_corrupt_backup(site_with_data, tmp_path):
    url, path, good = site_with_data
    data = bytearray(good.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) // page > 5
    data[2 * page : len(data) - page] = os.urandom(len(data) - 3 * page)  # keep page 1 (schema): damage the rest
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(bytes(data))
    assert_refused(corrupt, url, path, "is corrupt")


def test_restore_refuses_a_truncated_backup(site_with_data, tmp_path):
    url, path, good = site_with_data
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    assert_refused(truncated, url, path, "corrupt")


def test_restore_refuses_files_that_are_not_site_databases(site_with_data, tmp_path):
    url, path, _ = site_with_data
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database at all\n" * 50)
    assert_refused(text_file, url, path, "is not a SQLite database")
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    assert_refused(empty, url, path, "is not a SQLite database")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    assert_refused(other, url, path, "is not an oncoguide site database")
    assert_refused(tmp_path / "missing.sqlite3", url, path, "there is no backup file")


def test_postgresql_is_backed_up_with_its_own_tools(tmp_path):
    url = "postgresql+psycopg://oncoguide@db.example/oncoguide"
    with pytest.raises(BackupError, match="pg_dump"):
        backup(url, tmp_path / "b.sqlite3")
    with pytest.raises(BackupError, match="pg_restore"):
        restore(tmp_path / "b.sqlite3", url)
    done = run_cli("backup", str(tmp_path / "b.sqlite3"), env_extra={"ONCOGUIDE_DATABASE_URL": url})
    assert done.returncode == 1 and "pg_dump" in done.stderr


def test_backup_and_restore_commands(site_with_data, tmp_path):
    url, path, _ = site_with_data
    env = {"ONCOGUIDE_DATABASE_URL": url}
    copy = tmp_path / "cli-backup.sqlite3"
    done = run_cli("backup", str(copy), env_extra=env)
    assert done.returncode == 0, done.stderr
    assert "200 turns" in done.stdout and integrity(copy) == ["ok"]

    store = ThreadStore(url)
    later, _ = store.add(None, "asked after the backup")
    store.dispose()

    asked = run_cli("restore", str(copy), env_extra=env, stdin="n\n")  # answering no changes nothing
    assert asked.returncode == 1 and "cancelled" in asked.stderr
    assert later in stored_ids(path)

    done = run_cli("restore", str(copy), "--yes", env_extra=env)
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout and later not in stored_ids(path) and len(stored_ids(path)) == 200

    junk = tmp_path / "junk.sqlite3"
    junk.write_text("hello")
    refused = run_cli("restore", str(junk), "--yes", env_extra=env)
    assert refused.returncode == 1
    assert "is not a SQLite database" in refused.stderr and "Traceback" not in refused.stderr
