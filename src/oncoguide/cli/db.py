"""oncoguide db upgrade, backup and restore: the site database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oncoguide.cli.common import fail, settings

app = typer.Typer()


db_app = typer.Typer(no_args_is_help=True, help="Manage the site database (threads, accounts, reviews).")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the site database to the newest schema (Alembic migrations; also done at every start)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from oncoguide.site.db import upgrade

    url = settings().database_url
    try:
        revision = upgrade(url)
    except SQLAlchemyError as exc:
        fail(f"cannot upgrade the site database: {exc}", 1)
    typer.echo(f"site database {make_url(url).render_as_string(hide_password=True)} is at revision {revision}")


@app.command("backup")
def backup_cmd(
    path: Annotated[Path, typer.Argument(help="File to write the backup to (replaced if it exists).")],
) -> None:
    """Copy the SQLite site database to a file, consistently, while the site keeps running."""
    from oncoguide.site.backup import BackupError, backup

    try:
        report = backup(settings().database_url, path)
    except BackupError as exc:
        fail(str(exc), 1)
    typer.echo(f"backed up the site database to {path}: {report.describe()}")


@app.command("restore")
def restore_cmd(
    path: Annotated[Path, typer.Argument(help="A backup made by `oncoguide backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the site database without asking.")] = False,
) -> None:
    """Replace the SQLite site database with a checked backup (stop the server first)."""
    from oncoguide.site.backup import BackupError, check_backup, restore, sqlite_path

    url = settings().database_url
    try:
        target = sqlite_path(url)
        check_backup(path)
    except BackupError as exc:
        fail(str(exc), 1)
    if not yes and not typer.confirm(f"Replace the site database {target} with {path}?", default=False):
        fail("restore cancelled; the site database is unchanged", 1)
    try:
        report = restore(path, url)
    except BackupError as exc:
        fail(f"{exc}; the site database is unchanged", 1)
    typer.echo(f"restored {target} from {path}: {report.describe()}")


import oncoguide.cli.fhir  # noqa: E402,F401  (registers fhir export)
import oncoguide.cli.library  # noqa: E402,F401  (registers ingest, documents, search, claims)
