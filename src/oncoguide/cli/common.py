"""What every command shares: the audience and format choices, errors, opening the knowledge base and the site."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from oncoguide.settings import Settings
    from oncoguide.site import Site


class Audience(str, Enum):
    clinician = "clinician"
    patient = "patient"


class Format(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# The one Site (and its Settings) of this command run: made by the app's callback (cli/__init__.py) before
# each command, so a run reads the environment once, and each run in a test process reads it afresh.
_site: Site | None = None


def begin() -> Site:
    """Read the settings for this command run; the knowledge base and the site database open on first use."""
    global _site
    from oncoguide.settings import Settings
    from oncoguide.site import Site

    _site = Site(Settings())
    return _site


def current() -> Site:
    """This run's Site (made on demand when a command is called without the app's callback)."""
    return _site if _site is not None else begin()


def settings() -> Settings:
    return current().settings


def open_site() -> Site:
    """This run's Site, its knowledge base opened (failing with the reason when the pack is broken)."""
    open_kb()
    return current()


def open_kb():
    from oncoguide.pack.problems import PackError

    try:
        return current().kb
    except PackError as exc:
        fail(str(exc), 1)
    except OSError as exc:
        fail(f"cannot open the knowledge base: {exc}", 1)


def existing_site() -> Site | None:
    """This run's Site if its database exists (it holds the library); None rather than creating one."""
    site = current()
    return site if site.exists() else None


def open_accounts():
    return current().accounts
