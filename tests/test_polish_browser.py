"""Everyday polish (issue 19, part 3) in a real browser (Debian's Chromium, Playwright): dark mode legible and
axe-clean, form controls of one height with 16 px text, where people land after signing in, joining and
posting, and the treatment-algorithm finder showing only the fields of the chosen condition."""

from __future__ import annotations

import re

import pytest

from tests.conftest import FLAGSHIP, ask_live, save_shot
from tests.test_browser import (
    ensure_account,
    expect,
    run_axe,
    serious_of,
    sign_in,
)
from tests.test_browser import pytestmark as needs_chromium

pytestmark = needs_chromium

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


def new_page(browser, viewport=PHONE, scheme="light", bypass_csp=False):  # noqa: F811
    context = browser.new_context(viewport=viewport, color_scheme=scheme, bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    return context, page, errors


def shot(page, name: str) -> None:
    save_shot(page, name)


def turn_of(base: str, question: str = FLAGSHIP) -> str:
    return ask_live(base, question)


def luminance(css_colour: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_colour)[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_every_page_is_legible_and_axe_clean_in_both_colour_schemes(browser, live_server, scheme):  # noqa: F811
    turn = turn_of(live_server)
    pages = [
        "/",
        f"/answer/{turn}?audience=clinician",
        f"/answer/{turn}?audience=patient",
        "/algorithm",
        "/algorithm/find?condition=sts&site=extremity&stage=III&resectable=yes",
        "/algorithm/groups/sts-ext-stage-3-resectable",
        "/evidence",
        "/evidence/dfsp-surgery-recurrence",
        "/community",
        "/conditions/dfsp",
        "/login",
        "/join",
        "/no-such-page",
    ]
    context, page, errors = new_page(browser, PHONE, scheme, bypass_csp=True)
    found = {}
    try:
        for path in pages:
            page.goto(live_server + path)
            bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
            ink = page.evaluate("getComputedStyle(document.body).color")
            if scheme == "dark":
                assert luminance(bg) < 0.05 and luminance(ink) > 0.6, (path, bg, ink)
            else:
                assert luminance(bg) > 0.9 and luminance(ink) < 0.05, (path, bg, ink)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
            result = run_axe(page)
            bad = serious_of(result)
            if bad:
                found[path] = bad
            shot(page, f"{scheme}-{path.strip('/').replace('/', '_').split('?')[0] or 'home'}")
    finally:
        context.close()
    assert found == {}
    assert [e for e in errors if "status of 404" not in e] == []  # /no-such-page is a 404 on purpose


def test_form_controls_share_one_height_and_16px_text(browser, live_server):  # noqa: F811
    context, page, _ = new_page(browser, PHONE)
    try:
        page.goto(live_server + "/join")
        boxes = {
            sel: page.locator(sel).bounding_box()["height"] for sel in ("#j-username", "#j-password", "#j-country")
        }
        assert min(boxes.values()) >= 44 and max(boxes.values()) - min(boxes.values()) <= 1, boxes
        for sel in ("#j-username", "#j-password", "#j-country"):  # iOS zooms into text under 16 px
            assert float(page.locator(sel).evaluate("e => getComputedStyle(e).fontSize")[:-2]) >= 16
        page.goto(live_server + "/login")
        text, password = (page.locator(s).bounding_box()["height"] for s in ("#username", "#password"))
        assert text == password >= 44
    finally:
        context.close()


def test_a_moderator_who_signs_in_lands_on_moderation(browser, live_server, live_site_url):  # noqa: F811
    ensure_account(live_site_url, "mod.lands", "Moderator Lands", "moderator", "a long moderator passphrase")
    context, page, errors = new_page(browser, DESK)
    try:
        page.goto(live_server + "/evidence")
        page.click("header.site >> text=Sign in")
        sign_in(page, "mod.lands", "a long moderator passphrase", "/moderation")
        expect(page.locator("h1")).to_have_text("Posts waiting for moderation")
        expect(page.locator("header.site a[aria-current=page]")).to_have_text("Moderation")
        assert errors == []
    finally:
        context.close()


def test_joining_welcomes_then_a_posted_story_scrolls_to_its_confirmation(browser, live_server):  # noqa: F811
    context, page, errors = new_page(browser, PHONE)
    try:
        page.goto(live_server + "/conditions/gist")
        expect(page.locator("header.site a[aria-current=true]")).to_have_text("Community")
        page.click("main >> text=Join")
        page.fill("#j-username", "sam.welcome")
        page.fill("#j-display", "Sam Welcome")
        page.fill("#j-password", "my gist story passphrase")
        page.click("form.ask button[type=submit]")
        page.wait_for_url(re.compile(r"/welcome\?next=/conditions/gist$"))
        expect(page.locator("h1")).to_have_text("Welcome, Sam Welcome")
        shot(page, "phone-welcome")
        page.click("text=Share your experience of Gastrointestinal stromal tumour (GIST)")
        page.wait_for_url(re.compile(r"/conditions/gist#share-h$"))
        page.fill("#story-body", "My GIST was found on a scan for something else. Surgery went well.")
        page.click("text=Send to the moderators")
        page.wait_for_url(re.compile(r"/conditions/gist\?posted=\d+#posted$"))
        notice = page.locator("#posted")
        expect(notice).to_contain_text("Thank you. Your post is waiting for a moderator.")
        box = notice.bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box  # in view, not 2,650 px below
        shot(page, "phone-posted")
        assert errors == []
    finally:
        context.close()


def test_the_finder_shows_only_the_fields_of_the_chosen_condition(browser, live_server):  # noqa: F811
    context, page, errors = new_page(browser, PHONE)
    try:
        page.goto(live_server + "/algorithm")
        expect(page.locator("label[for=f-stage]")).to_have_text("AJCC 8th edition stage group")
        expect(page.locator("#f-morbidity")).to_be_visible()  # no condition yet: every field
        page.select_option("#f-condition", "sts")
        for gist_only in ("#f-morbidity", "#f-progression", "#f-margins", "#f-subtype"):
            expect(page.locator(gist_only)).to_be_hidden()
        offered = page.locator("#f-mutation option:not([hidden])").all_inner_texts()
        assert offered == ["Not given", "NTRK gene fusion"]
        page.select_option("#f-condition", "dfsp")
        expect(page.locator("#f-mutation")).to_be_hidden()
        expect(page.locator("#f-margins")).to_be_visible()
        page.select_option("#f-margins", "positive")
        page.click("form.finder button[type=submit]")
        page.wait_for_selector("#result h3 a")
        assert "margin" in page.inner_text("#result h3").lower()
        assert re.search(r"[?&]margins=positive", page.url) and "mutation=" not in page.url  # hidden: not sent
        expect(page.locator("#f-mutation")).to_be_hidden()  # the page sent back keeps the choice
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert errors == []
    finally:
        context.close()
