"""The command line: a thin layer that parses input, calls the KnowledgeBase and renders."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="oncoguide: cited answers about DFSP and soft-tissue sarcoma, offline.")
pack_app = typer.Typer(no_args_is_help=True, help="Validate and build the knowledge pack.")
app.add_typer(pack_app, name="pack")


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
    from oncoguide.packload import PackError

    try:
        kb = KnowledgeBase.open()
        kb.library = existing_site
        return kb
    except PackError as exc:
        fail(str(exc), 1)
    except OSError as exc:
        fail(f"cannot open the knowledge base: {exc}", 1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in your own words.")],
    audience: Annotated[Audience, typer.Option(help="Who the answer is written for.")] = Audience.clinician,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """Answer a question with cited statements."""
    from oncoguide.render import render
    from oncoguide.understand import InputError

    kb = open_kb()
    try:
        answer = kb.ask(question, audience=audience.value)
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
    from oncoguide.render import render
    from oncoguide.understand import InputError

    kb = open_kb()
    thread = kb.thread(audience.value)
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


class RecFormat(str, Enum):
    text = "text"
    json = "json"


def read_json_file(path: Path, limit: int = 50_000_000):
    """A JSON file (or standard input for '-'), or a one-line error naming the file and the problem."""
    import json

    name = "standard input" if str(path) == "-" else str(path)
    try:
        if str(path) == "-":
            raw = sys.stdin.buffer.read(limit + 1)
        else:
            if path.stat().st_size > limit:
                fail(f"{name}: larger than {limit // 1_000_000} MB")
            raw = path.read_bytes()
    except OSError as exc:
        fail(f"{name}: cannot be read ({exc.strerror or exc})")
    if len(raw) > limit:
        fail(f"{name}: larger than {limit // 1_000_000} MB")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        fail(f"{name}: is not UTF-8 text")
    except json.JSONDecodeError as exc:
        fail(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")


@app.command()
def recommend(
    vignette: Annotated[str | None, typer.Argument(help="The patient in free text (optional).")] = None,
    condition: Annotated[str | None, typer.Option(help="dfsp, sts or gist.")] = None,
    site: Annotated[str | None, typer.Option(help="extremity, trunk, retroperitoneal, ...")] = None,
    stage: Annotated[str | None, typer.Option(help="AJCC 8th edition stage group: I, II, III, IV.")] = None,
    resectable: Annotated[str | None, typer.Option(help="yes or no.")] = None,
    metastases: Annotated[str | None, typer.Option(
        help="none, regional-nodes, oligometastatic or disseminated.")] = None,
    recurrence: Annotated[str | None, typer.Option(help="primary or recurrent.")] = None,
    morbidity: Annotated[str | None, typer.Option(help="GIST: minimal or significant.")] = None,
    progression: Annotated[str | None, typer.Option(help="GIST: yes or no.")] = None,
    margins: Annotated[str | None, typer.Option(help="DFSP: not-excised, negative or positive.")] = None,
    subtype: Annotated[str | None, typer.Option(help="DFSP: classic or fibrosarcomatous.")] = None,
    mutation: Annotated[str | None, typer.Option(
        help="Tumour genotype: kit, kit-exon9, pdgfra, pdgfra-d842v, sdh-deficient, ntrk, braf-v600e, "
             "unknown.")] = None,
    fhir: Annotated[Path | None, typer.Option(
        "--fhir", help="A FHIR Bundle (JSON file, or - for standard input) describing the patient, instead of "
                       "a vignette and criteria.", dir_okay=False)] = None,
    fmt: Annotated[RecFormat, typer.Option("--format", help="Output format.")] = RecFormat.text,
) -> None:
    """Find the patient group and its recommended treatments from a vignette and/or criteria, or from a
    FHIR Bundle (--fhir)."""
    import json

    from oncoguide.algorithm import CriteriaError
    from oncoguide.fhir.patient import FhirInputError
    from oncoguide.render import recommendation_text
    from oncoguide.understand import InputError

    kb = open_kb()
    criteria = dict(site=site, stage=stage, resectable=resectable, metastases=metastases,
                    recurrence=recurrence, morbidity=morbidity, progression=progression, margins=margins,
                    subtype=subtype, mutation=mutation)
    if fhir is not None:
        if vignette is not None or condition is not None or any(v is not None for v in criteria.values()):
            fail("--fhir describes the patient by itself; leave out the vignette and the criteria")
        record = read_json_file(fhir)
    elif vignette is None and condition is None:
        fail("describe the patient (a vignette) or give --condition and criteria")
    try:
        rec = kb.recommend_fhir(record) if fhir is not None else kb.recommend(vignette, condition=condition,
                                                                                **criteria)
    except (CriteriaError, InputError, FhirInputError) as exc:
        fail(str(exc))
    if fmt == RecFormat.json:
        sys.stdout.write(json.dumps(rec.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(recommendation_text(rec))


@app.command()
def groups(
    condition: Annotated[str | None, typer.Option(help="Only groups of this condition: dfsp, sts or gist.")] = None,
    fmt: Annotated[RecFormat, typer.Option("--format", help="Output format.")] = RecFormat.text,
) -> None:
    """List the patient groups of the treatment algorithm."""
    import json

    kb = open_kb()
    if condition is not None and condition not in ("dfsp", "sts", "gist"):
        fail(f"unknown condition '{condition}'; use one of: dfsp, sts, gist")
    if fmt == RecFormat.json:
        data = kb.algorithm.group_summaries(condition)
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    for g in kb.algorithm.group_list(condition):
        typer.echo(f"{g['id']:<40} {g['label']}")


class EvFormat(str, Enum):
    text = "text"
    json = "json"
    svg = "svg"


class By(str, Enum):
    dose = "dose"
    design = "design"
    technique = "technique"


@app.command()
def evidence(
    topic: Annotated[str | None, typer.Argument(help="Evidence topic, e.g. imatinib-dfsp (omit to list).")] = None,
    by: Annotated[By | None, typer.Option(help="Pool and compare by this attribute.")] = None,
    fmt: Annotated[EvFormat, typer.Option("--format", help="text, json, or svg (forest plot).")] = EvFormat.text,
) -> None:
    """Study table, pooled results, comparisons, meta-analysis and forest plot, computed from study data."""
    import json

    from oncoguide.evidence import topic_report
    from oncoguide.render import evidence_text

    kb = open_kb()
    ev = kb.evidence
    if topic is None:
        for t in ev.topics.values():
            typer.echo(f"{t['id']:<28} {t['title']}")
        return
    if topic not in ev.topics:
        fail(f"unknown evidence topic '{topic}'; known: {', '.join(sorted(ev.topics))}")
    if fmt == EvFormat.svg:
        svg = ev.forest_plot(topic)
        if svg is None:
            fail(f"topic '{topic}' has no forest plot")
        sys.stdout.write(svg)
        return
    try:
        rep = topic_report(ev, topic, by.value if by else None)
    except KeyError as exc:
        fail(exc.args[0])
    if fmt == EvFormat.json:
        sys.stdout.write(json.dumps(rep, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(evidence_text(rep))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (2 or more in production).", min=1, max=64)] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve the web application and the JSON API (API docs at /docs)."""
    import uvicorn

    from oncoguide.kb import ensure_built
    from oncoguide.packload import PackError
    from oncoguide.settings import Settings
    from oncoguide.web.cds_auth import ClientsFileError, load_clients
    from oncoguide.web.protocol import GuardedHttpToolsProtocol

    settings = Settings()
    if settings.serving_problem():
        fail(settings.serving_problem(), 1)
    try:
        ensure_built(settings)  # once, here, rather than racing in every worker
        if settings.cds_clients is not None:
            load_clients(settings.cds_clients)  # a broken file stops here, with the reason, not in each worker
    except (PackError, ClientsFileError) as exc:
        fail(str(exc), 1)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"oncoguide is serving on http://{shown}:{port}/  (API docs at /docs; Ctrl-C stops it)")
    # httptools with a head size limit and a deadline for the head (see web/protocol.py); the limits ride on
    # uvicorn's own config fields, which reach every worker process
    uvicorn.run("oncoguide.web.app:factory", factory=True, host=host, port=port, workers=workers,
                access_log=access_log, log_level="warning", server_header=False, http=GuardedHttpToolsProtocol,
                h11_max_incomplete_event_size=settings.max_header_bytes,
                timeout_keep_alive=settings.idle_timeout_seconds)


users_app = typer.Typer(no_args_is_help=True, help="Accounts: add, list, change role, disable, API tokens.")
app.add_typer(users_app, name="users")
review_app = typer.Typer(no_args_is_help=True, help="Editorial review of answers.")
app.add_typer(review_app, name="review")


def existing_site():
    """The site database's engine if one exists (it holds the library); None rather than creating one."""
    from oncoguide.settings import Settings

    url = Settings().database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return open_site()


def open_site():
    from oncoguide.settings import Settings
    from oncoguide.sitedb import connect

    return connect(Settings().database_url)


def open_accounts():
    from oncoguide.accounts import Accounts

    return Accounts(open_site())


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name: 3-32 lower-case letters a-z, digits, '.', '-' or '_'.")],
    role: Annotated[str, typer.Option(help="reader, contributor, moderator, reviewer, editor or admin.")] = "reader",
    name: Annotated[str | None, typer.Option(help="Display name shown with reviews (default: the username).")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Add an account (the password is asked for, hidden, unless --password-stdin)."""
    from oncoguide.accounts import AccountError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        user = open_accounts().add(username, name or username, role, password)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"added {user.username} ({user.role})")


@users_app.command("list")
def users_list() -> None:
    """List the accounts with their roles."""
    for u in open_accounts().list():
        typer.echo(f"{u.username:<24} {u.role:<12} {'disabled' if u.disabled else 'active':<9} {u.display_name}")


@users_app.command("set-role")
def users_set_role(username: Annotated[str, typer.Argument()], role: Annotated[str, typer.Argument()]) -> None:
    """Change an account's role."""
    from oncoguide.accounts import AccountError

    try:
        user = open_accounts().set_role(username, role)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"{user.username} is now {user.role}")


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument()],
    enable: Annotated[bool, typer.Option(help="Enable the account again instead.")] = False,
) -> None:
    """Disable an account (its sessions end and its API tokens are revoked), or --enable it again."""
    from oncoguide.accounts import AccountError

    try:
        user = open_accounts().set_disabled(username, not enable)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"{user.username} is {'disabled' if user.disabled else 'enabled'}")


@users_app.command("token")
def users_token(username: Annotated[str, typer.Argument()],
                name: Annotated[str, typer.Option(help="What the token is for (unique among the user's active "
                                                       "tokens).")] = "api",
                revoke: Annotated[str | None, typer.Option(
                    "--revoke", metavar="NAME", help="Revoke the user's token of this name instead.")] = None) -> None:
    """Create an API token for the JSON API (shown once; only its hash is stored), or --revoke one by name."""
    from oncoguide.accounts import AccountError

    accounts = open_accounts()
    try:
        if revoke is not None:
            count = accounts.revoke_token(username, revoke)
            typer.echo(f"revoked {count} token{'s' if count > 1 else ''} named '{revoke}' of {username}")
            return
        typer.echo(accounts.create_token(username, name))
    except AccountError as exc:
        fail(str(exc))


@users_app.command("tokens")
def users_tokens(username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None) -> None:
    """List API tokens: user, name, created, last used (to the minute) and whether revoked."""
    from oncoguide.accounts import AccountError

    try:
        tokens = open_accounts().tokens(username)
    except AccountError as exc:
        fail(str(exc))
    for t in tokens:
        used = t.last_used.strftime("%Y-%m-%d %H:%M") if t.last_used else "never"
        typer.echo(f"{t.username:<24} {t.name:<20} created {t.created:%Y-%m-%d %H:%M}  last used {used:<16}  "
                   f"{'revoked' if t.revoked else 'active'}")


@review_app.command("refresh")
def review_refresh() -> None:
    """Flag approved articles whose claims, sources or statistics changed in the pack as needing re-review."""
    from oncoguide.review import Reviews

    flagged = Reviews(open_site(), open_kb()).refresh()
    typer.echo(f"{flagged} approved article(s) now need re-review")


@app.command("build")
def build_cmd(
    force: Annotated[bool, typer.Option(help="Rebuild even when the pack has not changed.")] = False,
) -> None:
    """Build the embedded SQLite knowledge base from the pack (done automatically on first use)."""
    import time

    from oncoguide.kb import is_stale
    from oncoguide.packload import PackError
    from oncoguide.settings import Settings
    from oncoguide.store import build

    settings = Settings()
    if not force and not is_stale(settings):
        typer.echo(f"up to date: {settings.db}")
        return
    t0 = time.perf_counter()
    try:
        report = build(Path(settings.pack_dir), Path(settings.db))
    except PackError as exc:
        fail(str(exc), 1)
    typer.echo(f"built {report.path}: {report.sources} sources, {report.claims} claims, "
               f"{report.citations} citations, {report.conflicts} conflicts "
               f"in {time.perf_counter() - t0:.2f} s")


@pack_app.command("check")
def pack_check(
    pack_dir: Annotated[Path | None, typer.Option(help="Pack directory (default: the installed pack).")] = None,
) -> None:
    """Validate every pack file; list each problem with its file, line, entry and field."""
    from oncoguide.packload import PackError, load_pack
    from oncoguide.settings import Settings

    directory = pack_dir or Settings().pack_dir
    try:
        pack = load_pack(Path(directory))
    except PackError as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        typer.echo(f"{len(exc.problems)} problem(s) found in {directory}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ok: {len(pack.sources)} sources, {len(pack.claims)} claims, {len(pack.conflicts)} conflicts, "
               f"{len(pack.faqs)} FAQs, {len(pack.sections)} sections")


db_app = typer.Typer(no_args_is_help=True, help="Manage the site database (threads, accounts, reviews).")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the site database to the newest schema (Alembic migrations; also done at every start)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from oncoguide.settings import Settings
    from oncoguide.sitedb import upgrade

    url = Settings().database_url
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
    from oncoguide.backup import BackupError, backup
    from oncoguide.settings import Settings

    try:
        report = backup(Settings().database_url, path)
    except BackupError as exc:
        fail(str(exc), 1)
    typer.echo(f"backed up the site database to {path}: {report.describe()}")


@app.command("restore")
def restore_cmd(
    path: Annotated[Path, typer.Argument(help="A backup made by `oncoguide backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the site database without asking.")] = False,
) -> None:
    """Replace the SQLite site database with a checked backup (stop the server first)."""
    from oncoguide.backup import BackupError, check_backup, restore, sqlite_path
    from oncoguide.settings import Settings

    url = Settings().database_url
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


import oncoguide.cli_fhir  # noqa: E402,F401  (registers fhir export)
import oncoguide.cli_library  # noqa: E402,F401  (registers ingest, documents, search, claims)


def main() -> None:
    app()
