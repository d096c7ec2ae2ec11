"""oncoguide build and oncoguide pack check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oncoguide.cli.common import fail
from oncoguide.cli.common import settings as current_settings

app = typer.Typer()
pack_app = typer.Typer(no_args_is_help=True, help="Validate and build the knowledge pack.")
app.add_typer(pack_app, name="pack")


@app.command("build")
def build_cmd(
    force: Annotated[bool, typer.Option(help="Rebuild even when the pack has not changed.")] = False,
) -> None:
    """Build the embedded SQLite knowledge base from the pack (done automatically on first use)."""
    import time

    from oncoguide.kb import is_stale
    from oncoguide.pack.build import build
    from oncoguide.pack.load import PackError

    settings = current_settings()
    if not force and not is_stale(settings):
        typer.echo(f"up to date: {settings.db}")
        return
    t0 = time.perf_counter()
    try:
        report = build(Path(settings.pack_dir), Path(settings.db))
    except PackError as exc:
        fail(str(exc), 1)
    typer.echo(
        f"built {report.path}: {report.sources} sources, {report.claims} claims, "
        f"{report.citations} citations, {report.conflicts} conflicts "
        f"in {time.perf_counter() - t0:.2f} s"
    )


@pack_app.command("check")
def pack_check(
    pack_dir: Annotated[Path | None, typer.Option(help="Pack directory (default: the installed pack).")] = None,
) -> None:
    """Validate every pack file; list each problem with its file, line, entry and field."""
    from oncoguide.pack.load import PackError, load_pack

    directory = pack_dir or current_settings().pack_dir
    try:
        pack = load_pack(Path(directory))
    except PackError as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        typer.echo(f"{len(exc.problems)} problem(s) found in {directory}", err=True)
        raise typer.Exit(1) from None
    for p in pack.pending:
        typer.echo(f"pending: {p}", err=True)
    if pack.pending:
        ids = len({p.entry for p in pack.pending})
        typer.echo(
            f"{ids} source(s) listed in pending-sources.yaml still lack a verified identifier or address", err=True
        )
    typer.echo(
        f"ok: {len(pack.sources)} sources, {len(pack.claims)} claims, {len(pack.conflicts)} conflicts, "
        f"{len(pack.faqs)} FAQs, {len(pack.sections)} sections"
    )
