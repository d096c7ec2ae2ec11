"""A throwaway PostgreSQL cluster for the library benchmarks: the tests' own (tests/pgserver.py), and the
databases and sizes the benchmarks need in it.

    with cluster() as admin_url:          # raises Unavailable("...") when it cannot run here
        url = create_database(admin_url, "bench_1")
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for tests.pgserver
from tests import pgserver  # noqa: E402


class Unavailable(RuntimeError):
    """PostgreSQL cannot be run, or could not be started, here; the benchmarks report it and go on."""


@contextmanager
def cluster():
    """The tests' throwaway cluster (tests/pgserver.py), with either failure reported as Unavailable."""
    try:
        with pgserver.cluster("oncoguide-pg-bench-") as url:
            yield url
    except (pgserver.Unavailable, pgserver.StartFailed) as exc:
        raise Unavailable(str(exc)[:500]) from None


def _admin(admin_url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    return f"host={u.host} port={u.port} user={u.username} dbname={u.database}"


def create_database(admin_url: str, name: str) -> str:
    """A new empty database in the cluster; returns its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(_admin(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_admin(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


LIBRARY_TABLES = ("library_documents", "library_passages", "library_files", "library_terms", "library_stats")


def library_bytes(engine) -> int:
    """The library's tables with their indexes and TOAST on PostgreSQL."""
    from sqlalchemy import text

    with engine.connect() as conn:
        sizes = " + ".join(f"pg_total_relation_size('{t}')" for t in LIBRARY_TABLES)
        return int(conn.execute(text(f"SELECT {sizes}")).scalar_one())
