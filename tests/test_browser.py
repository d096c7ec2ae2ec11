"""A newcomer's path through the site in a real browser (Debian's Chromium driven by Playwright),
on a desk-sized and a 375 px phone-sized screen, plus an axe-core accessibility scan of each page.

Set SCREENSHOTS=DIR to save a full-page screenshot of every page visited.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import FLAGSHIP, ask_live, save_shot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (make test installs Debian's chromium)"
)


def run_axe(page) -> dict:
    """axe-core's result for the page as it stands (the page must allow the injected script)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate("axe.run(document, {resultTypes: ['violations']})")


def serious_of(result: dict) -> list[str]:
    """The serious and critical violations of an axe result, each with where it was found."""
    return [
        f"{x['id']} ({x['impact']}): {x['help']} at {[n['target'] for n in x['nodes']][:3]}"
        for x in result["violations"]
        if x["impact"] in ("serious", "critical")
    ]


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


class Visit:
    """One browser tab that records every request and console error along the way."""

    def __init__(self, browser, base: str, viewport: str, bypass_csp: bool = False):
        self.base, self.viewport = base, viewport
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=bypass_csp)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def shot(self, name: str) -> None:
        save_shot(self.page, f"{self.viewport}-{name}")

    def fits_the_screen(self) -> bool:
        return self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    def close(self) -> None:
        self.context.close()


def ensure_account(site_url: str, username: str, name: str, role: str, password: str) -> None:
    """An account in the live server's site database (the server shares it with this process)."""
    from oncoguide.site.accounts import Accounts
    from oncoguide.site.db import engine_for

    accounts = Accounts(engine_for(site_url))
    if accounts.get(username) is None:
        accounts.add(username, name, role, password)


def sign_in(page, username: str, password: str, lands_on: str) -> None:
    """Fill the sign-in form already open in `page` and wait for the page it leads to."""
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.ask button[type=submit]")
    page.wait_for_url(re.compile(re.escape(lands_on) + "$"))


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_newcomer_path(browser, live_server, viewport):
    v = Visit(browser, live_server, viewport)
    page = v.page
    try:
        page.goto(live_server + "/")
        assert v.fits_the_screen()
        v.shot("home")
        page.fill("#question", FLAGSHIP)
        page.click("form.ask button[type=submit]")
        page.wait_for_url(re.compile(r"/answer/[a-z2-7]{16}\?audience=clinician$"))
        assert "metasta" in page.inner_text("h1").lower()
        cites = page.locator("sup.cite a")
        assert cites.count() >= 5
        assert page.locator("ol.refs > li").count() >= 5
        assert page.locator("ol.review-steps li[aria-current=step]").inner_text() == "Submitted"
        assert v.fits_the_screen()
        v.shot("answer-clinician")

        target = cites.first.get_attribute("href")
        cites.first.click()
        expect(page).to_have_url(re.compile(re.escape(target) + "$"))
        assert page.locator(target).is_visible()

        # htmx swaps the page in place: a marker set on this window survives the audience switch
        page.evaluate("window.__sameWindow = true")
        page.click("nav.audience-switch >> text=Patient or caregiver")
        page.wait_for_url(re.compile(r"audience=patient$"))
        page.wait_for_selector("p.kicker:has-text('Patient or caregiver')")
        assert page.evaluate("window.__sameWindow === true")
        assert "not medical advice" in page.inner_text("p.disclaimer")
        v.shot("answer-patient")

        page.fill("#follow-up-question", "what about radiation?")
        page.press("#follow-up-question", "Enter")
        expect(page.locator("h1")).to_contain_text("radiotherapy", ignore_case=True)
        title = page.inner_text("h1").lower()
        assert "metastatic" in title and "dermatofibrosarcoma" in title
        assert re.search(r"/answer/[a-z2-7]{16}\?audience=patient$", page.url)
        assert "Patient or caregiver" in page.text_content("p.kicker")
        v.shot("follow-up")

        page.click("header.site >> text=Treatment algorithm")
        page.wait_for_url(re.compile(r"/algorithm$"))
        page.click("main >> text=Gastrointestinal stromal tumour (GIST)")
        page.wait_for_url(re.compile(r"/algorithm/gist$"))
        v.shot("algorithm-gist")
        page.click("text=GIST: recurrent or metastatic, not progressing")
        page.wait_for_url(re.compile(r"/algorithm/groups/gist-recurrent-or-metastatic$"))
        assert page.locator("span.tier").count() >= 1
        assert page.locator("table.options").count() >= 1
        assert v.fits_the_screen()
        v.shot("group")

        page.goto(live_server + "/algorithm")
        page.select_option("#f-condition", "gist")
        page.select_option("#f-site", "gastrointestinal")
        page.select_option("#f-metastases", "disseminated")
        page.click("form.finder button[type=submit]")
        page.wait_for_selector("#result h3 a")
        assert page.inner_text("#result h3") == "GIST: recurrent or metastatic, not progressing"
        v.shot("finder")

        page.click("header.site >> text=Evidence")
        page.click("text=Imatinib for locally advanced or metastatic DFSP")
        page.wait_for_url(re.compile(r"/evidence/imatinib-dfsp$"))
        plot = page.locator("figure.forest svg." + ("narrow" if viewport == "phone" else "wide"))
        assert plot.is_visible()
        box = plot.bounding_box()
        assert box["width"] > 200 and box["width"] <= VIEWPORTS[viewport]["width"]
        assert v.fits_the_screen()
        v.shot("evidence")

        assert v.errors == []
        outside = [u for u in v.requests if not u.startswith(live_server)]
        assert outside == [], "the site must load nothing from other hosts"
    finally:
        v.close()


def a11y_pages(base: str) -> list[str]:
    turn = ask_live(base)
    return [
        "/",
        f"/answer/{turn}?audience=clinician",
        f"/answer/{turn}?audience=patient",
        "/algorithm",
        "/algorithm/gist",
        "/algorithm/groups/gist-recurrent-or-metastatic",
        "/algorithm/find?condition=sts&site=extremity&stage=III&resectable=yes",
        "/algorithm/find?condition=gist",
        "/evidence",
        "/evidence/imatinib-dfsp",
        "/evidence/dfsp-surgery-recurrence",
        "/no-such-page",
        "/login",
        "/editorial-policy",
        "/conditions/dfsp",
        "/conditions/gist",
        "/join",
    ]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_serious_accessibility_violations(browser, live_server, viewport):
    # axe is injected as an inline script, which the site's CSP would rightly block: bypass it for the scan
    v = Visit(browser, live_server, viewport, bypass_csp=True)
    found = {}
    try:
        for path in a11y_pages(live_server):
            v.page.goto(live_server + path)
            result = run_axe(v.page)
            bad = serious_of(result)
            if bad:
                found[path] = bad
            if path == "/":
                assert result["passes"], "axe ran no checks"
    finally:
        v.close()
    assert found == {}


def test_reviewer_approves_in_the_browser_and_readers_see_it(browser, live_server, live_site_url):
    ensure_account(live_site_url, "dr.browser", "Dr Browser Reviewer", "reviewer", "a long reviewer passphrase")
    question = "How often does DFSP come back after Mohs surgery?"
    v = Visit(browser, live_server, "desktop")
    page = v.page
    try:
        page.goto(live_server + "/")
        page.fill("#question", question)
        page.click("form.ask button[type=submit]")
        page.wait_for_url(re.compile(r"/answer/"))
        answer_url = page.url
        assert "Pending review" in page.inner_text("div.review")

        page.click("header.site >> text=Sign in")
        sign_in(page, "dr.browser", "a long reviewer passphrase", "/review")
        v.shot("review-queue")
        # the question has an article per audience: the reader asked as a clinician
        page.locator("#q-submitted ~ ul li", has_text="Clinician ·").filter(has_text=question).locator("a").click()
        page.wait_for_url(re.compile(r"/review/articles/\d+$"))
        page.click("button[value=under-review]")
        expect(page.locator("p.lead strong")).to_have_text("Under review")
        page.fill("#comment", "Checked each statement against its source.")
        page.click("button[value=approved]")
        expect(page.locator("p.lead strong")).to_have_text("Approved")
        assert "Dr Browser Reviewer (reviewer)" in page.inner_text("ol.log")
        v.shot("review-article")

        page.click("header.site >> text=Sign out")
        page.wait_for_url(re.compile(r"/$"))
        page.goto(answer_url)
        assert "Reviewed by Dr Browser Reviewer (reviewer)" in page.inner_text("div.review")
        assert page.locator("ol.review-steps li[aria-current=step]").inner_text() == "Approved"
        assert v.errors == []
    finally:
        v.close()


def test_reviewer_pages_have_no_serious_accessibility_violations(browser, live_server, live_site_url):

    ensure_account(live_site_url, "dr.axe", "Dr Axe", "reviewer", "a long reviewer passphrase")
    ask_live(live_server)
    v = Visit(browser, live_server, "phone", bypass_csp=True)
    found = {}
    try:
        v.page.goto(live_server + "/login")
        sign_in(v.page, "dr.axe", "a long reviewer passphrase", "/review")
        first = v.page.locator("main ul.groups a").first.get_attribute("href")
        for path in ("/review", first, "/account", "/conditions/dfsp"):  # signed in: account, share form
            v.page.goto(live_server + path)
            v.page.add_script_tag(path=str(AXE))
            result = v.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            bad = [
                f"{x['id']} ({x['impact']}): {x['help']}"
                for x in result["violations"]
                if x["impact"] in ("serious", "critical")
            ]
            if bad:
                found[path] = bad
    finally:
        v.close()
    assert found == {}


def test_newcomer_joins_posts_and_sees_the_moderated_post(browser, live_server, live_site_url):
    """Join (sharing a country) -> vote -> post with contact details and every XSS payload -> a moderator
    approves -> the post appears masked and inert, and the members map shades the newcomer's country."""
    from tests.test_experiences import XSS

    ensure_account(live_site_url, "mod.browser", "Moderator Mo", "moderator", "a long moderator passphrase")
    story = (
        "I found the bump on my back when I was 30. Mohs surgery took two sessions.\n\n"
        "Happy to talk: call 020 7946 0958 or write to pat.story@example.org.\n\n" + "\n\n".join(XSS)
    )
    newcomer = Visit(browser, live_server, "phone")
    dialogs: list[str] = []
    newcomer.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page = newcomer.page
    try:
        page.goto(live_server + "/conditions/dfsp")
        page.click("main >> text=Join")
        page.fill("#j-username", "pat.newcomer")
        page.fill("#j-display", "Pat from Leeds")
        page.fill("#j-password", "my dfsp story passphrase")
        page.select_option("#j-country", "GB")
        page.click("form.ask button[type=submit]")
        page.wait_for_url(re.compile(r"/welcome\?next=/conditions/dfsp$"))  # welcomed, then back to the page
        page.click("text=Go back to the page you were on")
        page.wait_for_url(re.compile(r"/conditions/dfsp$"))
        helpful = page.locator("ol.top-questions button[aria-label^='Mark']").first
        helpful.click()
        expect(page.locator("ol.top-questions li").first).to_contain_text("1 found it helpful")
        page.fill("#story-body", story)
        page.click("text=Send to the moderators")
        expect(page.locator("p.notice")).to_contain_text("We removed: e-mail address, phone number")
        newcomer.shot("posted")

        mod = Visit(browser, live_server, "desktop")
        try:
            mod.page.goto(live_server + "/login?next=/moderation")
            sign_in(mod.page, "mod.browser", "a long moderator passphrase", "/moderation")
            post = mod.page.locator("article.story", has_text="Pat from Leeds")
            expect(post).to_contain_text("<svg/onload=alert(1)>")  # inert for the moderator too
            post.locator("button[value=approve]").click()
            expect(mod.page.locator("article.story", has_text="Pat from Leeds")).to_have_count(0)
            assert mod.errors == []
        finally:
            mod.close()

        page.goto(live_server + "/conditions/dfsp")
        published = page.locator("article.story", has_text="Pat from Leeds")
        expect(published).to_contain_text("[phone number removed]")
        expect(published).to_contain_text("[e-mail removed]")
        for payload in XSS:  # each shown as text, none run
            expect(published).to_contain_text(payload)
        injected = page.locator("article.story > p :is(script, img, svg, iframe, input, details, math, a)")
        assert published.locator("> p").count() >= len(XSS)  # the story's own paragraphs
        assert injected.count() == 0, injected.first.evaluate("e => e.outerHTML")
        assert "Published" in page.inner_text("#your-posts ~ ul")

        world = page.locator("svg.world")
        expect(world).to_be_visible()
        box = world.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        assert page.locator("svg.world path").count() > 150
        uk = page.locator("svg.world path.b1", has=page.locator("title", has_text="United Kingdom: fewer than 5"))
        expect(uk).to_have_count(1)
        fill = uk.evaluate("p => getComputedStyle(p).fill")
        assert fill != page.locator("svg.world path.b0").first.evaluate("p => getComputedStyle(p).fill")
        expect(page.locator("table.map-table")).to_contain_text("United Kingdom")
        expect(page.locator("table.map-table")).to_contain_text("fewer than 5")
        assert newcomer.fits_the_screen()
        newcomer.shot("story-published")
        assert dialogs == [] and newcomer.errors == []
    finally:
        newcomer.close()
