"""oncoguide evidence: study tables, pooled results, comparisons and the forest plot."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from oncoguide.cli.common import fail, open_kb

app = typer.Typer()


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

    from oncoguide.engine.render import evidence_text
    from oncoguide.evidence.report import topic_report

    kb = open_kb()
    ev = kb.evidence
    if topic is None:
        for t in ev.topics.values():
            typer.echo(f"{t.id:<28} {t.title}")
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
