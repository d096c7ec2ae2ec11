"""FHIR R5 export: every resource validated with the fhir.resources R5 models, and its content checked
against the pack (algorithm, sources) and the evidence module's computed statistics; the /fhir endpoints
and `oncoguide fhir export`."""

from __future__ import annotations

import json
import math

import pytest
from fhir.resources import get_fhir_model_class

from oncoguide.fhir import CANONICAL_BASE, FHIR_VERSION, RESOURCE_TYPES, build_export
from oncoguide.fhir.export import ID_PATTERN, STRENGTH_EXTENSION
from tests.conftest import run_cli

STRENGTH_SYSTEM = "http://terminology.hl7.org/CodeSystem/recommendation-strength"
CPG_PROFILE = "http://hl7.org/fhir/uv/cpg/StructureDefinition/cpg-recommendationdefinition"
# R5 ActivityDefinition.kind is bound (required) to the request resource types
REQUEST_KINDS = {"ServiceRequest", "MedicationRequest"}


@pytest.fixture(scope="module")
def ex(kb):
    return build_export(kb)


def validate(resource: dict):
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def strength_of(action: dict) -> str:
    (ext,) = [e for e in action.get("extension", []) if e["url"] == STRENGTH_EXTENSION]
    (coding,) = ext["valueCodeableConcept"]["coding"]
    assert coding["system"] == STRENGTH_SYSTEM
    return coding["code"]


def walk(value):
    """Every dict nested in a resource."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def test_every_resource_and_the_bundle_validate_as_r5(ex):
    resources = ex.all()
    assert ex.counts() == {rtype: len(ex.resources[rtype]) for rtype in RESOURCE_TYPES}
    assert all(ex.counts().values())
    for r in resources:
        validate(r)
        assert ID_PATTERN.match(r["id"]), r["id"]
        assert f"http://hl7.org/fhir/StructureDefinition/{r['resourceType']}|{FHIR_VERSION}" in r["meta"]["profile"]
        assert r["url"] == f"{CANONICAL_BASE}/{r['resourceType']}/{r['id']}"
        assert r["status"] == "active"
    bundle = ex.bundle()
    validate(bundle)
    assert bundle["type"] == "collection" and len(bundle["entry"]) == len(resources)
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    json.dumps(bundle, allow_nan=False)  # no NaN or infinity anywhere
    # every canonical reference resolves inside the bundle
    urls = {r["url"] for r in resources}
    refs = [d[k] for d in walk(resources) for k in ("definitionCanonical", "resource") if k in d]
    assert refs and not [u for u in refs if u not in urls]


def test_plan_definitions_follow_the_algorithm(ex, kb):
    alg = kb.algorithm
    assert len(ex.resources["PlanDefinition"]) == len(alg.group_summaries())
    for summary in alg.group_summaries():
        pd = ex.get("PlanDefinition", summary["id"])
        rec = alg.group_detail(summary["id"])
        assert CPG_PROFILE in pd["meta"]["profile"]
        assert pd["type"]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
            "code": "eca-rule",
            "display": "ECA Rule",
        }
        assert pd["title"] == rec.group.label and pd["description"] == rec.group.definition
        assert len(pd["action"]) == len(rec.steps)
        for action, step, raw in zip(pd["action"], rec.steps, rec.raw_steps, strict=True):
            assert action["title"] == step.name and action["description"] == step.rationale
            assert strength_of(action) == {"all": "strong", "some": "weak"}[step.tier]
            assert f"timing: {step.timing}" in action["textEquivalent"]
            conditions = action["condition"]
            assert all(c["kind"] == "applicability" for c in conditions)
            assert f"condition = '{summary['condition']}'" in conditions[0]["expression"]["expression"]
            if step.applies_when:
                assert conditions[1]["expression"]["expression"] == step.applies_when
            assert [d["label"] for d in action["documentation"]] == [c.source for c in raw.citations]
            regimens = [" + ".join(r) for o in step.options for r in o.regimens]
            if regimens:
                assert [sub["title"] for sub in action["action"]] == regimens
            else:
                assert "definitionCanonical" in action


def test_metastatic_dfsp_recommends_imatinib_with_its_activity_definition(ex, kb):
    pd = ex.get("PlanDefinition", "dfsp-metastatic")
    assert (
        "metastases in ('regional-nodes', 'oligometastatic', 'disseminated')"
        in pd["action"][0]["condition"][0]["expression"]["expression"]
    )
    (imatinib,) = [a for a in pd["action"] if a["title"] == "imatinib"]
    assert strength_of(imatinib) == "strong"
    (option,) = imatinib["action"]
    ad = next(r for r in ex.resources["ActivityDefinition"].values() if r["url"] == option["definitionCanonical"])
    step = next(s for s in kb.algorithm.group_detail("dfsp-metastatic").steps if s.name == "imatinib")
    assert ad["kind"] == "MedicationRequest" and ad["productCodeableConcept"] == {"text": "imatinib"}
    assert ad["dosage"] == [{"text": step.dosing}] and "800 mg/day" in step.dosing
    # the SOME-tier steps are weak (conditional); radiotherapy is a service request, not a drug
    radiotherapy = next(a for a in pd["action"] if a["title"] == "radiotherapy")
    assert strength_of(radiotherapy) == "weak"
    rt = ex.get("ActivityDefinition", radiotherapy["definitionCanonical"].rsplit("/", 1)[1])
    assert rt["kind"] == "ServiceRequest" and rt["code"] == {"text": "radiotherapy"}
    # pazopanib and sunitinib after imatinib failure: one option each, each with its own ActivityDefinition
    later = next(a for a in pd["action"] if a["title"] == "other kinase inhibitor after imatinib failure")
    assert [s["title"] for s in later["action"]] == ["sunitinib", "pazopanib"]
    assert all(a["extension"] for a in pd["action"])


def test_genotype_options_carry_their_condition(ex):
    pd = ex.get("PlanDefinition", "gist-resectable-significant-morbidity")
    subs = {s["title"]: s for s in pd["action"][0]["action"]}
    avapritinib = subs["avapritinib"]["condition"][0]["expression"]
    assert avapritinib["expression"] == "genotype = 'pdgfra-d842v'"
    assert "D842V" in avapritinib["description"]
    assert ex.get("ActivityDefinition", "gist-resectable-significant-morbidity-step1-avapritinib")


def test_activity_definitions_are_requests_with_the_pack_dosing(ex, kb):
    ads = ex.resources["ActivityDefinition"].values()
    assert {ad["kind"] for ad in ads} == REQUEST_KINDS
    drugs = [ad for ad in ads if ad["kind"] == "MedicationRequest"]
    assert all("productCodeableConcept" in ad and "code" not in ad for ad in drugs)
    dosings = {s.dosing for g in kb.algorithm.groups for s in g.steps if s.dosing}
    assert {d["text"] for ad in drugs for d in ad.get("dosage", [])} <= dosings


def test_citations_carry_the_source_identifiers(ex, kb):
    sources = kb.contents.sources
    assert len(ex.resources["Citation"]) == len(sources)
    for sid, src in sources.items():
        art = ex.get("Citation", sid)["citedArtifact"]
        ids = {i["system"]: i["value"] for i in art.get("identifier", [])}
        assert ids.get("https://pubmed.ncbi.nlm.nih.gov") == src.pmid
        assert ids.get("https://doi.org") == src.doi
        assert art["title"] == [{"text": src.title}]
        assert f"Level {src.level} " in art["classification"][1]["classifier"][0]["text"]
    nd = ex.get("Citation", "navarrete-dechent-2019")["citedArtifact"]
    assert {"system": "https://pubmed.ncbi.nlm.nih.gov", "value": "30601909"} in [
        {k: i[k] for k in ("system", "value")} for i in nd["identifier"]
    ]
    form = nd["publicationForm"][0]
    assert form["publishedIn"]["title"] == "JAMA Dermatology" and form["articleDate"] == "2019"
    assert (form["volume"], form["issue"], form["pageString"]) == ("155", "3", "361-369")
    # a guideline with no PubMed record gets no invented PMID
    assert sources["nccn-dfsp-2025"].pmid is None
    nccn = ex.get("Citation", "nccn-dfsp-2025")["citedArtifact"].get("identifier", [])
    assert not [i for i in nccn if i["system"] == "https://pubmed.ncbi.nlm.nih.gov"]


def test_evidence_equals_the_evidence_module(ex, kb):
    ev = kb.evidence
    evidence = ex.resources["Evidence"]
    assert not [r for r in evidence.values() if "certainty" in r]  # the pack rates no certainty
    for s in ev.stats.values():
        stat = evidence[s.id.replace("_", "-")]["statistic"][0]
        if stat["statisticType"]["coding"][0]["code"] == "C25463":  # a count of patients
            assert stat["quantity"]["value"] == s.exact.n
            continue
        assert stat["statisticType"]["coding"][0]["code"] == "C44256"
        assert stat["quantity"]["value"] == s.exact.p and stat["numberOfEvents"] == s.exact.x
        assert stat["sampleSize"]["numberOfParticipants"] == s.exact.n
        ci = stat["attributeEstimate"][0]
        assert ci["type"]["coding"][0]["code"] == "C53324" and ci["level"] == 0.95
        assert (ci["range"]["low"]["value"], ci["range"]["high"]["value"]) == (s.exact.low, s.exact.high)
    report = ev.report("imatinib-dfsp-review-2019")
    orr = next(r for r in report["statistics"] if r["id"] == "imatinib_orr")
    stat = evidence["imatinib-orr"]["statistic"][0]
    assert [stat["attributeEstimate"][0]["range"][k]["value"] for k in ("low", "high")] == orr["exact_ci"]
    assert stat["sampleSize"] == {"numberOfStudies": 9, "numberOfParticipants": 152}
    assert evidence["imatinib-n"]["statistic"][0]["quantity"] == {"value": 152}
    for cmp in report["comparisons"]:
        stat = evidence[cmp["id"].replace("_", "-")]["statistic"][0]
        assert stat["statisticType"]["coding"][0]["code"] == "0000424"
        assert stat["quantity"]["value"] == cmp["risk_difference"]
        ci, p = stat["attributeEstimate"]
        assert [ci["range"]["low"]["value"], ci["range"]["high"]["value"]] == cmp["rd_ci"]
        assert p["type"]["coding"][0]["code"] == "C44185" and p["quantity"]["value"] == cmp["p_value"]
    for method in ("DL", "REML"):
        meta = report["meta_analysis"][method]
        stat = evidence[f"imatinib-dfsp-review-2019-meta-{method.lower()}"]["statistic"][0]
        assert stat["quantity"]["value"] == meta["estimate"]
        ci = stat["attributeEstimate"][0]
        assert [ci["range"]["low"]["value"], ci["range"]["high"]["value"]] == meta["ci"]
        i2 = next(a for a in stat["attributeEstimate"] if a["type"].get("coding", [{}])[0].get("code") == "0000420")
        assert math.isclose(i2["quantity"]["value"], meta["i2"])
    # the statistics cite the Citation resources of the review they come from
    cited = {ra["resource"] for ra in evidence["imatinib-orr"]["relatedArtifact"]}
    assert f"{CANONICAL_BASE}/Citation/navarrete-dechent-2019" in cited


def test_fhir_endpoints(client, kb):
    ex = build_export(kb)
    r = client.get("/fhir/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    cap = r.json()
    validate(cap)
    assert cap["fhirVersion"] == FHIR_VERSION == "5.0.0"
    assert {res["type"] for res in cap["rest"][0]["resource"]} >= set(RESOURCE_TYPES)
    for rtype in RESOURCE_TYPES:
        r = client.get(f"/fhir/{rtype}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
        found = r.json()
        assert found["type"] == "searchset" and found["total"] == len(ex.resources[rtype])
    validate(found)
    r = client.get("/fhir/PlanDefinition/dfsp-metastatic")
    assert r.status_code == 200 and r.json() == ex.get("PlanDefinition", "dfsp-metastatic")
    r = client.get("/fhir/Citation", params={"_id": "navarrete-dechent-2019,lowe-2017"})
    assert sorted(e["resource"]["id"] for e in r.json()["entry"]) == ["lowe-2017", "navarrete-dechent-2019"]
    r = client.get("/fhir/Bundle/oncoguide")
    assert r.status_code == 200 and len(r.json()["entry"]) == sum(ex.counts().values())
    for path, code in [
        ("/fhir/PlanDefinition/no-such-group", "not-found"),
        ("/fhir/Evidence/nope", "not-found"),
        ("/fhir/Patient", "not-supported"),
        ("/fhir/Patient/1", "not-supported"),
        ("/fhir/Bundle/other", "not-found"),
        ("/fhir/a/b/c", "not-found"),
    ]:
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/fhir+json")
        oo = r.json()
        validate(oo)
        assert oo["resourceType"] == "OperationOutcome"
        assert (oo["issue"][0]["severity"], oo["issue"][0]["code"]) == ("error", code)
    r = client.post("/fhir/PlanDefinition", json={"resourceType": "PlanDefinition"})
    assert r.status_code == 405 and r.json()["resourceType"] == "OperationOutcome"


def test_cli_export_writes_one_file_per_resource(kb, kb_settings, tmp_path):
    ex = build_export(kb)
    out = tmp_path / "fhir"
    res = run_cli("fhir", "export", "--out", str(out), db=kb_settings.db)
    assert res.returncode == 0, res.stderr
    assert "FHIR R5 (5.0.0)" in res.stdout
    for rtype, n in ex.counts().items():
        assert f"{n} {rtype}" in res.stdout
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == sum(ex.counts().values()) + 1 and "bundle.json" in files
    assert json.loads((out / "PlanDefinition-dfsp-metastatic.json").read_text()) == ex.get(
        "PlanDefinition", "dfsp-metastatic"
    )
    validate(json.loads((out / "bundle.json").read_text()))
    res = run_cli("fhir", "export", "--out", str(out / "bundle.json"), db=kb_settings.db)
    assert res.returncode != 0 and "not a folder" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("fhir", "export", db=kb_settings.db)
    assert res.returncode == 0 and "FHIR R5 (5.0.0)" in res.stderr
    assert json.loads(res.stdout) == ex.bundle()
