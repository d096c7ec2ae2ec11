"""oncoguide users: accounts, roles and API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from oncoguide.cli.common import fail, open_accounts

app = typer.Typer(no_args_is_help=True, help="Accounts: add, list, change role, disable, API tokens.")


@app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name: 3-32 lower-case letters a-z, digits, '.', '-' or '_'.")],
    role: Annotated[str, typer.Option(help="reader, contributor, moderator, reviewer, editor or admin.")] = "reader",
    name: Annotated[str | None, typer.Option(help="Display name shown with reviews (default: the username).")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Add an account (the password is asked for, hidden, unless --password-stdin)."""
    from oncoguide.site.accounts import AccountError

    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    try:
        user = open_accounts().add(username, name or username, role, password)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"added {user.username} ({user.role})")


@app.command("list")
def users_list() -> None:
    """List the accounts with their roles."""
    for u in open_accounts().list():
        typer.echo(f"{u.username:<24} {u.role:<12} {'disabled' if u.disabled else 'active':<9} {u.display_name}")


@app.command("set-role")
def users_set_role(username: Annotated[str, typer.Argument()], role: Annotated[str, typer.Argument()]) -> None:
    """Change an account's role."""
    from oncoguide.site.accounts import AccountError

    try:
        user = open_accounts().set_role(username, role)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"{user.username} is now {user.role}")


@app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument()],
    enable: Annotated[bool, typer.Option(help="Enable the account again instead.")] = False,
) -> None:
    """Disable an account (its sessions end and its API tokens are revoked), or --enable it again."""
    from oncoguide.site.accounts import AccountError

    try:
        user = open_accounts().set_disabled(username, not enable)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"{user.username} is {'disabled' if user.disabled else 'enabled'}")


@app.command("token")
def users_token(
    username: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="What the token is for (unique among the user's active tokens).")] = "api",
    revoke: Annotated[
        str | None, typer.Option("--revoke", metavar="NAME", help="Revoke the user's token of this name instead.")
    ] = None,
) -> None:
    """Create an API token for the JSON API (shown once; only its hash is stored), or --revoke one by name."""
    from oncoguide.site.accounts import AccountError

    accounts = open_accounts()
    try:
        if revoke is not None:
            count = accounts.revoke_token(username, revoke)
            typer.echo(f"revoked {count} token{'s' if count > 1 else ''} named '{revoke}' of {username}")
            return
        typer.echo(accounts.create_token(username, name))
    except AccountError as exc:
        fail(str(exc))


@app.command("tokens")
def users_tokens(username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None) -> None:
    """List API tokens: user, name, created, last used (to the minute) and whether revoked."""
    from oncoguide.site.accounts import AccountError

    try:
        tokens = open_accounts().tokens(username)
    except AccountError as exc:
        fail(str(exc))
    for t in tokens:
        used = t.last_used.strftime("%Y-%m-%d %H:%M") if t.last_used else "never"
        typer.echo(
            f"{t.username:<24} {t.name:<20} created {t.created:%Y-%m-%d %H:%M}  last used {used:<16}  "
            f"{'revoked' if t.revoked else 'active'}"
        )
