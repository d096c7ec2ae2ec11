"""FHIR commands: export the knowledge pack as FHIR R5 (5.0.0) resources; the CDS Hooks feedback report."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from oncoguide.cli.common import fail, open_kb

app = typer.Typer()

fhir_app = typer.Typer(no_args_is_help=True, help="The knowledge pack as FHIR R5 (5.0.0) resources.")
app.add_typer(fhir_app, name="fhir")


def _dump(resource: dict) -> str:
    return json.dumps(resource, ensure_ascii=False, indent=2) + "\n"


@fhir_app.command("export")
def export_cmd(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write one file per resource (<Type>-<id>.json) and bundle.json to this folder "
            "(created if missing). Without it, the Bundle is printed.",
        ),
    ] = None,
) -> None:
    """Export the treatment algorithm (PlanDefinition, ActivityDefinition), the sources (Citation) and the
    computed statistics (Evidence) as FHIR R5 (5.0.0) resources, in one collection Bundle."""
    from oncoguide.fhir import build_export

    ex = build_export(open_kb())
    bundle = ex.bundle()
    if out is None:
        sys.stdout.write(_dump(bundle))
        typer.echo(f"FHIR export: {ex.summary()}", err=True)
        return
    if out.exists() and not out.is_dir():
        fail(f"--out {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for resource in ex.all():
            (out / f"{resource['resourceType']}-{resource['id']}.json").write_text(_dump(resource), encoding="utf-8")
        (out / "bundle.json").write_text(_dump(bundle), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the export to {out}: {exc.strerror or exc}", 1)
    typer.echo(f"wrote {ex.summary()} to {out} (one file each, and bundle.json)")


cds_app = typer.Typer(no_args_is_help=True, help="The CDS Hooks service (POST /cds-services/oncoguide-sarcoma).")
app.add_typer(cds_app, name="cds")


class FeedbackFormat(str, Enum):
    text = "text"
    json = "json"


@cds_app.command("feedback")
def feedback_cmd(
    fmt: Annotated[FeedbackFormat, typer.Option("--format", help="Output format.")] = FeedbackFormat.text,
) -> None:
    """Cards issued by the CDS Hooks service per patient group, how many clinicians accepted or overrode,
    and the override reasons they gave."""
    from oncoguide.cli.common import existing_site

    site = existing_site()
    rows = site.cds.summary() if site is not None else []
    if fmt == FeedbackFormat.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        typer.echo("No CDS Hooks cards have been issued yet.")
        return
    typer.echo(f"{'condition':<10}{'patient group':<40}{'issued':>8}{'accepted':>10}{'overridden':>12}")
    for r in rows:
        typer.echo(
            f"{r['condition']:<10}{(r['group'] or '(asks for a fact, or warns)'):<40}{r['issued']:>8}"
            f"{r['accepted']:>10}{r['overridden']:>12}"
        )
        for reason, n in sorted(r["reasons"].items(), key=lambda kv: -kv[1]):
            typer.echo(f"{'':<10}  overridden because: {reason} ({n})")
