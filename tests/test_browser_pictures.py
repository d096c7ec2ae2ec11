"""The evidence pictures in a real browser (Debian's Chromium): at 390 px the forest plot switches to its stacked
layout with text of 12 px or more and nothing overflows; at 1280 px the wide plot shows; the members map's key
is filled with the map's colours; a patient's answer shows its icon arrays; axe finds nothing serious.

Set SCREENSHOTS=DIR to save a full-page screenshot of each page at 1280 and 390 px."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ask_live, save_shot
from tests.test_browser import AXE, CHROMIUM

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (make test installs Debian's chromium)"
)
SCREENS = {
    "phone": {"width": 390, "height": 844},
    "tablet": {"width": 700, "height": 1000},  # between a phone and the width the wide plot needs (832 px)
    "desktop": {"width": 1280, "height": 900},
}

# the effective size of every text the SVG draws: its font size times the SVG's scale on screen
SVG_TEXT_PX = """svg => {
  const scale = svg.getScreenCTM().a;
  return [...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
}"""
FITS = "document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture
def tab(browser, request):
    """A tab at the screen named by the test's `screen` parameter; the site's CSP bypassed only to inject axe."""
    context = browser.new_context(viewport=SCREENS[request.param], bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.screen = request.param
    yield page
    context.close()


def shot(page, name: str) -> None:
    save_shot(page, f"{page.screen}-{name}")


def serious(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert result["passes"], "axe ran no checks"
    return [
        f"{x['id']} ({x['impact']}): {[n['target'] for n in x['nodes']][:3]}"
        for x in result["violations"]
        if x["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("tab", ["phone", "tablet"], indirect=True)
def test_on_a_phone_the_forest_plot_is_stacked_and_readable(tab, live_server):
    page = tab
    width = SCREENS[page.screen]["width"]
    for topic in ("imatinib-dfsp", "imatinib-dfsp-review-2019"):
        page.goto(f"{live_server}/evidence/{topic}")
        wide, narrow = page.locator("figure.forest svg.wide"), page.locator("figure.forest svg.narrow")
        assert narrow.is_visible() and not wide.is_visible()
        box = narrow.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        sizes = narrow.evaluate(SVG_TEXT_PX)
        assert len(sizes) > 20 and min(sizes) >= 12, min(sizes)
        assert page.evaluate(FITS), f"the page scrolls sideways at {width} px"
        assert serious(page) == []
        shot(page, f"evidence-{topic}")


@pytest.mark.parametrize("tab", ["phone"], indirect=True)
def test_on_a_phone_the_by_technique_tables_fit(tab, live_server):
    page = tab
    page.goto(f"{live_server}/evidence/dfsp-surgery-recurrence?by=technique")
    assert page.evaluate(FITS)
    assert page.locator("#by-h ~ h3").count() == 2  # one table a study
    assert page.locator("p.by-note").is_visible()
    smallest = page.evaluate(
        "Math.min(...[...document.querySelectorAll('main td, main th, main p')].map("
        "e => parseFloat(getComputedStyle(e).fontSize)))"
    )
    assert smallest >= 12
    assert serious(page) == []
    shot(page, "evidence-surgery")


@pytest.mark.parametrize("tab", ["desktop"], indirect=True)
def test_on_a_desk_the_wide_forest_plot_shows(tab, live_server):
    page = tab
    page.goto(f"{live_server}/evidence/imatinib-dfsp")
    wide, narrow = page.locator("figure.forest svg.wide"), page.locator("figure.forest svg.narrow")
    assert wide.is_visible() and not narrow.is_visible()
    assert min(wide.evaluate(SVG_TEXT_PX)) >= 11  # shown at its full size: the axis note is drawn at 11 px
    assert page.evaluate(FITS)
    shot(page, "evidence-imatinib-dfsp")


@pytest.mark.parametrize("tab", ["phone", "desktop"], indirect=True)
def test_the_map_key_is_filled_like_the_map(tab, live_server):
    page = tab
    page.goto(f"{live_server}/conditions/dfsp")
    swatches = page.locator(".map-key svg.swatch rect")
    assert swatches.count() == 5
    fills = swatches.evaluate_all("rs => rs.map(r => getComputedStyle(r).fill)")
    assert len(set(fills)) == 5 and "none" not in fills
    box = page.locator(".map-key svg.swatch").first.bounding_box()
    assert box["width"] >= 12 and box["height"] >= 12
    unshaded = page.locator("svg.world path.b0").first.evaluate("p => getComputedStyle(p).fill")
    assert unshaded == fills[0]  # the "no members yet" swatch is the colour of an unshaded country
    assert page.evaluate(FITS)
    assert serious(page) == []
    shot(page, "condition-map")


@pytest.mark.parametrize("tab", ["phone", "desktop"], indirect=True)
def test_a_patient_sees_icon_arrays_beside_the_figures(tab, live_server):
    page = tab
    turn = ask_live(live_server, "Is Mohs surgery better than wide excision for DFSP?", "patient")
    page.goto(f"{live_server}/answer/{turn}?audience=patient")
    arrays = page.locator("figure.icon-array")
    assert arrays.count() >= 2
    first = arrays.first
    assert first.is_visible()
    caption = first.locator("figcaption").inner_text()
    assert caption.startswith("Out of 100 people like those in the study, about ")
    filled = int(caption.split("about ", 1)[1].split(" ", 1)[0])
    assert first.locator("svg g[fill='#1f4e79']").count() == filled
    assert first.locator("svg g").count() == 100
    svg = first.locator("svg").bounding_box()
    assert svg["width"] >= 90  # 100 people, each about 9 px or more
    assert float(first.locator("figcaption").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 16
    assert page.evaluate(FITS)
    assert serious(page) == []
    shot(page, "answer-patient-icon-arrays")
