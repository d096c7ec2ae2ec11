"""One of each: the text, HTML and CDS-card renderings of a reference come from the same parts, and no module
reaches into another module's private (underscore) names."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

from oncoguide.engine.references import doi_url, pubmed_url, reference_parts
from oncoguide.engine.render import reference_line
from oncoguide.fhir.cards import md
from oncoguide.web.views import reference_html

SRC = Path(__file__).parent.parent / "src" / "oncoguide"


def _visible(markup: str) -> str:
    """What a reader sees of an HTML fragment: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def _unmarked(markdown: str) -> str:
    """Card Markdown without its escapes and link targets."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"\]\([^)]*\)", "]", markdown))


def test_text_html_and_card_carry_the_same_reference(kb):
    sources = list(kb.contents.sources.values())
    assert any(s.pmid for s in sources) and any(s.doi for s in sources)
    for src in sources:
        parts = reference_parts(src)
        text = reference_line(src)
        page = str(reference_html(src))
        card = parts.markdown(md)
        shown = {"text": text, "html": _visible(page), "card": _unmarked(card)}
        expected = [
            src.authors.rstrip("."),
            src.title.rstrip("."),
            str(src.year),
            src.journal or "",
            src.pmid or "",
            src.doi or "",
        ]
        for name, rendering in shown.items():
            for value in expected:
                assert value in rendering, (src.id, name, value)
        # one link builder: the page and the card point to the same addresses
        for url in [pubmed_url(src.pmid)] * bool(src.pmid) + [doi_url(src.doi)] * bool(src.doi):
            assert f'href="{html.escape(url)}"' in page and f"({url})" in card, (src.id, url)
        # "et al." is not followed by a second period in any rendering
        for name, rendering in shown.items():
            assert ".." not in rendering, (src.id, name)


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            modules = (node.module or "").split(".")
            names = [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [part for a in node.names for part in a.name.split(".")]
            names = []
        else:
            continue
        for name in modules + names:
            if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                found.append(f"{path.relative_to(SRC.parent)}:{node.lineno} imports {name}")
    return found


def test_no_module_imports_a_private_name_from_another():
    found = [hit for path in sorted(SRC.rglob("*.py")) for hit in _private_imports(path)]
    assert not found, "\n".join(found)
