"""Taking an answer away: the patient handout (page and PDF) and the references as RIS and BibTeX files.

Composing an answer is CPU work: these handlers are `def`, run in the thread pool (the PDF's, off_loop).
The copy buttons' texts and the answer's canonical link are set into the answer page's templates from here.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from oncoguide.engine.bibliography import BIBTEX_TYPE, RIS_TYPE, bibtex, citation_list, citation_text, ris
from oncoguide.engine.handout import handout
from oncoguide.pack.readability import grade
from oncoguide.site.threads import answer_turn
from oncoguide.web.guards import IdPath, off_loop
from oncoguide.web.routes.cds_hooks import public_base
from oncoguide.web.views import render, review_status, templates

router = APIRouter(include_in_schema=False)


def answer_link(request: Request, turn: str, audience: str) -> str:
    """The answer's canonical address, as shared or printed: at ONCOGUIDE_PUBLIC_URL when it is set."""
    return f"{public_base(request)}/answer/{turn}?audience={audience}"


templates.env.globals["answer_link"] = answer_link
templates.env.filters.update(citation_text=citation_text, citation_list=citation_list)


def _audience(request: Request) -> str:
    from oncoguide.web.routes.pages import audience_of

    return audience_of(request)


def _answer(request: Request, turn: str, audience: str):
    state = request.app.state
    answer = answer_turn(state.site, state.site.threads, turn, audience) if len(turn) <= 40 else None
    if answer is None:
        raise HTTPException(404)
    return answer


def _handout_context(request: Request, turn: str) -> dict:
    answer = _answer(request, turn, "patient")  # a handout is always in the patients' words
    if not answer.in_scope:
        raise HTTPException(404, "this answer is outside what the knowledge pack covers, so it has no handout")
    h = handout(answer)
    review = review_status(request.app.state.site.reviews.reader_view(answer))
    return {
        "h": h,
        "turn": turn,
        "review": review,
        "today": date.today().isoformat(),
        "link": answer_link(request, turn, "patient"),
        "grade": grade(h.text()),
    }


@router.get("/answer/{turn}/handout", response_class=HTMLResponse)
def handout_page(request: Request, turn: str):
    return render(request, "handout.html", **_handout_context(request, turn))


@router.get("/answer/{turn}/handout.pdf")
async def handout_pdf(request: Request, turn: str):
    """Rendering a PDF takes a second or more of CPU: one at a time per worker process (guards.off_loop), so a
    run of PDF requests cannot hold every thread while the other pages wait."""
    from oncoguide.web.pdf import pdf_from_html

    def build() -> bytes:
        return pdf_from_html(templates.get_template("handout_pdf.html").render(**_handout_context(request, turn)))

    return Response(
        await off_loop(build),
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="oncoguide-handout-{turn}.pdf"'},
    )


def _export(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=f"{media_type}; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def _reference(request: Request, turn: str, n: int):
    refs = [r for r in _answer(request, turn, _audience(request)).references if r.n == n]
    if not refs:
        raise HTTPException(404, f"this answer has no reference {n}")
    return refs


@router.get("/answer/{turn}/references.ris")
def references_ris(request: Request, turn: str):
    refs = _answer(request, turn, _audience(request)).references
    return _export(ris(refs), RIS_TYPE, f"oncoguide-{turn}.ris")


@router.get("/answer/{turn}/references.bib")
def references_bib(request: Request, turn: str):
    refs = _answer(request, turn, _audience(request)).references
    return _export(bibtex(refs), BIBTEX_TYPE, f"oncoguide-{turn}.bib")


@router.get("/answer/{turn}/references/{n}.ris")
def reference_ris(request: Request, turn: str, n: IdPath):
    return _export(ris(_reference(request, turn, n)), RIS_TYPE, f"oncoguide-{turn}-{n}.ris")


@router.get("/answer/{turn}/references/{n}.bib")
def reference_bib(request: Request, turn: str, n: IdPath):
    return _export(bibtex(_reference(request, turn, n)), BIBTEX_TYPE, f"oncoguide-{turn}-{n}.bib")
