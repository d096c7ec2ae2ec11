"""oncoguide recommend and oncoguide groups: the treatment algorithm."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from oncoguide.cli.common import fail, open_kb

app = typer.Typer()


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
    metastases: Annotated[
        str | None, typer.Option(help="none, regional-nodes, oligometastatic or disseminated.")
    ] = None,
    recurrence: Annotated[str | None, typer.Option(help="primary or recurrent.")] = None,
    morbidity: Annotated[str | None, typer.Option(help="GIST: minimal or significant.")] = None,
    progression: Annotated[str | None, typer.Option(help="GIST: yes or no.")] = None,
    margins: Annotated[str | None, typer.Option(help="DFSP: not-excised, negative or positive.")] = None,
    subtype: Annotated[str | None, typer.Option(help="DFSP: classic or fibrosarcomatous.")] = None,
    mutation: Annotated[
        str | None,
        typer.Option(
            help="Tumour genotype: kit, kit-exon9, pdgfra, pdgfra-d842v, sdh-deficient, ntrk, braf-v600e, unknown."
        ),
    ] = None,
    fhir: Annotated[
        Path | None,
        typer.Option(
            "--fhir",
            help="A FHIR Bundle (JSON file, or - for standard input) describing the patient, instead of "
            "a vignette and criteria.",
            dir_okay=False,
        ),
    ] = None,
    fmt: Annotated[RecFormat, typer.Option("--format", help="Output format.")] = RecFormat.text,
) -> None:
    """Find the patient group and its recommended treatments from a vignette and/or criteria, or from a
    FHIR Bundle (--fhir)."""
    import json

    from oncoguide.algorithm.groups import CriteriaError
    from oncoguide.engine.render import recommendation_text
    from oncoguide.engine.understand import InputError
    from oncoguide.fhir.patient import FhirInputError, recommend_fhir

    kb = open_kb()
    criteria = dict(
        site=site,
        stage=stage,
        resectable=resectable,
        metastases=metastases,
        recurrence=recurrence,
        morbidity=morbidity,
        progression=progression,
        margins=margins,
        subtype=subtype,
        mutation=mutation,
    )
    if fhir is not None:
        if vignette is not None or condition is not None or any(v is not None for v in criteria.values()):
            fail("--fhir describes the patient by itself; leave out the vignette and the criteria")
        record = read_json_file(fhir)
    elif vignette is None and condition is None:
        fail("describe the patient (a vignette) or give --condition and criteria")
    try:
        rec = (
            recommend_fhir(kb, record) if fhir is not None else kb.recommend(vignette, condition=condition, **criteria)
        )
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
        typer.echo(f"{g.id:<40} {g.label}")
