"""Taking an answer away in a real browser (Debian's Chromium driven by Playwright): the copy buttons put the right
text on the clipboard (by mouse and by keyboard), the export links download files a parser reads, the page prints
without its header, navigation and forms and with its links as text, and the handout page reads on a phone.

Set SCREENSHOTS=DIR to save the pages seen.
"""

from __future__ import annotations

import io
import re

import pypdf
import pytest
import rispy

from tests.conftest import ask_live, save_shot
from tests.test_browser import AXE, CHROMIUM, expect  # noqa: F401 (CHROMIUM: the skip below)
from tests.test_browser import pytestmark as needs_chromium

pytestmark = needs_chromium
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def turn(live_server) -> str:
    return ask_live(live_server)


@pytest.fixture
def tab(browser):
    """A tab allowed to read the clipboard back (127.0.0.1 is a secure context, so the page may write it)."""
    context = browser.new_context(
        viewport=PHONE, permissions=["clipboard-read", "clipboard-write"], accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield page
    context.close()
    assert errors == []


def clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def shot(page, name: str) -> None:
    save_shot(page, f"takeaway-{page.viewport_size['width']}-{name}")


def test_copy_link_puts_the_canonical_answer_link_on_the_clipboard(tab, live_server, turn):
    tab.goto(f"{live_server}/answer/{turn}?audience=patient")
    tab.evaluate("navigator.clipboard.writeText('nothing yet')")
    tab.get_by_role("button", name="Copy link").click()
    expect(tab.locator("#takeaway-status")).to_have_text("Link copied.")
    assert clipboard(tab) == f"{live_server}/answer/{turn}?audience=patient"
    shot(tab, "answer")


def test_copy_citation_by_keyboard_copies_the_reference_as_listed(tab, live_server, turn):
    tab.goto(f"{live_server}/answer/{turn}?audience=clinician")
    first = tab.locator("ol.refs > li").first
    button = first.locator("button.copy")
    button.focus()
    tab.keyboard.press("Enter")
    expect(tab.locator("#takeaway-status")).to_have_text("Copied.")
    copied = clipboard(tab)
    listed = first.evaluate(
        "li => Array.from(li.childNodes).filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join(' ')"
    )
    citation = " ".join(listed.split()).rstrip(" ·")
    assert copied.startswith(citation), (copied, citation)
    for ident in re.findall(r"PMID \d+|doi:\S+", first.inner_text()):
        assert ident in copied
    assert "Evidence level" not in copied and "Copy citation" not in copied


def test_copy_all_references_numbers_each_one(tab, live_server, turn):
    tab.goto(f"{live_server}/answer/{turn}?audience=clinician")
    count = tab.locator("ol.refs > li").count()
    tab.get_by_role("button", name="Copy all").click()
    expect(tab.locator("#takeaway-status")).to_have_text("Copied.")
    lines = clipboard(tab).split("\n")
    assert [line.split(". ", 1)[0] for line in lines] == [str(n) for n in range(1, count + 1)]
    assert lines[0] == "1. " + tab.locator("ol.refs > li button.copy").first.get_attribute("data-copy")


def test_export_links_download_files_a_reference_manager_reads(tab, live_server, turn):
    tab.goto(f"{live_server}/answer/{turn}?audience=clinician")
    count = tab.locator("ol.refs > li").count()
    with tab.expect_download() as info:
        tab.get_by_role("link", name="References (RIS)").click()
    download = info.value
    assert download.suggested_filename == f"oncoguide-{turn}.ris"
    with open(download.path(), encoding="utf-8") as f:
        assert len(rispy.load(f)) == count
    with tab.expect_download() as info:
        tab.locator("ol.refs > li").nth(1).get_by_role("link", name="BibTeX file of reference 2").click()
    assert info.value.suggested_filename == f"oncoguide-{turn}-2.bib"


def test_tools_are_large_enough_to_tap_and_fit_a_phone(tab, live_server, turn):
    tab.goto(f"{live_server}/answer/{turn}?audience=patient")
    assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    small = tab.evaluate(
        """() => Array.from(document.querySelectorAll(
              '.takeaway button, .takeaway a, .ref-tools button, .ref-tools a, .refs-tools button, .refs-tools a'))
            .filter(e => e.offsetParent !== null)
            .map(e => [e.textContent.trim(), e.getBoundingClientRect().height])
            .filter(([, h]) => h < 24)"""
    )
    assert small == []


def test_printing_the_answer_leaves_out_header_navigation_and_forms_and_prints_addresses(tab, live_server, turn):
    tab.goto(f"{live_server}/answer/{turn}?audience=patient")
    tab.emulate_media(media="print")
    hidden = tab.evaluate(
        """() => ['header.site', 'nav.audience-switch', '.follow-up', 'form', '.takeaway ul', 'button.copy']
            .map(s => [s, Array.from(document.querySelectorAll(s))
                .every(e => getComputedStyle(e).display === 'none')])"""
    )
    assert all(ok for _, ok in hidden), hidden
    assert tab.locator("article h1").is_visible() and tab.locator("ol.refs").is_visible()
    printed_link = tab.locator(".takeaway .print-link")
    expect(printed_link).to_be_visible()
    assert f"/answer/{turn}?audience=patient" in printed_link.inner_text()
    # an outside link prints its address after it; a PubMed or DOI link already reads as its identifier
    after = tab.evaluate(
        """() => Array.from(document.querySelectorAll('a[href^="http"]'))
            .filter(a => a.closest('.takeaway') === null)
            .map(a => [a.getAttribute('href'), getComputedStyle(a, '::after').content])"""
    )
    assert after
    for href, content in after:
        if href.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://doi.org/")):
            assert content in ("none", "normal"), href
        else:
            assert content == f'" <{href}>"', (href, content)
    tab.emulate_media(media="screen")
    assert tab.locator("header.site").is_visible()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["phone", "desktop"])
def test_handout_page_reads_prints_and_passes_axe(browser, live_server, turn, viewport):
    context = browser.new_context(viewport=viewport, bypass_csp=True)  # axe is injected inline
    page = context.new_page()
    try:
        page.goto(f"{live_server}/answer/{turn}?audience=patient")
        page.get_by_role("link", name="Patient handout").click()
        page.wait_for_url(re.compile(rf"/answer/{turn}/handout$"))
        expect(page.locator("h1")).to_contain_text("dermatofibrosarcoma")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        expect(page.get_by_role("button", name="Print this handout")).to_be_visible()
        link = page.get_by_role("link", name="Download the PDF")
        assert link.get_attribute("href") == f"/answer/{turn}/handout.pdf"
        shot(page, "handout")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert bad == []
        page.emulate_media(media="print")
        assert page.locator(".handout-tools").is_hidden() and page.locator("header.site").is_hidden()
        assert page.locator(".h-refs").is_visible()
        printed = pypdf.PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))  # the browser's own print
        assert 1 <= len(printed.pages) <= 2
        assert "Sources" in printed.pages[-1].extract_text()
    finally:
        context.close()


def test_the_pdf_link_serves_the_pdf(browser, live_server, turn):
    context = browser.new_context(viewport=DESK)
    try:
        r = context.request.get(f"{live_server}/answer/{turn}/handout.pdf")
        assert r.status == 200 and r.headers["content-type"] == "application/pdf"
        assert r.body()[:5] == b"%PDF-"
    finally:
        context.close()
