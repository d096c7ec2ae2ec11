"""A throwaway PostgreSQL cluster for the library benchmarks, started as tests/conftest.py's
`postgres_cluster` fixture does (same binaries lookup, same settings, as the `postgres` OS user when root).

    with cluster() as admin_url:          # raises Unavailable("...") when it cannot run here
        url = create_database(admin_url, "bench_1")
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for tests.conftest
from tests.conftest import _postgres_bin, _stop_with_parent, free_port  # noqa: E402

SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")  # as in the tests: throwaway data


class Unavailable(RuntimeError):
    """PostgreSQL cannot be run here; the message says why."""


@contextmanager
def cluster():
    """Yields the URL of the cluster's maintenance database; the cluster and its files go afterwards."""
    bindir = _postgres_bin()
    if bindir is None:
        raise Unavailable("PostgreSQL is not installed (no initdb; `make postgresql` installs it)")
    as_user: dict = {}
    base = Path(tempfile.mkdtemp(prefix="oncoguide-pg-bench-"))
    try:
        if os.geteuid() == 0:
            import pwd

            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no `postgres` OS user to run the server as") from None
            os.chown(base, pw.pw_uid, pw.pw_gid)
            as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        data, sockets = base / "data", base / "run"
        init = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            **as_user,
        )
        if init.returncode != 0:
            raise Unavailable(f"initdb failed: {(init.stderr or init.stdout).strip()[:300]}")
        sockets.mkdir()
        if as_user:
            os.chown(sockets, as_user["user"], as_user["group"])
        port = free_port()
        options = [a for s in SETTINGS for a in ("-c", s)]
        log_path = base / "server.log"  # a file, not a pipe: an unread pipe fills and blocks the server
        try:
            with open(log_path, "w") as log_file:
                server = subprocess.Popen(
                    [
                        str(bindir / "postgres"),
                        "-D",
                        str(data),
                        "-p",
                        str(port),
                        "-k",
                        str(sockets),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        *options,
                        "-c",
                        "max_connections=100",
                    ],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_stop_with_parent(),
                    **as_user,
                )
        except (OSError, subprocess.SubprocessError) as exc:
            raise Unavailable(f"cannot start PostgreSQL: {exc}") from None
        try:
            _wait(server, port, log_path)
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _wait(server: subprocess.Popen, port: int, log_path: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise Unavailable(f"PostgreSQL did not start: {log_path.read_text(errors='replace')[-500:]}") from None
            time.sleep(0.05)


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
