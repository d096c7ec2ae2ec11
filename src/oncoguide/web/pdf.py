"""HTML to PDF on the server, with WeasyPrint: offline, from the page's own HTML and stylesheets.

WeasyPrint would fetch any image, stylesheet or font a document names; the handout names none, and the fetcher
below refuses every address anyway, so a PDF never reaches the network (or a file) whatever its text holds.
Fonts are the system's (fontconfig: DejaVu or Liberation from Debian's packages), never a web font.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _no_fetching():
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=frozenset(), allow_redirects=False)


def pdf_from_html(html: str, stylesheets: tuple[str, ...] = ("print.css",)) -> bytes:
    """The PDF of an HTML document, styled by the named files of static/ (read here, not fetched)."""
    from weasyprint import CSS, HTML

    fetcher = _no_fetching()
    sheets = [CSS(string=(STATIC / name).read_text(encoding="utf-8"), url_fetcher=fetcher) for name in stylesheets]
    return HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=sheets)
