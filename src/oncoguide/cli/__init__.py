"""The command line: a thin layer that parses input, calls the KnowledgeBase or the Site, and renders.

Each command group is a module with its own typer app; this package registers them all."""

from __future__ import annotations

import typer

from oncoguide.cli import algorithm, answers, common, db, evidence, fhir, library, pack, review, serve, users

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="oncoguide: cited answers about DFSP and soft-tissue sarcoma, offline.",
)
# each module's app holds its top-level commands (ask, build, ingest, ...) and its groups (pack, db, fhir, ...)
for module in (answers, algorithm, evidence, serve, pack, db, library, fhir):
    app.add_typer(module.app)
app.add_typer(users.app, name="users")
app.add_typer(review.app, name="review")


@app.callback()
def start() -> None:
    common.begin()  # the one Settings of this run, read before any command


def main() -> None:
    app()
