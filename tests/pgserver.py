"""A throwaway PostgreSQL cluster, for the tests' `postgres_cluster` fixture and the library benchmarks.

    with cluster() as admin_url:   # Unavailable: it cannot run here; StartFailed: it was tried and failed
        ...

As root, initdb and the server run as the `postgres` OS user (PostgreSQL refuses to run as root):
subprocess's user= and group= switch to it directly, so the server is our child and stops on our signal.
The data is thrown away, so durability is switched off.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=100")


class Unavailable(RuntimeError):
    """PostgreSQL cannot be run here (not installed, no `postgres` user); the message says why."""


class StartFailed(RuntimeError):
    """initdb or the server was started and failed; the message holds its output."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The directory of the newest installed PostgreSQL server binaries (Debian layout), or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def stop_with_parent():
    """For the server's preexec_fn (it runs after the switch to the postgres user): if our process dies,
    the server gets SIGINT (PostgreSQL's fast shutdown) rather than living on as an orphan. prctl is
    looked up here, in our process: the child must not import anything."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGINT)  # 1: PR_SET_PDEATHSIG


@contextmanager
def cluster(prefix: str = "oncoguide-pg-") -> Iterator[str]:
    """Yields the URL of the cluster's maintenance database; the server and its files go afterwards."""
    bindir = postgres_bin()
    if bindir is None:
        raise Unavailable("PostgreSQL is not installed (no initdb; `make postgresql` installs the Debian package)")
    as_user: dict = {}
    base = Path(tempfile.mkdtemp(prefix=prefix))  # not under pytest's basetemp: that is 0700 root
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
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        init = subprocess.run(
            [*initdb, "--locale=C", "--no-sync"], capture_output=True, text=True, timeout=120, **as_user
        )
        if init.returncode != 0:
            raise StartFailed(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        sockets.mkdir()
        if as_user:
            os.chown(sockets, as_user["user"], as_user["group"])
        port = free_port()
        options = [a for s in ("listen_addresses=127.0.0.1", *SETTINGS) for a in ("-c", s)]
        # the log goes to a file: a pipe nobody reads fills up (the hostile-input tests log many errors) and
        # then blocks every server process that writes a line, the checkpointer included
        log_path = base / "server.log"
        try:
            with open(log_path, "w") as log_file:
                server = subprocess.Popen(
                    [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets), *options],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    preexec_fn=stop_with_parent(),
                    **as_user,
                )
        except (OSError, subprocess.SubprocessError) as exc:
            raise StartFailed(f"cannot start PostgreSQL: {exc}") from None
        try:
            _wait(server, port, log_path)
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            server.terminate()  # SIGTERM: "smart" shutdown once the clients have gone
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
                raise StartFailed(f"PostgreSQL did not start:\n{log_path.read_text(errors='replace')}") from None
            time.sleep(0.05)
