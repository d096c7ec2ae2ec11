"""oncoguide review: editorial review of answers."""

from __future__ import annotations

import typer

from oncoguide.cli.common import open_site

app = typer.Typer(no_args_is_help=True, help="Editorial review of answers.")


@app.command("refresh")
def review_refresh() -> None:
    """Flag approved articles whose claims, sources or statistics changed in the pack as needing re-review."""
    flagged = open_site().reviews.refresh()
    typer.echo(f"{flagged} approved article(s) now need re-review")
