"""Evidence synthesis: the 2019 review reproduced from per-study rows, statistics checked against
published reference values, bad study data refused, computed figures quoted in answers."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest
import yaml

from oncoguide.evidence import stats
from oncoguide.evidence.report import topic_report
from oncoguide.pack.load import PackError, load_pack
from tests.conftest import FLAGSHIP, run_cli


def truncated(x: int, n: int) -> float:
    """The review prints percentages cut (not rounded) to one decimal: 8/152 = 5.26% is printed 5.2%."""
    return math.floor(1000 * x / n) / 10


@pytest.fixture(scope="module")
def ev(kb):
    return kb.evidence


def test_review_totals_from_rows(ev):
    rep = topic_report(ev, "imatinib-dfsp-review-2019")
    totals = {c: (v["x"], v["n"]) for c, v in rep["totals"].items()}
    assert totals == {"cr": (8, 152), "pr": (84, 152), "sd": (42, 152), "pd": (14, 152), "ne": (4, 152)}
    printed = {"cr": 5.2, "pr": 55.2, "sd": 27.6, "pd": 9.2, "ne": 2.6}
    assert {c: truncated(x, n) for c, (x, n) in totals.items()} == printed
    assert len({r["study"] for r in rep["studies"]}) == 9


def test_review_dose_comparison(ev):
    a, b = ev.stats["imatinib_orr_400mg"].exact, ev.stats["imatinib_orr_800mg"].exact
    assert (a.x, a.n, round(100 * a.p, 1)) == (27, 40, 67.5)
    assert (b.x, b.n, round(100 * b.p, 1)) == (49, 73, 67.1)
    c = ev.comparisons["imatinib_dose_400_vs_800"]
    assert c.p_value > 0.99 and c.rd_low < 0 < c.rd_high


def test_corrected_rows_follow_the_primary_papers(ev):
    rep = topic_report(ev, "imatinib-dfsp")
    rows = {r["study"]: r for r in rep["studies"]}
    decog = rows["Ugurel 2014 (DeCOG)"]
    assert (decog["n"], decog["cr"], decog["pr"], decog["sd"], decog["pd"]) == (14, 1, 7, 5, 1)
    pooled = rows["Rutkowski 2010 (EORTC 62027 / SWOG S0345, pooled)"]
    assert (pooled["n"], pooled["cr"], pooled["pr"], pooled["pd"]) == (24, 0, 11, 4)
    totals = {c: (v["x"], v["n"]) for c, v in rep["totals"].items()}
    assert {c: totals[c] for c in ("cr", "pr", "pd")} == {"cr": (9, 152), "pr": (86, 152), "pd": (13, 152)}
    review = {c: v["x"] for c, v in topic_report(ev, "imatinib-dfsp-review-2019")["totals"].items()}
    # how the pooled figures change: one more complete response, two more partial responses, one fewer progression
    change = tuple(totals[c][0] - review[c] for c in ("cr", "pr", "pd"))
    assert change == (1, 2, -1)
    orr = ev.stats["imatinib_primary_orr"].exact
    assert (orr.x, orr.n) == (95, 152) and round(100 * orr.p, 1) == 62.5


def test_escalating_arms_are_marked_and_the_mixed_dose_row_is_in_no_dose_group(ev):
    for topic in ("imatinib-dfsp", "imatinib-dfsp-review-2019"):
        t = ev.topics[topic]
        escalating = {a.id for s in t.studies for a in s.arms if a.attrs.get("escalation") not in (None, "none")}
        assert {"wang-2015", "stacchiotti-2016"} <= escalating
        raised = [a for s in t.studies for a in s.arms if a.attrs["escalation"] == "to 800 mg/day"]
        assert raised and all(a.attrs["dose"] == 400 for a in raised)
    assert "swog-s0345" in {a.id for s in ev.topics["imatinib-dfsp-review-2019"].studies for a in s.arms}
    a, b = ev.stats["imatinib_primary_orr_400mg"].exact, ev.stats["imatinib_primary_orr_800mg"].exact
    assert (a.x, a.n, b.x, b.n) == (23, 32, 44, 57)  # Wang + Stacchiotti; the pooled EORTC/SWOG row left out
    assert ev.comparisons["imatinib_primary_dose_400_vs_800"].p_value > 0.05


def test_pooled_response_conflict_quotes_both_computations(kb):
    conflict = kb.contents.conflicts["imatinib-dfsp-pooled-response-counts"]
    review, primary = (side.position for side in conflict.sides)
    assert "92/152" in review and "27/40" in review and "49/73" in review and "{stat:" not in review
    assert "95/152" in primary and "23/32" in primary and "44/57" in primary and "{cmp:" not in primary


def test_review_adverse_events(ev):
    ae, severe = ev.stats["imatinib_ae_any"].exact, ev.stats["imatinib_ae_severe"].exact
    assert (ae.x, ae.n, truncated(ae.x, ae.n)) == (78, 106, 73.5)
    assert (severe.x, severe.n, truncated(severe.x, severe.n)) == (20, 132, 15.1)


def test_recurrence_figures(ev):
    got = {
        k: (ev.stats[k].exact.x, ev.stats[k].exact.n)
        for k in ("recurrence_mohs_paradisi", "recurrence_wle_paradisi", "recurrence_mohs_mayo", "recurrence_wle_mayo")
    }
    assert got == {
        "recurrence_mohs_paradisi": (6, 463),
        "recurrence_wle_paradisi": (288, 1394),
        "recurrence_mohs_mayo": (2, 67),
        "recurrence_wle_mayo": (28, 91),
    }
    assert round(100 * ev.stats["recurrence_wle_paradisi"].exact.p, 1) == 20.7
    assert ev.comparisons["recurrence_mohs_vs_wle_mayo"].p_value < 0.001


# metafor's dat.bcg (BCG vaccine trials): tpos, tneg, cpos, cneg
BCG = [
    (4, 119, 11, 128),
    (6, 300, 29, 274),
    (3, 228, 11, 209),
    (62, 13536, 248, 12619),
    (33, 5036, 47, 5761),
    (180, 1361, 372, 1079),
    (8, 2537, 10, 619),
    (505, 87886, 499, 87892),
    (29, 7470, 45, 7232),
    (17, 1699, 65, 1600),
    (186, 50448, 141, 27197),
    (5, 2493, 3, 2338),
    (27, 16886, 29, 17825),
]


@pytest.fixture(scope="module")
def bcg():
    y = [math.log((a / (a + b)) / (c / (c + d))) for a, b, c, d in BCG]
    v = [1 / a - 1 / (a + b) + 1 / c - 1 / (c + d) for a, b, c, d in BCG]
    return y, v


@pytest.mark.parametrize(
    "method, estimate, low, high",
    [
        ("EE", -0.4303, -0.5097, -0.3509),  # metafor tests: rma(method="EE") vs Stata metan
        ("DL", -0.7141, -1.0644, -0.3638),  # metafor tests: rma(method="DL") vs Stata metan
    ],
)
def test_meta_analysis_matches_metafor(bcg, method, estimate, low, high):
    r = stats.meta_analysis(*bcg, method=method)
    assert (round(r.estimate, 4), round(r.low, 4), round(r.high, 4)) == (estimate, low, high)
    assert round(r.q, 4) == 152.2330


def test_reml_heterogeneity_matches_metafor(bcg):
    r = stats.meta_analysis(*bcg, method="REML")
    assert abs(r.i2 / 100 - 0.9222139) < 1e-4  # I2 of rma(method="REML") on dat.bcg
    assert round(r.tau2, 4) == 0.3132
    assert r.pred_low < r.low and r.pred_high > r.high


def test_paule_mandel_solves_q_equals_df(bcg):
    y, v = bcg
    r = stats.meta_analysis(y, v, method="PM")
    w = [1 / (vi + r.tau2) for vi in v]
    mu = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sum(w)
    assert abs(sum(wi * (yi - mu) ** 2 for wi, yi in zip(w, y, strict=True)) - (len(y) - 1)) < 1e-6


def test_zero_event_studies_are_corrected_only_for_the_logit():
    y, v, corrected = stats.logit_proportion(0, 10)
    assert corrected and y == pytest.approx(math.log(0.5 / 10.5)) and v == pytest.approx(1 / 0.5 + 1 / 10.5)
    result, fixed = stats.meta_proportions([(0, 10), (5, 10), (10, 10), (3, 12)])
    assert fixed == 2 and 0 < stats.expit(result.estimate) < 1
    ci = stats.clopper_pearson(0, 10)
    assert ci.low == 0 and 0.30 < ci.high < 0.31  # exact upper bound 0.3085


def test_exact_and_wilson_intervals():
    ci = stats.clopper_pearson(27, 40)
    assert (round(ci.low, 3), round(ci.high, 3)) == (0.509, 0.814)
    w = stats.wilson(27, 40)
    assert ci.low < w.low < w.p < w.high < ci.high


def test_fisher_matches_scipy():
    from scipy.stats import fisher_exact

    for a, b, c, d in [(27, 13, 49, 24), (2, 65, 28, 63), (0, 10, 5, 5), (3, 1, 1, 3), (6, 457, 288, 1106)]:
        assert stats.fisher_exact(a, b, c, d) == pytest.approx(fisher_exact([[a, b], [c, d]])[1], rel=1e-9)


@pytest.mark.parametrize("bad, msg", [((5, 4), "outside"), ((-1, 4), "outside"), ((0, 0), "positive")])
def test_invalid_counts_raise(bad, msg):
    with pytest.raises(ValueError, match=msg):
        stats.clopper_pearson(*bad)


def _break_arm(pack, mutate):
    path = pack / "evidence" / "imatinib-dfsp.yaml"
    data = yaml.safe_load(path.read_text())
    mutate(data["studies"][1]["arms"][0])
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return data["studies"][1]["id"]


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda a: a["counts"].update(pr=30), "exceeds n"),
        (lambda a: a["counts"].update(sd=-1), "negative count"),
        (lambda a: a.update(n=0), "n must be positive"),
        (lambda a: a["counts"].update(pr=14), "add up to"),
    ],
)
def test_bad_study_rows_name_study_and_field(pack_copy, mutate, words):
    study = _break_arm(pack_copy, mutate)
    with pytest.raises(PackError) as info:
        load_pack(pack_copy)
    hits = [p for p in info.value.problems if words in p.message]
    assert hits and hits[0].entry == study and hits[0].field.startswith("arm 'wang-2015'")


def test_typed_number_that_disagrees_is_refused(pack_copy):
    path = pack_copy / "claims" / "dfsp-systemic.yaml"
    data = yaml.safe_load(path.read_text())
    claim = next(c for c in data if c.get("statistic") == "imatinib_orr_400mg")
    claim["clinician"] = "Response was 28/40 (70.0%) at 400 mg/day in the review."
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    with pytest.raises(PackError) as info:
        load_pack(pack_copy)
    assert any(
        p.entry == claim["id"] and "disagrees" in p.message and "27/40" in p.message for p in info.value.problems
    )


def test_unknown_statistic_name_is_refused(pack_copy):
    path = pack_copy / "claims" / "dfsp-systemic.yaml"
    data = yaml.safe_load(path.read_text())
    data[0]["clinician"] += " Response {stat:imatinib_orr_1200mg}."
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    with pytest.raises(PackError) as info:
        load_pack(pack_copy)
    assert any("imatinib_orr_1200mg" in p.message for p in info.value.problems)


def test_flagship_quotes_computed_figures(kb):
    a = kb.ask(FLAGSHIP)
    text = " ".join(st.text for st in a.statements())
    assert "27/40 (67.5%; 95% CI 50.9-81.4%)" in text and "49/73 (67.1%; 95% CI 55.1-77.7%)" in text
    assert "{stat:" not in text and "{cmp:" not in text


def test_forest_svg_is_well_formed(ev):
    from oncoguide.evidence.forest import forest_svg

    t = ev.topics["imatinib-dfsp"]
    rows, result, corrected = ev.forest(t, "REML")
    svg = forest_svg("Imatinib response", rows, result, corrected)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.find(f"{ns}title").text == "Imatinib response"
    assert len(root.findall(f"{ns}rect")) == 1 + len(rows)  # background + one square per study
    assert len(root.findall(f"{ns}polygon")) == 1  # the pooled diamond
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_cli_evidence_json_and_svg():
    res = run_cli("evidence", "imatinib-dfsp-review-2019", "--by", "dose", "--format", "json")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert rep["comparisons"][0]["p_text"] == "P > .99"
    assert {g["group"] for g in rep["by"]["groups"]} == {"400", "600", "800"}
    assert rep["meta_analysis"]["REML"]["k"] == 10
    res = run_cli("evidence", "imatinib-dfsp", "--by", "dose", "--format", "json")
    rep = json.loads(res.stdout)
    assert {g["group"] for g in rep["by"]["groups"]} == {"400", "400 or 800", "600", "800"}
    assert rep["meta_analysis"]["REML"]["k"] == 9  # the EORTC/SWOG report is one pooled row
    res = run_cli("evidence", "imatinib-dfsp", "--format", "svg")
    assert res.returncode == 0 and res.stdout.startswith("<svg")
    res = run_cli("evidence", "no-such-topic")
    assert res.returncode == 2 and "unknown evidence topic" in res.stderr


def test_navigator_counts_round_to_the_reported_percentages(ev, kb):
    t = ev.topics["avapritinib-d842v"]
    (arm,) = [a for s in t.studies for a in s.arms]
    reported = {"cr": 9, "pr": 79, "sd": 13, "pd": 0}  # percentages of 56 in the trial report
    half_up = {c: math.floor(100 * arm.counts[c] / arm.n + 0.5) for c in reported}  # 7/56 = 12.5% is printed 13%
    assert arm.n == 56 and half_up == reported
    orr = ev.stats["avapritinib_d842v_orr"].exact
    assert (orr.x, orr.n) == (49, 56)
    a = kb.ask("How well does avapritinib work for PDGFRA D842V GIST?")
    text = " ".join([str(a.bottom_line)] + [st.text for st in a.statements()])
    assert "49/56 (87.5%" in text and "{stat:" not in text


def test_eortc_62012_responses_by_arm_are_computed_and_quoted(ev, kb):
    t = ev.topics["doxorubicin-ifosfamide-eortc-62012"]
    arms = {a.attrs["regimen"]: a for s in t.studies for a in s.arms}
    assert {r: (a.counts["response"], a.n) for r, a in arms.items()} == {
        "doxorubicin-ifosfamide": (60, 227),
        "doxorubicin": (31, 228),
    }
    # the report prints 26% and 14%
    assert [round(100 * ev.stats[k].exact.p) for k in ("eortc62012_orr_dox_ifo", "eortc62012_orr_dox")] == [26, 14]
    c = ev.comparisons["eortc62012_orr_combination_vs_single"]
    assert c.p_value < 0.001 and 0 < c.rd_low < c.risk_difference < c.rd_high
    a = kb.ask("Does adding ifosfamide to doxorubicin shrink advanced soft tissue sarcoma more often?")
    text = " ".join([str(a.bottom_line)] + [st.text for st in a.statements()])
    assert "60/227 (26.4%" in text and "31/228 (13.6%" in text and "{stat:" not in text and "{cmp:" not in text
