"""Treatment algorithm: every group reachable from criteria and from free text; missing and
contradictory facts are never guessed; the content matches a checklist written from the source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from oncoguide.algorithm.groups import CriteriaError
from tests.conftest import run_cli

VIGNETTES = {
    "sts-ext-stage-1": [
        "45-year-old with a 4 cm low-grade liposarcoma of the thigh, no metastases",
        "low-grade sarcoma of the forearm measuring 7 cm without metastases",
    ],
    "sts-ext-stage-2-resectable": [
        "3 cm high-grade sarcoma of the upper arm, resectable, no metastases",
        "high-grade soft tissue sarcoma of the calf, 4.5 cm, operable, no distant metastases",
    ],
    "sts-ext-stage-3-resectable": [
        "62-year-old with an 8 cm deep high-grade sarcoma of the thigh, no metastases, resectable",
        "stage III leiomyosarcoma of the leg that can be removed, no metastases",
        "resectable stage IV sarcoma of the thigh with regional lymph node metastases",
    ],
    "sts-ext-stage-3-unresectable": [
        "unresectable 12 cm high-grade sarcoma of the thigh, no metastases",
        "stage III sarcoma of the shoulder, inoperable, no distant metastases",
    ],
    "sts-ext-stage-4-oligometastatic": [
        "thigh sarcoma with a single lung metastasis",
        "extremity soft tissue sarcoma with oligometastatic disease",
    ],
    "sts-ext-stage-4-disseminated": [
        "leg sarcoma with multiple lung metastases",
        "widely metastatic sarcoma of the arm",
    ],
    "sts-ext-recurrent": [
        "local recurrence of a thigh sarcoma, no metastases",
        "recurrent soft tissue sarcoma of the forearm",
    ],
    "sts-rp-resectable": [
        "resectable retroperitoneal liposarcoma",
        "recurrent retroperitoneal sarcoma that can be removed, no metastases",
    ],
    "sts-rp-unresectable": [
        "unresectable retroperitoneal sarcoma",
        "inoperable intra-abdominal sarcoma without metastases",
    ],
    "sts-rp-metastatic-limited": [
        "retroperitoneal leiomyosarcoma with a solitary liver metastasis",
        "oligometastatic retroperitoneal sarcoma",
    ],
    "sts-rp-disseminated": [
        "retroperitoneal sarcoma with widespread metastases",
        "disseminated intra-abdominal sarcoma",
    ],
    "gist-resectable-minimal-morbidity": [
        "3 cm gastric GIST, resectable with minimal morbidity",
        "small bowel GIST, operable with low morbidity",
    ],
    "gist-resectable-significant-morbidity": [
        "resectable gastric GIST that would require total gastrectomy",
        "duodenal GIST, operable but with significant morbidity",
    ],
    "gist-unresectable": ["unresectable gastric GIST", "inoperable small bowel GIST without metastases"],
    "gist-progressive": ["metastatic GIST progressing on imatinib", "gastric GIST resistant to imatinib"],
    "gist-recurrent-or-metastatic": [
        "GIST with multiple liver metastases",
        "recurrent gastric GIST after resection, no metastases",
    ],
    "dfsp-localized": [
        "primary DFSP of the back, resectable",
        "newly diagnosed dermatofibrosarcoma protuberans on the shoulder, can be removed",
    ],
    "dfsp-margin-positive": [
        "DFSP excised with positive margins",
        "dermatofibrosarcoma protuberans after incomplete excision",
    ],
    "dfsp-unresectable": [
        "unresectable DFSP of the chest wall",
        "dermatofibrosarcoma protuberans of the scalp that cannot be removed",
    ],
    "dfsp-metastatic": ["DFSP with lung metastases", "stage 4 dermatofibrosarcoma protuberans"],
    "dfsp-fibrosarcomatous": ["resectable fibrosarcomatous DFSP of the thigh", "FS-DFSP, operable, no metastases"],
    "dfsp-recurrent": [
        "recurrent DFSP of the back, resectable",
        "dermatofibrosarcoma protuberans that came back after excision, can be removed",
    ],
}


@pytest.fixture(scope="module")
def groups(kb):
    return {g.id: g for g in kb.algorithm.group_list()}


def test_all_groups_present(groups):
    assert set(groups) == set(VIGNETTES)
    assert sum(g.condition in ("sts", "gist") for g in groups.values()) == 16


@pytest.mark.parametrize("group_id", sorted(VIGNETTES))
def test_reachable_from_criteria(kb, groups, group_id):
    g = groups[group_id]
    dims = kb.algorithm.dims
    for alt in g.criteria:
        criteria = {dim: vals[0] for dim, vals in alt.items()}
        for dim in kb.algorithm.spec.conditions[g.condition]:
            if dims[dim].default:
                criteria.setdefault(dim, dims[dim].default)
        rec = kb.recommend(condition=g.condition, **criteria)
        assert rec.group is not None and rec.group.id == group_id, (criteria, rec.candidates)


@pytest.mark.parametrize("group_id, vignette", [(g, v) for g, vs in VIGNETTES.items() for v in vs])
def test_reachable_from_vignettes(kb, group_id, vignette):
    rec = kb.recommend(vignette)
    assert rec.group is not None, (vignette, rec.missing, rec.candidates, rec.notes)
    assert rec.group.id == group_id


def test_every_step_is_cited_and_drugs_are_known(kb, groups):
    drugs = {d.name for d in kb.contents.algorithm.drugs}
    for g in groups.values():
        for st in g.steps:
            assert st.citations
            for opt in st.options:
                for regimen in opt.regimens:
                    assert set(regimen) <= drugs | {a.lower() for d in kb.contents.algorithm.drugs for a in d.also}


def test_missing_resectability_is_asked_not_guessed(kb):
    rec = kb.recommend("stage III sarcoma of the thigh, no metastases")
    assert rec.group is None and not rec.steps
    assert {c.id for c in rec.candidates} == {"sts-ext-stage-3-resectable", "sts-ext-stage-3-unresectable"}
    assert [m.dimension for m in rec.missing] == ["resectable"]
    assert rec.missing[0].values == ["yes", "no"]


def test_missing_morbidity_for_resectable_gist(kb):
    rec = kb.recommend(condition="gist", resectable="yes")
    assert rec.group is None
    assert [m.dimension for m in rec.missing] == ["morbidity"]


def test_single_candidate_with_unstated_fact_still_asks(kb):
    rec = kb.recommend("high-grade 3 cm sarcoma of the arm, no metastases")
    assert rec.group is None and [c.id for c in rec.candidates] == ["sts-ext-stage-2-resectable"]
    assert [m.dimension for m in rec.missing] == ["resectable"]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(condition="sts", site="extremity", stage="I", metastases="disseminated"), "stage I-III"),
        (dict(condition="gist", site="extremity", resectable="yes"), "GIST"),
        (dict(condition="sts", stage="IV", metastases="none", site="extremity"), "stage IV"),
        (dict(condition="sts", stage="V"), "stage 'V'"),
        (dict(condition="lymphoma"), "unknown condition"),
        (dict(condition="sts", colour="red"), "unknown criterion"),
    ],
)
def test_contradictory_or_invalid_criteria_are_refused(kb, kwargs, words):
    with pytest.raises(CriteriaError, match=words):
        kb.recommend(**kwargs)


def test_contradiction_in_free_text(kb):
    with pytest.raises(CriteriaError, match="GIST"):
        kb.recommend("GIST of the thigh, resectable")


def test_assumptions_are_reported(kb):
    rec = kb.recommend("unresectable retroperitoneal sarcoma")
    assert rec.assumed.get("metastases") == "none" and rec.assumed.get("recurrence") == "primary"


CHECKLISTS = sorted((Path(__file__).parent / "data").glob("checklist-*.yaml"))


@pytest.mark.parametrize("path", CHECKLISTS, ids=lambda p: p.name)
def test_content_covers_the_source_checklist(groups, path):
    for item in yaml.safe_load(path.read_text()):
        g = groups[item["group"]]
        pack_regimens = {frozenset(d.lower() for d in r) for st in g.steps for o in st.options for r in o.regimens}
        for step in item["steps"]:
            for regimen in step.get("regimens", []):
                assert frozenset(d.lower() for d in regimen) in pack_regimens, (item["group"], regimen)
        names = " ".join(st.name.lower() for st in g.steps)
        for step in item["steps"]:
            first_word = step["name"].lower().split()[0]
            assert first_word in names, (item["group"], step["name"])


def test_cli_recommend_json():
    res = run_cli(
        "recommend",
        "--condition",
        "sts",
        "--site",
        "extremity",
        "--stage",
        "III",
        "--resectable",
        "yes",
        "--metastases",
        "none",
        "--format",
        "json",
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["group"]["id"] == "sts-ext-stage-3-resectable"
    step = data["steps"][0]
    assert set(step) >= {"name", "tier", "timing", "applies_when", "rationale", "options", "citations"}
    assert {s["tier"] for s in data["steps"]} <= {"all", "some"}
    assert data["references"] and all(
        n in {r["n"] for r in data["references"]} for s in data["steps"] for n in s["citations"]
    )


def test_cli_recommend_missing_and_errors():
    res = run_cli("recommend", "--condition", "sts", "--site", "extremity", "--stage", "III", "--format", "json")
    assert res.returncode == 0
    assert [m["dimension"] for m in json.loads(res.stdout)["missing"]] == ["resectable"]
    res = run_cli("recommend", "--condition", "sts", "--stage", "I", "--metastases", "disseminated")
    assert res.returncode == 2 and "contradictory" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("recommend")
    assert res.returncode == 2 and "describe the patient" in res.stderr


def test_cli_groups_lists_all():
    res = run_cli("groups", "--condition", "gist")
    assert res.returncode == 0
    assert len(res.stdout.strip().splitlines()) == 5


def test_answer_uses_the_matched_group(kb):
    a = kb.ask("How should an unresectable retroperitoneal sarcoma be treated?")
    sec = next(s for s in a.sections if s.id == "algorithm")
    assert "unresectable" in sec.heading.lower() or "Retroperitoneal" in sec.heading
    assert all(st.citations and st.kind == "algorithm" for st in sec.statements)
    assert a.understood["condition"] == "sts"


def test_patient_answer_has_no_algorithm_section(kb):
    a = kb.ask("How should an unresectable retroperitoneal sarcoma be treated?", audience="patient")
    assert all(s.id != "algorithm" for s in a.sections)


def _options(rec):
    return [o for st in rec.steps for o in st.options]


def test_mutation_marks_the_regimen_options_for_that_genotype(kb):
    rec = kb.recommend(condition="gist", site="gastrointestinal", metastases="disseminated", mutation="kit-exon9")
    assert rec.genotype == "kit-exon9"
    fits = [o for o in _options(rec) if o.matches]
    assert fits and all("exon 9" in o.applies_when for o in fits)
    assert any(o.matches is False and "D842V" in (o.applies_when or "") for o in _options(rec))
    plain = kb.recommend(condition="gist", site="gastrointestinal", metastases="disseminated")
    assert {o.matches for o in _options(plain)} == {None}


@pytest.mark.parametrize(
    "text, genotype",
    [
        ("metastatic gastric GIST with a PDGFRA D842V mutation", "pdgfra-d842v"),
        ("metastatic GIST of the small bowel, KIT exon 9 mutation", "kit-exon9"),
        ("metastatic SDH-deficient GIST of the stomach", "sdh-deficient"),
        ("metastatic GIST of the stomach with an exon 11 KIT mutation", "kit"),
        ("metastatic GIST of the stomach", None),
    ],
)
def test_genotype_is_read_from_a_vignette(kb, text, genotype):
    assert kb.recommend(text).genotype == genotype


def test_ntrk_fusion_sarcoma_gets_trk_inhibitors_marked(kb):
    rec = kb.recommend("unresectable 9 cm high-grade sarcoma of the thigh with an NTRK gene fusion, no metastases")
    assert rec.genotype == "ntrk"
    trk = [o for o in _options(rec) if o.matches]
    assert trk and {d for o in trk for r in o.regimens for d in r} >= {"larotrectinib", "entrectinib"}


def test_unknown_mutation_is_refused(kb):
    with pytest.raises(CriteriaError, match="mutation 'kit-exon99' is not one of"):
        kb.recommend(condition="gist", metastases="disseminated", mutation="kit-exon99")
