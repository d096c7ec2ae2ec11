"""What every command shares: the audience and format choices, errors, opening the knowledge base and the site."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer


class Audience(str, Enum):
    clinician = "clinician"
    patient = "patient"


class Format(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def open_kb():
    from oncoguide.kb import KnowledgeBase
    from oncoguide.pack.problems import PackError

    try:
        kb = KnowledgeBase.open()
        kb.library = existing_site
        return kb
    except PackError as exc:
        fail(str(exc), 1)
    except OSError as exc:
        fail(f"cannot open the knowledge base: {exc}", 1)


def existing_site():
    """The site database's engine if one exists (it holds the library); None rather than creating one."""
    from oncoguide.settings import Settings

    url = Settings().database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return open_site()


def open_site():
    from oncoguide.settings import Settings
    from oncoguide.site.db import connect

    return connect(Settings().database_url)


def open_accounts():
    from oncoguide.site.accounts import Accounts

    return Accounts(open_site())

