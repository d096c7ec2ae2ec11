"""Each output format renders the same answer: text for terminals, Markdown, and JSON."""

from __future__ import annotations

import json
import re

import pytest

from oncoguide.engine.render import render
from tests.conftest import FLAGSHIP, run_cli


@pytest.fixture(scope="module")
def flagship(kb):
    return kb.ask(FLAGSHIP)


def test_json_has_documented_fields(flagship):
    data = json.loads(render(flagship, "json"))
    for key in (
        "question",
        "in_scope",
        "audience",
        "title",
        "bottom_line",
        "sections",
        "references",
        "conflicts",
        "follow_up_questions",
        "reading_grade",
    ):
        assert key in data
    st = data["sections"][0]["statements"][0]
    assert isinstance(st["text"], str) and all(isinstance(n, int) for n in st["citations"])
    ref = data["references"][0]
    assert set(ref) >= {"n", "id", "title", "authors", "journal", "year", "pmid", "doi", "url", "type", "level"}


def test_text_has_headings_citations_and_references(flagship):
    text = render(flagship, "text")
    for sec in flagship.sections:
        assert sec.heading in text
    assert re.search(r"\[\d+(,\d+)*\]", text)
    assert "References" in text and "PMID" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_markdown_footnotes_resolve(flagship):
    md = render(flagship, "markdown")
    used = set(re.findall(r"\[\^(\d+)\](?!:)", md))
    defined = set(re.findall(r"^\[\^(\d+)\]:", md, flags=re.M))
    assert used and used <= defined
    assert md.startswith("# ")


def test_unknown_format_is_refused(flagship):
    with pytest.raises(ValueError, match="unknown format"):
        render(flagship, "pdf")


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_cli_formats(fmt, tmp_path):
    res = run_cli("ask", "Is DFSP hereditary?", "--format", fmt, "--audience", "patient", db=tmp_path / "kb.sqlite3")
    assert res.returncode == 0, res.stderr
    if fmt == "json":
        data = json.loads(res.stdout)
        assert data["audience"] == "patient" and data["in_scope"]
    else:
        assert "hereditary" not in res.stderr and len(res.stdout) > 200
    assert (tmp_path / "kb.sqlite3").exists()  # built on first use


def test_fast_to_dict_equals_dataclasses_asdict(kb):
    import dataclasses

    from tests.conftest import FLAGSHIP

    answer = kb.ask(FLAGSHIP)
    assert answer.to_dict() == dataclasses.asdict(answer)
    rec = kb.recommend("metastatic GIST of the stomach progressing on imatinib")
    expected = dataclasses.asdict(rec)
    expected.pop("raw_steps")
    assert rec.to_dict() == expected
