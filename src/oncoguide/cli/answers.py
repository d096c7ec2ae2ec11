"""oncoguide ask and oncoguide chat."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from oncoguide.cli.common import Audience, Format, fail, open_site

app = typer.Typer()


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in your own words.")],
    audience: Annotated[Audience, typer.Option(help="Who the answer is written for.")] = Audience.clinician,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """Answer a question with cited statements."""
    from oncoguide.engine.render import render
    from oncoguide.engine.understand import InputError

    site = open_site()
    try:
        answer = site.ask(question, audience=audience.value)  # quotes the library when a site database exists
    except InputError as exc:
        fail(str(exc))
    sys.stdout.write(render(answer, fmt.value))


@app.command()
def chat(
    audience: Annotated[Audience, typer.Option(help="Who the answers are written for.")] = Audience.clinician,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """A conversation in the terminal: follow-up questions keep the condition and the patients in view.

    Type a question and press Enter; an empty line or Ctrl-D ends the conversation.
    """
    from oncoguide.engine.render import render
    from oncoguide.engine.understand import InputError

    thread = open_site().thread(audience.value)
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            typer.echo("> ", nl=False)
        line = sys.stdin.readline()
        if not line or not line.strip():
            break
        try:
            answer = thread.ask(line.rstrip("\n"))
        except InputError as exc:
            typer.echo(f"error: {exc}", err=True)
            continue
        sys.stdout.write(render(answer, fmt.value))
        sys.stdout.flush()
