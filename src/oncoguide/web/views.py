"""Jinja2 templates and the small helpers they use. Templates format; they never decide content."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from oncoguide.engine.references import Link, reference_parts
from oncoguide.engine.references import source_links as source_links_of
from oncoguide.evidence.pictures import IconArray, icon_array_svg
from oncoguide.web.static_files import static_url
from oncoguide.web.worldmap import BANDS, band, legend, shown

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")  # autoescaping is on for .html

AUDIENCES = {"clinician": "Clinician", "patient": "Patient or caregiver"}
EXAMPLES = [
    "Stage 4 dermatofibrosarcoma protuberans (DFSP): what is the prognosis, and how is it treated?",
    "How often does DFSP come back after Mohs surgery?",
    "Does imatinib work for DFSP that cannot be removed?",
    "Is DFSP inherited or contagious?",
    "What is the first-line treatment for metastatic GIST?",
    "Should radiotherapy be given before surgery for a thigh sarcoma?",
]
REVIEW_STEPS = ["Submitted", "Under review", "Approved"]


def render(request, name: str, status: int = 200, token: str | None = None, **context):
    """A page from its template, with the CSRF token and the signed-in user (sets the anonymous CSRF cookie).

    `token`: what to write for the CSRF token instead (a cached page writes a placeholder, web/caching.py).
    """
    from oncoguide.web.auth import CSRF_COOKIE, csrf_token, session_of, set_cookie

    new = False
    if token is None:
        token, new = csrf_token(request)
    session = session_of(request)
    context.update(csrf=token, me=session.user if session else None, CONDITIONS=condition_names(request))
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if new:
        set_cookie(request, response, CSRF_COOKIE, token)
    return response


def condition_names(request) -> dict[str, str]:
    """Each condition's slug and the name its page heading shows, from the pack's lexicon (in its order)."""
    return {slug: c.display for slug, c in request.app.state.site.kb.contents.lexicon.conditions.items()}


def reference_html(ref) -> Markup:
    """A reference as the page lists it, with its PubMed/DOI links: the one formatter's HTML."""
    return reference_parts(ref).html()


def reference_preview(ref) -> Markup:
    """A reference's preview card (title, journal, year, level, links): the one formatter's."""
    return reference_parts(ref).preview()


def source_links(item) -> tuple[Link, ...]:
    """Where a library excerpt's document can be read (PubMed, else the DOI), from the one link builder."""
    return source_links_of(item.pmid, item.doi)[:1]


def review_status(article) -> dict | None:
    """The status steps readers see: Submitted / Under review / Approved, and who approved it.

    None when there is no article in the site database (a refusal, or a variant asked before articles
    were made for every audience): a status no reviewer can change would not be true.
    """
    from oncoguide.site.review import LABELS

    if article is None:
        return None
    status = article.status
    reached = {
        "submitted": 1,
        "changes-requested": 1,
        "under-review": 2,
        "needs-re-review": 3,
        "approved": 3,
        "retracted": 1,
    }[status]
    current = {
        "submitted": "Submitted",
        "changes-requested": "Submitted",
        "under-review": "Under review",
        "approved": "Approved",
        "needs-re-review": "Approved",
        "retracted": "Submitted",
    }[status]
    return {
        "steps": [(name, i < reached) for i, name in enumerate(REVIEW_STEPS)],
        "current": current,
        "status": status,
        "label": LABELS[status],
        "reviewed": status == "approved",
        "approval": article.approval,
        "article_id": article.id,
    }


def reviewer_name(approval: dict) -> str:
    """Who approved an article, as readers see it: "Dr A Ruiz, MD PhD (reviewer, Hospital Clínic)"."""
    name = approval["display_name"]
    if approval.get("credentials"):
        name += f", {approval['credentials']}"
    about = ", ".join(x for x in (approval["role"], approval.get("affiliation")) if x)
    return f"{name} ({about})"


# a group's steps are shown by phase, in the order treatment happens (the pack lists them by importance)
PHASES = {
    "neoadjuvant": "Before the main treatment (neoadjuvant)",
    "primary": "Main treatment",
    "adjuvant": "After the main treatment (adjuvant)",
    "on-progression": "If the disease grows",
    "palliative": "Palliative care",
}


def by_phase(steps) -> list[tuple[str, list]]:
    """Steps grouped by timing in treatment order, each group keeping the pack's order."""
    groups: dict[str, list] = {timing: [] for timing in PHASES}
    for st in steps:
        groups.setdefault(st.timing, []).append(st)
    return [(PHASES.get(timing, timing.replace("-", " ").capitalize()), sts) for timing, sts in groups.items() if sts]


def group_page(section) -> str | None:
    """The treatment-algorithm page of the patient group an answer's algorithm section is about: its steps'
    statements are named group:<id>:step:<n> (engine/compose.py)."""
    for st in section.statements:
        kind, _, rest = st.claim_id.partition(":")
        if kind == "group" and rest:
            return f"/algorithm/groups/{rest.split(':step:')[0]}"
    return None


def first_upper(text: str) -> str:
    """The first letter upper case, the rest as written (Jinja's capitalize would turn "AJCC" into "Ajcc")."""
    return text[:1].upper() + text[1:]


def pct(p: float, digits: int = 1) -> str:
    return f"{100 * p:.{digits}f}%"


def icon_array(figure: IconArray) -> Markup:
    """A figure's 100 people as inline SVG (drawn from numbers only, so nothing in it needs escaping)."""
    return Markup(icon_array_svg(figure))


def describe(text: str, limit: int = 155) -> str:
    """A page's meta description from its text: whitespace collapsed, cut at a word within `limit` characters."""
    words = " ".join(str(text).split())
    if len(words) <= limit:
        return words
    return words[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


templates.env.globals.update(
    AUDIENCES=AUDIENCES, MAP_KEY=legend(), MAP_BANDS=BANDS, icon_array_svg=icon_array, static=static_url
)


def marked(text: str, marks) -> Markup:
    """Text with the given [start, end) spans wrapped in <mark>, everything escaped."""
    out, last = [], 0
    for a, b in sorted(marks):
        if a < last or b > len(text):
            continue
        out += [escape(text[last:a]), Markup("<mark>"), escape(text[a:b]), Markup("</mark>")]
        last = b
    out.append(escape(text[last:]))
    return Markup("").join(out)


templates.env.filters.update(
    describe=describe,
    marked=marked,
    pct=pct,
    reviewer_name=reviewer_name,
    by_phase=by_phase,
    first_upper=first_upper,
    group_page=group_page,
    reference_html=reference_html,
    reference_preview=reference_preview,
    source_links=source_links,
    map_band=band,
    members_shown=shown,
)
