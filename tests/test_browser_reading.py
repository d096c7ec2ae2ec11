"""The answer page as a reading tool, in a real browser (Debian's Chromium driven by Playwright) against
`oncoguide serve`: the table of contents, a citation's preview by hover, keyboard and tap, the ways back from
each reference, :target highlighting, disagreements beside their statements, the indicator while an answer is
composed and the clarifying question's buttons; at 1280 px and at a 390 px phone, with an axe scan."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import FLAGSHIP, ask_live
from tests.test_browser import CHROMIUM, Visit, expect, run_axe, serious_of

pytestmark = pytest.mark.skipif(
    not __import__("pathlib").Path(CHROMIUM).exists(), reason="Chromium is not installed (make test installs it)"
)

PHONE = {"width": 390, "height": 800}
DESK = {"width": 1280, "height": 900}


def answer_path(base: str, question: str = FLAGSHIP, audience: str = "clinician") -> str:
    return f"/answer/{ask_live(base, question, audience)}?audience={audience}"


class Tab(Visit):
    """A Visit at a chosen size, with touch for a phone."""

    def __init__(self, browser, base: str, size: dict, touch: bool = False, bypass_csp: bool = False):
        self.base, self.viewport = base, "phone" if touch else "desktop"
        self.context = browser.new_context(viewport=size, has_touch=touch, bypass_csp=bypass_csp)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.requests, self.errors = [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))


def in_view(page, selector: str) -> bool:
    return page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect(); "
        "return r.top >= -1 && r.top < innerHeight; }",
        selector,
    )


def test_contents_is_a_sticky_rail_on_a_desk_and_folded_on_a_phone(browser, live_server):
    path = answer_path(live_server)
    v = Tab(browser, live_server, DESK)
    try:
        page = v.page
        page.goto(live_server + path)
        toc = page.locator("nav.toc")
        expect(toc.locator("details")).to_have_attribute("open", "")
        labels = toc.locator("a").all_inner_texts()
        assert labels[0] == "Bottom line" and labels[-1] == "References"
        assert any(x.startswith("Where sources disagree") for x in labels)
        # every entry leads to a part of the page
        for href in toc.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))"):
            assert page.locator(href).count() == 1, href
        main_box = page.locator(".answer-body").bounding_box()
        assert toc.bounding_box()["x"] + toc.bounding_box()["width"] <= main_box["x"], "a rail beside the text"
        toc.locator("a", has_text="References").click()
        expect(page).to_have_url(re.compile(r"#references$"))
        assert in_view(page, "#references")
        assert in_view(page, "nav.toc"), "the rail stays in view when the page has scrolled"
        toc.locator("a", has_text="Where sources disagree").click()
        expect(page).to_have_url(re.compile(r"#disagree$"))
        assert page.evaluate("getComputedStyle(document.querySelector('#disagree')).backgroundColor") != (
            "rgba(0, 0, 0, 0)"
        ), ":target is highlighted"
        assert v.errors == []
    finally:
        v.close()

    v = Tab(browser, live_server, PHONE, touch=True)
    try:
        page = v.page
        page.goto(live_server + path)
        details = page.locator("nav.toc details")
        assert details.get_attribute("open") is None, "folded on a phone"
        assert not page.locator("nav.toc a").first.is_visible()
        page.tap("nav.toc summary")
        expect(page.locator("nav.toc a").first).to_be_visible()
        page.tap("nav.toc a:has-text('References')")
        expect(page).to_have_url(re.compile(r"#references$"))
        assert v.fits_the_screen()
    finally:
        v.close()


def test_citations_are_in_order_and_big_enough_to_tap(browser, live_server):
    v = Tab(browser, live_server, PHONE, touch=True)
    try:
        page = v.page
        page.goto(live_server + answer_path(live_server))
        clusters = page.evaluate(
            """() => [...document.querySelectorAll('#article .cites')]
                 .map(el => [...el.querySelectorAll('sup.cite a')].map(a => +a.dataset.ref))
                 .filter(c => c.length > 1)"""
        )
        assert clusters, "the flagship answer has statements citing several sources"
        for c in clusters:
            assert c == sorted(c), c
        sizes = page.locator("sup.cite a").evaluate_all(
            "as => as.map(a => { const r = a.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        assert sizes and all(w >= 24 and h >= 24 for w, h in sizes), min(sizes)
        back = page.locator(".cited-at a").evaluate_all(
            "as => as.map(a => { const r = a.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        assert back and all(w >= 24 and h >= 24 for w, h in back)
        assert v.fits_the_screen()
    finally:
        v.close()


def reference_title(page, n: str) -> str:
    return page.evaluate(
        "n => document.querySelector(`#ref-${n} template.ref-preview`).content.querySelector('.ref-title').textContent",
        n,
    )


def test_a_citation_previews_its_reference_by_keyboard(browser, live_server):
    v = Tab(browser, live_server, DESK)
    try:
        page = v.page
        page.goto(live_server + answer_path(live_server))
        # the last audience button, then Tab: the first mark of the bottom line
        page.focus("nav.audience-switch li:last-child a")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id")
        assert focused.startswith("cite-bl-"), focused
        n = page.evaluate("document.activeElement.dataset.ref")
        card = page.locator(".cite-preview")
        expect(card).to_be_visible()
        expect(card).to_contain_text(reference_title(page, n))
        expect(card).to_contain_text("Evidence level")
        mark = page.locator(f"#{focused}")
        expect(mark).to_have_attribute("aria-expanded", "true")
        expect(mark).to_have_attribute("aria-describedby", "cite-preview")
        # Tab moves into the card: its first link is the source's PubMed, DOI or page link
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('.cite-preview')")
        href = page.evaluate("document.activeElement.getAttribute('href')")
        assert href.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://doi.org/", "http")), href
        page.keyboard.press("Escape")
        expect(card).to_have_count(0)
        assert page.evaluate("document.activeElement.id") == focused
        expect(mark).to_have_attribute("aria-expanded", "false")
        # Enter follows the mark to its reference, which is highlighted
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"#ref-{n}$"))
        assert page.evaluate(f"document.querySelector('#ref-{n}').matches(':target')")
        assert v.errors == []
    finally:
        v.close()


def test_a_citation_previews_its_reference_on_hover(browser, live_server):
    v = Tab(browser, live_server, DESK)
    try:
        page = v.page
        page.goto(live_server + answer_path(live_server))
        mark = page.locator("sup.cite a").nth(3)
        mark.hover()
        card = page.locator(".cite-preview")
        expect(card).to_contain_text(reference_title(page, mark.get_attribute("data-ref")))
        card.hover()  # the pointer can move onto the card to use its links
        expect(card).to_be_visible()
        page.mouse.move(5, 5)
        expect(card).to_have_count(0)
    finally:
        v.close()


def test_a_tap_previews_and_the_card_leads_to_the_reference(browser, live_server):
    v = Tab(browser, live_server, PHONE, touch=True)
    try:
        page = v.page
        path = answer_path(live_server)
        page.goto(live_server + path)
        mark = page.locator(".answer-section sup.cite a").first
        n = mark.get_attribute("data-ref")
        mark.tap()
        card = page.locator(".cite-preview")
        expect(card).to_contain_text(reference_title(page, n))
        assert page.url.endswith(path), "a first tap previews; it does not jump"
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert v.fits_the_screen()
        card.locator("a.ref-jump").tap()
        expect(page).to_have_url(re.compile(rf"#ref-{n}$"))
        expect(card).to_have_count(0)
        assert page.evaluate(f"document.querySelector('#ref-{n}').matches(':target')")
        assert in_view(page, f"#ref-{n}")
    finally:
        v.close()


def test_each_reference_leads_back_to_every_place_citing_it(browser, live_server):
    v = Tab(browser, live_server, DESK)
    try:
        page = v.page
        page.goto(live_server + answer_path(live_server))
        marks = page.locator("sup.cite a[id]").evaluate_all("as => as.map(a => [a.id, a.dataset.ref])")
        backs = page.locator("ol.refs > li").evaluate_all(
            """lis => lis.flatMap(li => [...li.querySelectorAll('.cited-at a')].map(a =>
                 [a.getAttribute('href').slice(1), li.id.slice(4)]))"""
        )
        assert marks and sorted(marks) == sorted(backs), "one way back per citation mark, to its own reference"
        # a reference cited in several places
        many = next(n for n in {b[1] for b in backs} if sum(1 for b in backs if b[1] == n) > 1)
        links = page.locator(f"#ref-{many} .cited-at a")
        last = links.last.get_attribute("href")
        links.last.click()
        expect(page).to_have_url(re.compile(re.escape(last) + "$"))
        mark = page.locator(last)
        assert mark.get_attribute("data-ref") == many
        assert page.evaluate(f"document.querySelector('{last}').matches(':target')")
        assert mark.evaluate("a => getComputedStyle(a).backgroundColor") != "rgba(0, 0, 0, 0)"
        assert in_view(page, last)
    finally:
        v.close()


def test_disagreements_sit_beside_the_statements_they_concern(browser, live_server):
    v = Tab(browser, live_server, DESK)
    try:
        page = v.page
        page.goto(live_server + answer_path(live_server))
        placed = page.locator(".answer-section aside.conflict")
        assert placed.count() >= 1
        for aside in placed.all():
            cid = aside.get_attribute("id")
            section = aside.evaluate(
                "a => a.closest('section').id || a.closest('section').getAttribute('aria-labelledby')"
            )
            # a statement of the same section links to it...
            linking = page.locator(f".answer-section li .disputed a[href='#{cid}']")
            assert linking.count() >= 1, cid
            assert linking.first.evaluate("a => a.closest('section').getAttribute('aria-labelledby')") == section
            # ...and it links back to each statement it is about
            for href in aside.locator(".concerns a").evaluate_all("as => as.map(a => a.getAttribute('href'))"):
                assert page.locator(href).count() == 1, href
        first = page.locator(".answer-section li .disputed a").first
        target = first.get_attribute("href")
        first.click()
        expect(page).to_have_url(re.compile(re.escape(target) + "$"))
        assert page.evaluate(f"document.querySelector('{target}').matches(':target')")
        # the list of disagreements links to each of them
        index = page.locator("#disagree a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert all(page.locator(h).count() == 1 for h in index)
    finally:
        v.close()


def watch_indicators(page, *selectors: str) -> None:
    """Record in window.__busy[selector] the text of each indicator if it shows while htmx marks a request
    under way (htmx-request, a class change on it), on every page the tab opens."""
    page.add_init_script(
        f"const watched = {json.dumps(selectors)};"
        "new MutationObserver(() => {"
        "  for (const s of watched) {"
        "    const el = document.querySelector(s + '.htmx-request');"
        "    if (el && getComputedStyle(el).display !== 'none' && el.getBoundingClientRect().height > 0)"
        "      (window.__busy = window.__busy || {})[s] = el.textContent.trim();"
        "  }"
        "}).observe(document, {attributes: true, attributeFilter: ['class'], subtree: true});"
    )


def test_asking_and_following_up_show_that_the_answer_is_being_composed(browser, live_server):
    # the answer page boosts only its forms (its 400 citation links are left to the browser): the follow-up
    # box must still be sent by htmx, showing that the answer is being composed, as the home page's form is
    v = Tab(browser, live_server, DESK)
    try:
        page = v.page
        watch_indicators(page, "#ask-busy", "#follow-up-busy")
        page.goto(live_server + "/")
        assert not page.locator("#ask-busy").is_visible(), "hidden until a question is asked"
        page.fill("#question", "Does imatinib work for DFSP that cannot be removed?")
        page.click("form.ask button[type=submit]")
        page.wait_for_url(re.compile(r"/answer/[a-z2-7]{16}\?audience=clinician$"))
        page.wait_for_selector("h1#answer-title")
        assert page.evaluate("window.__busy['#ask-busy']") == "Composing your answer…"
        first = page.url
        page.fill("#follow-up-question", "what about radiotherapy?")
        page.click(".follow-up form button[type=submit]")
        page.wait_for_url(lambda url: url != first and "/answer/" in url)
        page.wait_for_selector("h1#answer-title")
        assert page.evaluate("window.__busy['#follow-up-busy']") == "Composing your answer…"
    finally:
        v.close()


def test_the_clarifying_question_re_asks_with_the_chosen_value(browser, live_server):
    v = Tab(browser, live_server, PHONE, touch=True)
    try:
        page = v.page
        page.goto(live_server + "/")
        page.fill("#question", "How is DFSP treated?")
        page.tap("form.ask button[type=submit]")
        page.wait_for_url(re.compile(r"/answer/[a-z2-7]{16}\?audience=clinician$"))
        first = page.url
        choices = page.locator(".clarify button.choice")
        assert choices.count() >= 4
        assert "metastatic" in choices.all_inner_texts()
        sizes = choices.evaluate_all("bs => bs.map(b => b.getBoundingClientRect().height)")
        assert min(sizes) >= 24
        page.tap(".clarify button.choice:text-is('metastatic')")
        page.wait_for_url(lambda url: url != first and "/answer/" in url)
        expect(page.locator("h1")).to_contain_text("Metastatic")
        assert page.locator(".clarify button.choice").count() == 0, "the new answer asks no more"
        assert "How is DFSP treated? (metastatic)" in page.inner_text("p.asked")
        assert v.fits_the_screen()
    finally:
        v.close()


@pytest.mark.parametrize("size", ["desk", "phone"])
def test_the_reading_aids_pass_axe(browser, live_server, size):
    v = Tab(browser, live_server, DESK if size == "desk" else PHONE, touch=size == "phone", bypass_csp=True)
    found = {}
    try:
        page = v.page
        for audience in ("clinician", "patient"):
            for question in (FLAGSHIP, "How is DFSP treated?"):
                page.goto(live_server + answer_path(live_server, question, audience))
                if size == "phone":
                    page.tap("nav.toc summary")
                page.locator("sup.cite a").first.focus()
                expect(page.locator(".cite-preview")).to_be_visible()
                assert v.fits_the_screen()
                result = run_axe(page)
                bad = serious_of(result)
                if bad:
                    found[(audience, question)] = bad
                v.shot(f"reading-{audience}-{size}")
        assert v.errors == []
    finally:
        v.close()
    assert found == {}
