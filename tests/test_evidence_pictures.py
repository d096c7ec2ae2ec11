"""Pictures that read on any screen, checked in the served HTML and SVG: the forest plot's two layouts, P values
as journals print them, labels from the topic instead of raw codes, only meaningful rows, tables that say when
they add up different series, the members map cut at the 180° meridian with a filled key whose colours stay
apart for every kind of colour blindness, and icon arrays beside patients' recurrence and response figures."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest

from oncoguide.evidence.stats import p_text
from oncoguide.pack.readability import grade_from_counts
from oncoguide.web.worldmap import FILLS, split_at_antimeridian, world

SVG = "{http://www.w3.org/2000/svg}"


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize(
    "p, shown",
    [(0.0, "P < .001"), (0.0004, "P < .001"), (0.001, "P = .001"), (0.0283, "P = .028"), (0.5, "P = .500"),
     (0.995, "P > .99"), (1.0, "P > .99")],
)  # fmt: skip
def test_p_values_are_printed_as_journals_print_them(p, shown):
    assert p_text(p) == shown


def test_surgery_page_uses_the_topics_labels_and_p_values(client):
    html = client.get("/evidence/dfsp-surgery-recurrence?by=technique").text
    page = text_of(html)
    for raw in ("RECURRED", "FREE", ">mohs<", ">wle<", "p = 0.000", "degrees of freedom, p", "1 degrees"):
        assert raw not in page and raw not in html, raw
    studies = text_of(section(html, "studies-h"))
    assert "Recurred" in studies and "Free of recurrence" in studies
    by = text_of(section(html, "by-h"))
    assert "Local recurrence by surgical technique" in by
    assert "Mohs surgery" in by and "Wide local excision" in by
    assert "1 degree of freedom, P < .001" in by
    assert "P < .001" in text_of(section(html, "cmp-h"))


def test_a_table_that_adds_up_different_series_says_so_and_shows_each_study(client, kb):
    html = client.get("/evidence/dfsp-surgery-recurrence?by=technique").text
    by = section(html, "by-h")
    assert "these totals mix different series" in text_of(by)
    # the combined rows name the studies in them ...
    assert text_of(by).count("2 studies: Paradisi 2008 (pooled case series); Lowe 2017 (Mayo Clinic cohort)") == 2
    # ... and each study's own comparison follows, with its own counts
    for study, counts in {"Paradisi 2008 (pooled case series)": ("6 / 463", "288 / 1394"),
                          "Lowe 2017 (Mayo Clinic cohort)": ("2 / 67", "28 / 91")}.items():  # fmt: skip
        table = by.split(f">{study}</h3>", 1)[1].split("</table>", 1)[0]
        assert all(c in table for c in counts), study
    ev = kb.evidence
    mohs = ev.stats["recurrence_mohs_paradisi"].exact
    assert (mohs.x, mohs.n) == (6, 463)


def test_no_row_counts_every_patient_as_a_rate(client):
    html = client.get("/evidence/imatinib-dfsp").text
    pooled = section(html, "pooled-h")
    assert "152 / 152" not in pooled and "100.0%" not in pooled
    assert "95 / 152" in pooled  # the objective response is still there
    assert "Complete response" in text_of(section(html, "studies-h"))
    by = text_of(section(html, "by-h"))
    assert "400 mg/day" in by and "mg/day mg/day" not in by


def test_every_topic_labels_its_categories_and_attributes(kb):
    from oncoguide.evidence.report import topic_attributes

    for t in kb.evidence.topics.values():
        for name in (*t.categories, *topic_attributes(t)):
            assert name in t.labels, f"{t.id}: no label for {name}"


def test_pack_check_refuses_a_label_for_nothing(pack_copy):
    from oncoguide.pack.load import PackError, load_pack

    pack = pack_copy
    f = pack / "evidence" / "dfsp-surgery-recurrence.yaml"
    f.write_text(
        f.read_text()
        .replace("free: Free of recurrence,", "free: Free of recurrence, frée: Typo,")
        .replace("wle: Wide local excision}", "wle: Wide local excision, laser: Laser}")
    )
    with pytest.raises(PackError) as err:
        load_pack(pack, check_reading=False)
    msg = str(err.value)
    assert "frée" in msg and "neither an outcome category nor an arm attribute" in msg
    assert "no arm has technique = laser" in msg


# --- forest plot ---------------------------------------------------------------------------------------------


def test_the_narrow_forest_plot_stacks_each_study_at_a_readable_size(kb):
    ev = kb.evidence
    t = ev.topics["imatinib-dfsp"]
    rows, _, _ = ev.forest(t, "REML")
    root = ET.fromstring(ev.forest_plot("imatinib-dfsp", "narrow"))
    width = float(root.get("viewBox").split()[2])
    assert width <= 360  # drawn for a phone: at 340-400 px on screen it is shown at scale 1 or more
    texts = root.findall(f"{SVG}text")
    sizes = [float(x.get("font-size") or root.get("font-size")) for x in texts]
    assert min(sizes) >= 12
    words = [x.text for x in texts]
    for label, e, n in rows:  # each study's label and its numbers, on lines of their own
        assert any(label.startswith(w) for w in words if w), label
        assert any(w.startswith(f"{e}/{n} ") for w in words), (label, e, n)
    assert len(root.findall(f"{SVG}rect")) == 1 + len(rows)  # background + one square per study
    assert len(root.findall(f"{SVG}polygon")) == 1
    lines = " ".join(words)
    assert "p = 0.0" not in lines and re.search(r"Q = [\d.]+ \(P [=<>] \.\d+\)", lines)
    for x in texts:  # nothing runs past either edge: about 0.6 em a character at most
        wide = 0.6 * float(x.get("font-size") or root.get("font-size")) * len(x.text)
        start = float(x.get("x")) - (wide / 2 if x.get("text-anchor") == "middle" else 0)
        assert 0 <= start and start + wide <= width, x.text


def test_the_page_carries_both_layouts_of_the_forest_plot(client):
    html = client.get("/evidence/imatinib-dfsp").text
    figure = html.split('<figure class="forest">', 1)[1].split("</figure>", 1)[0]
    assert 'class="wide"' in figure and 'class="narrow"' in figure
    linked = re.search(r'<link rel="stylesheet" href="(/static/site\.css\?v=[0-9a-f]+)">', html)
    css = client.get(linked.group(1))  # the one stylesheet, evidence.css within it
    assert css.status_code == 200 and "max-width: 831px" in css.text


# --- members map ---------------------------------------------------------------------------------------------


def test_shapes_across_the_180_degree_meridian_are_cut_at_the_map_edge():
    fiji = [(177.0, -17.0), (180.0, -16.0), (-179.5, -16.2), (-179.8, -16.9), (178.0, -17.3), (177.0, -17.0)]
    pieces = split_at_antimeridian(fiji)
    assert len(pieces) == 2
    for piece in pieces:  # each piece lies on one side and has no jump across the map
        lons = [p[0] for p in piece]
        assert max(lons) <= 180 and min(lons) >= -180 and (min(lons) >= 0 or max(lons) <= 0)
        assert all(abs(a[0] - b[0]) <= 180 for a, b in itertools.pairwise(piece))
    square = [(10.0, 10.0), (20.0, 10.0), (20.0, 20.0), (10.0, 20.0), (10.0, 10.0)]
    assert split_at_antimeridian(square) == [square]

    m = world()
    for o in m.outlines:  # no stroke of any outline runs across more than a third of the map
        for ring in o.path.split("M")[1:]:
            for dx in re.findall(r"l(-?\d+) -?\d+", ring):
                assert abs(int(dx)) < m.width / 3, o.code
    for code in ("RU", "FJ"):  # drawn at both edges of the map
        path = next(o.path for o in m.outlines if o.code == code)
        starts = [int(x) for x in re.findall(r"M(-?\d+) ", path)]
        assert min(starts) < m.width / 4 and max(starts) > 3 * m.width / 4, code


def _lin(c: int) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _rgb(h: str) -> list[float]:
    return [_lin(int(h[i : i + 2], 16)) for i in (1, 3, 5)]


def _luminance(h: str) -> float:
    r, g, b = _rgb(h)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# Machado, Oliveira & Fernandes 2009, severity 1.0 (linear RGB)
CVD = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
    "typical": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
}


def _lab(rgb: list[float]) -> tuple[float, float, float]:
    r, g, b = (min(1.0, max(0.0, v)) for v in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_map_colours_stay_apart_for_every_kind_of_colour_vision():
    assert len(FILLS) == 5  # no members, then the four bands
    lum = [_luminance(f) for f in FILLS]
    assert lum == sorted(lum, reverse=True)  # more members, darker: readable without hue
    # the first band stands out against a country with no members (WCAG's 3:1 for graphics)
    assert (lum[0] + 0.05) / (lum[1] + 0.05) >= 3
    for kind, m in CVD.items():
        seen = [_lab([sum(m[i][j] * c[j] for j in range(3)) for i in range(3)]) for c in map(_rgb, FILLS)]
        for a, b in itertools.combinations(seen, 2):
            assert sum((p - q) ** 2 for p, q in zip(a, b, strict=True)) ** 0.5 >= 15, kind


def test_the_map_key_is_filled_with_the_maps_own_colours(client):
    html = client.get("/conditions/dfsp").text
    key = html.split('<ul class="map-key">', 1)[1].split("</ul>", 1)[0]
    swatches = re.findall(r'<svg class="swatch"[^>]*>.*?<rect [^>]*fill="(#[0-9a-f]{6})"', key)
    assert swatches == list(FILLS)
    assert "<span" not in key
    assert "no members yet" in key and "fewer than 5" in key and "100 or more" in key
    shaded = set(re.findall(r'<path class="b\d" fill="(#[0-9a-f]{6})"', html))
    assert shaded and shaded <= set(FILLS)


# --- icon arrays -----------------------------------------------------------------------------------------------


def test_patients_see_recurrence_figures_as_100_people(client, kb):
    from tests.test_web_pages import ask

    html = client.get(ask(client, "Is Mohs surgery better than wide excision for DFSP?", audience="patient")).text
    figures = re.findall(r'<figure class="icon-array">(.*?)</figure>', html, re.S)
    assert figures
    captions = [text_of(f.split("<figcaption>", 1)[1]) for f in figures]
    wle = kb.evidence.stats["recurrence_wle_paradisi"].exact  # 288/1394 = 20.7%
    assert f"about {round(100 * wle.p)} had the tumor come back after wide excision" in " ".join(captions)
    assert "about 1 had the tumor come back after Mohs surgery" in " ".join(captions)
    for f, caption in zip(figures, captions, strict=True):
        k = int(re.search(r"about (\d+) ", caption).group(1))
        assert f.count('<g fill="#1f4e79"') == k and f.count("<g ") == 100
    grade = grade_from_counts_of(" ".join(captions))
    assert grade <= 8, grade

    html = client.get(ask(client, "Is Mohs surgery better than wide excision for DFSP?", audience="clinician")).text
    assert "icon-array" not in html  # clinicians read the numbers


def grade_from_counts_of(text: str) -> float:
    from oncoguide.pack.readability import counts

    return grade_from_counts(counts(text))


def test_only_figures_with_patient_words_get_an_icon_array(kb):
    from oncoguide.evidence.pictures import icon_arrays

    topics = kb.contents.evidence
    arrays = icon_arrays(topics, "recurrence_wle_mayo")
    assert [(a.stat, a.x, a.n, a.per_100) for a in arrays] == [
        ("recurrence_mohs_mayo", 2, 67, 3),
        ("recurrence_wle_mayo", 28, 91, 31),
    ]
    assert icon_arrays(topics, "imatinib_ae_any") == []  # side effects: not a recurrence or response figure
    assert icon_arrays(topics, None) == []
