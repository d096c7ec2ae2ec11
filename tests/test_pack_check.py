"""`pack check` and the loader refuse invalid packs, naming file, line, entry and field."""

from __future__ import annotations

import re
import sqlite3

import pytest
import yaml

from oncoguide.pack.build import build
from oncoguide.pack.load import PackError, load_pack
from tests.conftest import run_cli


def _edit_first_claim(pack, mutate):
    path = sorted((pack / "claims").glob("*.yaml"))[0]
    data = yaml.safe_load(path.read_text())
    mutate(data[0])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path, data[0]["id"]


def _problems(pack):
    with pytest.raises(PackError) as info:
        load_pack(pack)
    return info.value.problems


def test_real_pack_is_valid():
    from oncoguide.settings import PACKAGE_PACK

    pack = load_pack(PACKAGE_PACK)
    assert len(pack.claims) >= 150
    assert all(c.citations for c in pack.claims.values())


def test_unknown_source_is_named(pack_copy):
    path, cid = _edit_first_claim(
        pack_copy, lambda c: c["citations"].append({"source": "no-such-source-2099", "locator": "p. 1"})
    )
    problems = _problems(pack_copy)
    assert any(
        p.entry == cid
        and p.field.startswith("citations")
        and "no-such-source-2099" in p.message
        and p.file == f"claims/{path.name}"
        and p.line > 0
        for p in problems
    )


def test_claim_without_citation(pack_copy):
    path, cid = _edit_first_claim(pack_copy, lambda c: c.update(citations=[]))
    problems = _problems(pack_copy)
    assert any(p.entry == cid and p.field == "citations" for p in problems)


def test_a_figure_needs_a_locator_that_says_where(pack_copy):
    """A claim with a number cites where in the source the number is; a claim without one may cite loosely."""

    def vague(claim):
        claim["clinician"] = "In a series of 31 patients, 5-year overall survival was 64%. " + claim["clinician"]
        claim["citations"] = [{**claim["citations"][0], "locator": "full text"}]

    path, cid = _edit_first_claim(pack_copy, vague)
    found = [p for p in _problems(pack_copy) if p.entry == cid and p.field == "citations.0.locator"]
    assert found and "where in the source" in found[0].message

    def worded(claim):
        claim["clinician"] = "DFSP is a skin sarcoma that grows slowly and rarely spreads."
        claim["citations"] = [{**claim["citations"][0], "locator": "full text"}]

    _edit_first_claim(pack_copy, worded)
    load_pack(pack_copy)


def test_patient_text_above_grade_8(pack_copy):
    hard = (
        "Dermatofibrosarcoma protuberans demonstrates considerable locoregional infiltrative "
        "propensity necessitating comprehensive histopathological margin evaluation."
    )
    path, cid = _edit_first_claim(pack_copy, lambda c: c.update(patient=hard))
    problems = _problems(pack_copy)
    hit = [p for p in problems if p.entry == cid and p.field == "patient"]
    assert hit and "grade" in hit[0].message


def test_duplicate_claim_id(pack_copy):
    path = sorted((pack_copy / "claims").glob("*.yaml"))[0]
    data = yaml.safe_load(path.read_text())
    data.append(dict(data[0]))
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    problems = _problems(pack_copy)
    assert any(p.entry == data[0]["id"] and "duplicate" in p.message for p in problems)


def test_unknown_field_and_bad_facet(pack_copy):
    path, cid = _edit_first_claim(pack_copy, lambda c: c.update(facet="astrology", colour="red"))
    fields = {p.field for p in _problems(pack_copy) if p.entry == cid}
    assert {"facet", "colour"} <= fields


def test_invalid_yaml_names_file_and_line(pack_copy):
    path = pack_copy / "faqs.yaml"
    lines = path.read_text().splitlines()
    lines.insert(3, "- {id: broken, question: [unclosed")
    path.write_text("\n".join(lines) + "\n")
    problems = _problems(pack_copy)
    assert any(p.file == "faqs.yaml" and p.line >= 4 and "invalid YAML" in p.message for p in problems)


def test_cli_pack_check_reports_and_fails(pack_copy):
    _edit_first_claim(pack_copy, lambda c: c.update(citations=[{"source": "ghost-1999", "locator": "x"}]))
    res = run_cli("pack", "check", "--pack-dir", str(pack_copy))
    assert res.returncode == 1
    assert "ghost-1999" in res.stderr and "Traceback" not in res.stderr
    assert re.search(r"claims/\S+\.yaml:\d+: entry '[a-z0-9-]+' field 'citations.0.source'", res.stderr)


def test_cli_pack_check_ok():
    res = run_cli("pack", "check")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("ok:")


def test_failed_build_leaves_previous_store_untouched(pack_copy, tmp_path):
    db = tmp_path / "kb.sqlite3"
    report = build(pack_copy, db)
    before = db.read_bytes()
    _edit_first_claim(pack_copy, lambda c: c.update(citations=[{"source": "ghost-1999", "locator": "x"}]))
    with pytest.raises(PackError):
        build(pack_copy, db)
    assert db.read_bytes() == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from claims").fetchone()[0] == report.claims
    assert not list(tmp_path.glob(".*building"))


def test_store_holds_every_claim_and_citation(pack_copy, tmp_path):
    db = tmp_path / "kb.sqlite3"
    report = build(pack_copy, db)
    pack = load_pack(pack_copy)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from claims").fetchone()[0] == len(pack.claims)
        assert conn.execute("select count(*) from citations").fetchone()[0] == report.citations
        orphan = conn.execute(
            "select count(*) from citations c left join sources s on s.id = c.source_id where s.id is null"
        ).fetchone()[0]
        assert orphan == 0
        assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"


def _edit_first_group(pack, mutate, file="groups-sts.yaml"):
    path = pack / "algorithm" / file
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return data


def test_unknown_drug_in_regimen(pack_copy):
    def mutate(data):
        step = next(st for st in data[2]["steps"] if st.get("options"))
        step["options"][0]["regimens"].append(["unobtainium"])

    data = _edit_first_group(pack_copy, mutate)
    problems = _problems(pack_copy)
    assert any(p.entry == data[2]["id"] and "unknown drug 'unobtainium'" in p.message for p in problems)


def test_step_without_citation(pack_copy):
    data = _edit_first_group(pack_copy, lambda d: d[0]["steps"][0].update(citations=[]))
    problems = _problems(pack_copy)
    assert any(p.entry == data[0]["id"] and p.field == "steps.0.citations" for p in problems)


def test_overlapping_groups(pack_copy):
    def mutate(data):
        data[1]["criteria"] = [dict(data[0]["criteria"][0])]  # stage II group now claims stage I patients

    data = _edit_first_group(pack_copy, mutate)
    problems = _problems(pack_copy)
    assert any(p.entry == data[1]["id"] and "overlaps group" in p.message for p in problems)


def test_unknown_criterion_value(pack_copy):
    data = _edit_first_group(pack_copy, lambda d: d[0]["criteria"][0].update(stage=["V"]))
    problems = _problems(pack_copy)
    assert any(p.entry == data[0]["id"] and "unknown value 'V'" in p.message for p in problems)


def test_unknown_genotype_on_an_option(pack_copy):
    def mutate(data):
        step = next(st for st in data[2]["steps"] if st.get("options"))
        step["options"][0]["genotypes"] = ["kit-exon99"]

    data = _edit_first_group(pack_copy, mutate)
    problems = _problems(pack_copy)
    assert any(p.entry == data[2]["id"] and "unknown genotype 'kit-exon99'" in p.message for p in problems)


# Source rules (issue 18): journal articles carry an identifier, links point at stable hosts. The helpers below
# look only at problems of the edited entry, so the tests hold whatever state the rest of the real pack is in.


def _problems_or_none(pack):
    try:
        load_pack(pack, check_reading=False)
    except PackError as exc:
        return exc.problems
    return []


def _edit_source(pack, pick, mutate):
    """Change the first source (in file order) for which `pick` holds; return its file name and id."""
    for path in sorted((pack / "sources").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for src in data:
            if pick(src):
                mutate(src)
                path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
                return path.name, src["id"]
    raise AssertionError("no source fits the test")


def _of(problems, entry, fld):
    return [p for p in problems if p.entry == entry and p.field == fld]


def _drop_ids(src):
    src.pop("pmid", None)
    src.pop("doi", None)
    src["url"] = "https://www.ncbi.nlm.nih.gov/"


def test_journal_article_without_pmid_or_doi_is_refused(pack_copy):
    name, sid = _edit_source(pack_copy, lambda s: s["type"] == "review" and s.get("pmid"), _drop_ids)
    hit = _of(_problems_or_none(pack_copy), sid, "pmid")
    assert hit and "PMID or DOI" in hit[0].message and "no_identifier_reason" in hit[0].message
    assert hit[0].file == f"sources/{name}" and hit[0].line > 0


def test_a_source_with_a_journal_is_a_journal_article(pack_copy):
    def mutate(src):
        src["journal"] = "Journal of Invented Results"
        _drop_ids(src)

    name, sid = _edit_source(pack_copy, lambda s: s["type"] == "patient information", mutate)
    hit = _of(_problems_or_none(pack_copy), sid, "pmid")
    assert hit and "Journal of Invented Results" in hit[0].message


def test_a_patient_page_needs_no_identifier(pack_copy):
    def mutate(src):
        src.pop("journal", None)
        _drop_ids(src)

    name, sid = _edit_source(pack_copy, lambda s: s["type"] == "patient information", mutate)
    assert not [p for p in _problems_or_none(pack_copy) if p.entry == sid]


def test_no_identifier_reason_admits_a_meeting_abstract(pack_copy):
    def mutate(src):
        _drop_ids(src)
        src["no_identifier_reason"] = "meeting abstract, published only in the congress book"

    name, sid = _edit_source(pack_copy, lambda s: s["type"] == "case series" and s.get("pmid"), mutate)
    assert not [p for p in _problems_or_none(pack_copy) if p.entry == sid]


def test_no_identifier_reason_beside_an_identifier_is_refused(pack_copy):
    name, sid = _edit_source(
        pack_copy, lambda s: s.get("pmid"), lambda s: s.update(no_identifier_reason="has none, we think")
    )
    hit = _of(_problems_or_none(pack_copy), sid, "no_identifier_reason")
    assert hit and "has a PMID or DOI" in hit[0].message


def test_url_on_a_host_outside_the_allow_list_is_refused(pack_copy):
    name, sid = _edit_source(
        pack_copy, lambda s: s.get("pmid"), lambda s: s.update(url="https://c.coek.info/pdf-some-article.html")
    )
    hit = _of(_problems_or_none(pack_copy), sid, "url")
    assert hit and "c.coek.info" in hit[0].message and "hosts.yaml" in hit[0].message
    assert hit[0].file == f"sources/{name}" and hit[0].line > 0


def test_a_wildcard_host_allows_subdomains_only(pack_copy):
    hosts = pack_copy / "hosts.yaml"
    assert "*.biomedcentral.com" in yaml.safe_load(hosts.read_text())
    _, good = _edit_source(
        pack_copy, lambda s: s.get("pmid"), lambda s: s.update(url="https://bmccancer.biomedcentral.com/articles/x")
    )
    _, bad = _edit_source(
        pack_copy,
        lambda s: s.get("pmid") and s["id"] != good,
        lambda s: s.update(url="https://evilbiomedcentral.com/articles/x"),
    )
    problems = _problems_or_none(pack_copy)
    assert not _of(problems, good, "url")
    assert _of(problems, bad, "url")


def test_allowed_hosts_come_from_the_pack_file(pack_copy):
    hosts = pack_copy / "hosts.yaml"
    hosts.write_text(hosts.read_text() + "- c.coek.info\n")
    _, sid = _edit_source(pack_copy, lambda s: s.get("pmid"), lambda s: s.update(url="https://c.coek.info/pdf-x.html"))
    assert not _of(_problems_or_none(pack_copy), sid, "url")


def test_a_malformed_host_entry_is_refused(pack_copy):
    hosts = pack_copy / "hosts.yaml"
    hosts.write_text(hosts.read_text() + "- https://example.org/path\n")
    hit = [p for p in _problems_or_none(pack_copy) if p.file == "hosts.yaml"]
    assert hit and hit[0].line > 0 and "https://example.org/path" in hit[0].message


def test_the_hosts_file_is_required(pack_copy):
    (pack_copy / "hosts.yaml").unlink()
    assert any(p.file == "hosts.yaml" and "missing" in p.message for p in _problems_or_none(pack_copy))


def _pending(pack, entries):
    """Add entries to the pack's list of pending sources (the real pack's own entries stay)."""
    path = pack / "pending-sources.yaml"
    known = yaml.safe_load(path.read_text()) if path.exists() else []
    path.write_text(yaml.safe_dump((known or []) + entries, sort_keys=False))


def test_a_pending_source_is_reported_not_refused(pack_copy):
    """A source listed in pending-sources.yaml may still lack its identifier: reported, the pack still loads."""
    name, sid = _edit_source(pack_copy, lambda s: s["type"] == "review" and s.get("pmid"), _drop_ids)
    _pending(pack_copy, [{"source": sid, "note": "PMID being looked for"}])
    assert not _of(_problems_or_none(pack_copy), sid, "pmid")
    pack = load_pack(pack_copy, check_reading=False)
    assert any(p.entry == sid and p.field == "pmid" for p in pack.pending)


def test_the_pending_list_only_shrinks(pack_copy):
    """A listed source that meets the rules, or that does not exist, must leave the list."""
    name, sid = _edit_source(pack_copy, lambda s: s["type"] == "review" and s.get("pmid"), lambda s: None)
    _pending(pack_copy, [{"source": sid, "note": "was pending"}, {"source": "no-such-source", "note": "gone"}])
    problems = _problems_or_none(pack_copy)
    for entry, words in ((sid, "no longer lacks anything"), ("no-such-source", "is not a source")):
        hit = [p for p in problems if p.entry == entry and p.file == "pending-sources.yaml"]
        assert hit and words in hit[0].message


def test_an_unlisted_source_is_still_refused(pack_copy):
    name, sid = _edit_source(pack_copy, lambda s: s["type"] == "review" and s.get("pmid"), _drop_ids)
    assert _of(_problems_or_none(pack_copy), sid, "pmid")


def test_a_cited_source_whose_text_was_not_seen_is_refused(pack_copy):
    """A source known only through another work (text_seen: false) may not be cited: the field and a citer are named."""
    name, sid = _edit_source(pack_copy, lambda s: s["id"] == "osullivan-2002", lambda s: s.update(text_seen=False))
    hit = _of(_problems_or_none(pack_copy), sid, "text_seen")
    assert hit and "text_seen is false" in hit[0].message and "cited by claim '" in hit[0].message
    assert hit[0].file == f"sources/{name}" and hit[0].line > 0


def test_an_uncited_source_whose_text_was_not_seen_is_allowed(pack_copy):
    """Listing a source nobody has read is not wrong in itself; citing it is."""
    entry = {
        "id": "unread-guideline",
        "type": "guideline",
        "title": "A guideline known only from another work's bibliography",
        "authors": "Some Panel",
        "year": 2024,
        "url": "https://www.nccn.org/guidelines/category_1",
        "level": 4,
        "text_seen": False,
        "verified": "named in a reference list only; its text was not read",
    }
    (pack_copy / "sources" / "zz-unread.yaml").write_text(yaml.safe_dump([entry], sort_keys=False))
    assert not [p for p in _problems_or_none(pack_copy) if p.entry == "unread-guideline"]
