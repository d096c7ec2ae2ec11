"""Whether the site database may have changed: for SQLite, its data_version on a connection of this
process's own, which changes whenever any other connection (in this process or another) commits.

The answer page asks the review tables for its article's state on every view; with this it asks only
when something was written since, and a page view costs no query while nothing is (reading the
number takes microseconds, the query a tenth of a millisecond). PostgreSQL has no such number: there
the state is always read.
"""

from __future__ import annotations

import sqlite3
import threading


class DataVersion:
    def __init__(self, url: str):
        self._conn: sqlite3.Connection | None = None
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
        if path and path != ":memory:":
            # never written on; autocommit, so each read sees every commit made before it
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()

    def current(self) -> int | None:
        """A number that differs from every earlier one returned after anything was committed to the
        database in between; None when that cannot be known (PostgreSQL, an in-memory database)."""
        if self._conn is None:
            return None
        with self._lock:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
