"""A patient described as a FHIR Bundle: `oncoguide recommend --fhir` and POST /api/recommend read the
coded record (through the pack's algorithm/codes.yaml) into the algorithm's facts."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncoguide.fhir.cards import card_question
from oncoguide.fhir.patient import FhirInputError, codebook, read_fhir, recommend_fhir
from oncoguide.pack.load import PackError, load_pack
from tests.conftest import run_cli
from tests.fhir_records import (
    ICD10,
    ICDO3,
    LOINC,
    METASTATIC_DFSP,
    SNOMED,
    bundle,
    coding,
    condition,
    kit_gist,
    metastatic_dfsp,
    observation,
    stage_iv_sts,
)


def test_a_metastatic_dfsp_bundle_yields_the_metastatic_dfsp_recommendations(kb_settings):
    out = run_cli("recommend", "--fhir", str(METASTATIC_DFSP), "--format", "json", db=kb_settings.db)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["condition"] == "dfsp" and rec["group"]["id"] == "dfsp-metastatic"
    assert any("imatinib" in s["name"].lower() for s in rec["steps"])
    read = {(d["resource"], d["fact"]) for d in rec["derived"]}
    assert ("Condition/dfsp-primary", "condition") in read and ("Condition/lung-mets", "metastases") in read
    text = run_cli("recommend", "--fhir", str(METASTATIC_DFSP), db=kb_settings.db).stdout
    assert "Read from the FHIR record:" in text and "DFSP: metastatic (nodal or distant spread)" in text


def test_the_api_takes_the_same_bundle_and_answers_as_the_cli(client, kb_settings):
    cli = json.loads(run_cli("recommend", "--fhir", str(METASTATIC_DFSP), "--format", "json", db=kb_settings.db).stdout)
    r = client.post(
        "/api/recommend", content=METASTATIC_DFSP.read_bytes(), headers={"content-type": "application/fhir+json"}
    )
    assert r.status_code == 200 and r.json() == cli
    assert client.post("/api/recommend", json=metastatic_dfsp()).json() == cli


def test_the_cli_reads_a_bundle_from_standard_input(kb_settings):
    out = run_cli("recommend", "--fhir", "-", "--format", "json", stdin=json.dumps(kit_gist()), db=kb_settings.db)
    rec = json.loads(out.stdout)
    assert rec["group"]["id"] == "gist-recurrent-or-metastatic" and rec["genotype"] == "kit"


def test_stage_tnm_and_metastases_in_two_organs_choose_disseminated_sts(client):
    rec = client.post("/api/recommend", json=stage_iv_sts()).json()
    assert rec["group"]["id"] == "sts-ext-stage-4-disseminated"
    assert rec["facts"]["stage"] == ["IV"] and rec["facts"]["site"] == ["extremity"]
    assert {d["fact"] for d in rec["derived"]} >= {"stage", "metastases", "site"}
    assert any(d["because"].startswith("M1: Distant metastases.clinical") for d in rec["derived"])


def test_a_histology_code_outranks_a_soft_tissue_site_code(kb):
    """DFSP recorded under ICD-10 C49.1 (soft tissue of the arm) is DFSP on the arm, not a sarcoma NOS."""
    rec = recommend_fhir(kb, bundle(condition("d", coding(ICD10, "C49.1"), coding(ICDO3, "8832/1"))))
    assert rec.condition == "dfsp" and rec.facts["site"] == ["extremity"]


def test_n0_m0_means_no_spread_and_a_negative_genetic_test_sets_no_genotype(kb):
    record = bundle(
        condition("g", coding(SNOMED, "420120006")),
        observation("n", coding(LOINC, "21906-3"), {"coding": [coding("http://cancerstaging.org", "cN0")]}),
        observation("m", coding(LOINC, "21907-1"), {"text": "cM0"}),
        observation("v", coding(LOINC, "69548-6"), {"text": "KIT mutation not detected"}),
    )
    reading = read_fhir(kb, record)
    (patient,) = reading.patients
    assert patient.facts["metastases"] == {"none"} and patient.genotype is None
    assert any("negative result" in line for line in reading.ignored)


@pytest.mark.parametrize(
    "record, message",
    [
        (
            bundle(condition("a", coding(SNOMED, "276799004")), condition("b", coding(SNOMED, "420120006"))),
            "more than one condition (dfsp, gist)",
        ),
        (bundle(condition("a", coding(SNOMED, "44054006", "Diabetes mellitus type 2"))), "no Condition coded as DFSP"),
        (
            bundle(condition("a", coding(SNOMED, "276799004")), condition("b", coding(ICD10, "C78.0"), patient="p2")),
            "more than one patient (Patient/p2, Patient/pat-1)",
        ),
        ({"resourceType": "Bundle", "entry": ["not an entry"]}, "bundle.entry[0]: must be a JSON object"),
        (
            {"resourceType": "Bundle", "entry": [{"resource": {"code": {}}}]},
            "bundle.entry[0].resource.resourceType: must be a non-empty string",
        ),
        (
            bundle(condition("a", coding(SNOMED, "276799004"), coding(SNOMED, "420120006"))),
            "Condition/a.code: codes for different conditions",
        ),
        (
            bundle(condition("a", coding(ICD10, "C49.1"), coding(ICD10, "C48.0"))),
            "Condition/a.code: the codes give site extremity and retroperitoneal",
        ),
        (
            bundle(
                condition("a", coding(SNOMED, "276799004")),
                observation("s1", coding(LOINC, "21908-9"), {"text": "Stage II"}),
                observation("s2", coding(LOINC, "21902-2"), {"text": "Stage IV"}),
            ),
            "more than one stage group (II, IV)",
        ),
        (bundle(condition("a", coding(SNOMED, "276799004"), coding(ICD10, "C48.0"))), "DFSP arises in the skin"),
        ({"resourceType": "OperationOutcome"}, "is an OperationOutcome"),
    ],
)
def test_records_that_cannot_be_read_are_refused_with_the_reason(client, record, message):
    r = client.post("/api/recommend", json=record)
    assert r.status_code == 422 and message in r.json()["error"], r.json()


def test_cli_errors_are_one_line_with_exit_status_2(kb_settings, tmp_path):
    two = tmp_path / "two.json"
    two.write_text(
        json.dumps(bundle(condition("a", coding(SNOMED, "276799004")), condition("b", coding(SNOMED, "420120006"))))
    )
    for args, message in [
        (["--fhir", str(two)], "more than one condition"),
        (["--fhir", str(tmp_path / "missing.json")], "cannot be read"),
        (["--fhir", str(METASTATIC_DFSP), "--condition", "dfsp"], "leave out the vignette"),
    ]:
        out = run_cli("recommend", *args, db=kb_settings.db)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"resourceType": "Bundle", "entry": [}')
    out = run_cli("recommend", "--fhir", str(bad), db=kb_settings.db)
    assert out.returncode == 2 and "not valid JSON" in out.stderr and "line 1" in out.stderr


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceType",
                    "entry",
                    "resource",
                    "code",
                    "coding",
                    "system",
                    "subject",
                    "reference",
                    "clinicalStatus",
                    "bodySite",
                    "stage",
                    "summary",
                    "text",
                    "valueCodeableConcept",
                    "component",
                    "id",
                    "status",
                    "display",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)
TYPES = st.sampled_from(["Bundle", "Condition", "Observation", "Patient", "OperationOutcome"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=JSON, rtype=TYPES)
def test_any_json_is_read_or_refused_by_name_never_crashes(kb, record, rtype):
    if isinstance(record, dict) and "resourceType" in record:
        record["resourceType"] = rtype
    try:
        read_fhir(kb, record)
    except FhirInputError as exc:
        assert str(exc)


def test_every_code_in_the_pack_reads_as_what_it_says(kb):
    """Each listed code, alone on a Condition (as a bodySite for site-only codes), gives its facts."""
    book = codebook(kb)
    spec = kb.contents.algorithm.codes
    for entry in spec.conditions:
        for name in entry.system:
            code = entry.code + ("1" if entry.match == "prefix" else "")
            sets = entry.sets
            res = condition("x", coding(book.systems[name], code))
            if "condition" not in sets and "metastases" not in sets:  # a site: on a DFSP or sarcoma Condition
                res = condition(
                    "x", coding(SNOMED, "276799004"), bodySite=[{"coding": [coding(book.systems[name], code)]}]
                )
            record = (
                bundle(res) if "metastases" not in sets else bundle(condition("p", coding(SNOMED, "276799004")), res)
            )
            (patient,) = read_fhir(kb, record).patients
            expected = {**({"condition": "dfsp"} if "condition" not in sets else {}), **sets}
            assert patient.condition == expected["condition"], entry
            for fact, value in sets.items():
                if fact != "condition":
                    assert patient.facts[fact] == set(value.split("|")), (entry, name)


def test_each_groups_card_links_to_an_answer_about_that_group(kb):
    for group in kb.algorithm.group_list():
        rec = kb.algorithm.group_detail(group.id)
        answer = kb.ask(card_question(rec, kb.contents.lexicon.conditions))
        assert answer.in_scope and answer.understood["condition"] == group.condition and answer.sections, (
            group.id,
            answer.title,
        )
        spread = any(w in group.id for w in ("metastatic", "stage-4", "disseminated"))
        assert ("Metastatic" in answer.title) == spread, (group.id, answer.title)


def _codes_problems(pack_copy, mutate):
    path = pack_copy / "algorithm" / "codes.yaml"
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(PackError) as info:
        load_pack(pack_copy)
    return [str(p) for p in info.value.problems]


def test_pack_check_refuses_unknown_systems_facts_and_values(pack_copy):
    def unknown_system(d):
        d["conditions"][0]["system"] = ["read-codes"]

    def unknown_value(d):
        d["conditions"][0]["sets"] = {"metastases": "everywhere"}

    def unknown_fact(d):
        d["conditions"][0]["sets"] = {"colour": "blue"}

    def twice(d):
        d["conditions"].append(dict(d["conditions"][0]))

    assert any("unknown system 'read-codes'" in p for p in _codes_problems(pack_copy, unknown_system))
    assert any("unknown value 'everywhere'" in p for p in _codes_problems(pack_copy, unknown_value))
    assert any("unknown fact 'colour'" in p for p in _codes_problems(pack_copy, unknown_fact))
    assert any("listed twice" in p for p in _codes_problems(pack_copy, twice))
