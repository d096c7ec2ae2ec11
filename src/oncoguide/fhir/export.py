"""The knowledge pack as FHIR R5 (5.0.0) resources, built as plain dicts.

- each patient group of the treatment algorithm -> a PlanDefinition following the HL7 CPG
  "recommendation definition" pattern (type eca-rule; one action per treatment step, with its
  applicability conditions, strength of recommendation and citations);
- each treatment of a step -> an ActivityDefinition (ServiceRequest for a procedure or service, such
  as surgery or radiotherapy; MedicationRequest for each drug regimen option);
- each source of the pack -> a Citation;
- each statistic the evidence module computes (pooled proportions, comparisons, meta-analyses)
  -> an Evidence.

Only what the pack says is exported: no code, number or citation is added. Concepts the pack states
only in words are exported as text (CodeableConcept.text), not as invented codes.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from oncoguide.engine.references import DOI, PUBMED, reference_parts
from oncoguide.evidence.topics import ComparisonDef, EvidenceTopic
from oncoguide.pack.typed import Group, Step

FHIR_VERSION = "5.0.0"
FHIR_RELEASE = "FHIR R5 (5.0.0)"
MEDIA_TYPE = "application/fhir+json; fhirVersion=5.0"
# the base of every canonical url and Bundle fullUrl; the export does not depend on where it is served
CANONICAL_BASE = "http://oncoguide.local/fhir"
PUBLISHER = "oncoguide"
RESOURCE_TYPES = ("PlanDefinition", "ActivityDefinition", "Citation", "Evidence")

# HL7 Clinical Practice Guidelines IG (CPG): the recommendation-definition profile and its extensions
CPG = "http://hl7.org/fhir/uv/cpg/StructureDefinition"
CPG_RECOMMENDATION = f"{CPG}/cpg-recommendationdefinition"
CPG_CAPABILITY = f"{CPG}/cpg-knowledgeCapability"
CPG_LEVEL = f"{CPG}/cpg-knowledgeRepresentationLevel"
# CPG's computable PlanDefinition puts the strength on the action with this core extension
STRENGTH_EXTENSION = "http://hl7.org/fhir/StructureDefinition/cqf-strengthOfRecommendation"

PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
STRENGTH = "http://terminology.hl7.org/CodeSystem/recommendation-strength"
STATISTIC_TYPE = "http://terminology.hl7.org/CodeSystem/statistic-type"
ESTIMATE_TYPE = "http://terminology.hl7.org/CodeSystem/attribute-estimate-type"
VARIABLE_ROLE = "http://terminology.hl7.org/CodeSystem/variable-role"
SYNTHESIS_TYPE = "http://terminology.hl7.org/CodeSystem/synthesis-type"
USAGE_CONTEXT = "http://terminology.hl7.org/CodeSystem/usage-context-type"
UCUM = "http://unitsofmeasure.org"

TIER_STRENGTH = {
    "all": ("strong", "Strong", "for ALL patients in this group (oncoguide tier 'all')"),
    "some": (
        "weak",
        "Weak",
        "conditional: for SOME patients in this group, in the circumstances stated (oncoguide tier 'some')",
    ),
}
STRENGTH_NOTE = (
    "The strength of each step's recommendation (extension cqf-strengthOfRecommendation) is "
    "derived from the oncoguide tier: ALL patients -> strong, SOME patients -> weak "
    "(conditional). The pack does not grade its recommendations with GRADE or another system."
)
METHODS = {"DL": "DerSimonian-Laird", "REML": "restricted maximum likelihood (REML)"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def fhir_id(raw: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) from a pack id: other characters become '-'; an id longer than
    64 characters is cut and ends with a hash of the whole, so it stays unique and stable."""
    s = re.sub(r"[^A-Za-z0-9\-.]+", "-", raw).strip("-.") or "x"
    if len(s) > 64:
        s = s[:55].rstrip("-.") + "-" + hashlib.sha1(raw.encode()).hexdigest()[:8]
    return s


def computable_name(rid: str) -> str:
    """A name usable by machines (FHIR cnl-0: starts with a capital letter, then letters, digits, '_')."""
    name = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", rid) if p)
    return (name if name[:1].isalpha() else "X" + name)[:255]


def canonical(rtype: str, rid: str) -> str:
    return f"{CANONICAL_BASE}/{rtype}/{rid}"


def base_profile(rtype: str) -> str:
    """The core R5 StructureDefinition, with the FHIR version: how each resource states its version."""
    return f"http://hl7.org/fhir/StructureDefinition/{rtype}|{FHIR_VERSION}"


def coding(system: str, code: str, display: str) -> dict:
    return {"system": system, "code": code, "display": display}


def concept(system: str, code: str, display: str, text: str | None = None) -> dict:
    out: dict = {"coding": [coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def text_concept(text: str) -> dict:
    return {"text": text}


def finite(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def operation_outcome(code: str, message: str, severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "meta": {"profile": [base_profile("OperationOutcome")]},
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def quoted(values) -> str:
    vals = [f"'{v}'" for v in values]
    return vals[0] if len(vals) == 1 else f"({', '.join(vals)})"


def criteria_expression(condition: str, criteria: Sequence[Mapping[str, Sequence[str]]]) -> str:
    """The group's criteria as readable logic: alternatives joined by 'or', facts within one by 'and'."""
    alts = []
    for alt in criteria:
        terms = [f"{dim} {'=' if len(vals) == 1 else 'in'} {quoted(vals)}" for dim, vals in alt.items()]
        alts.append(" and ".join(terms) or "true")
    head = f"condition = '{condition}'"
    if not alts:
        return head
    if len(alts) == 1:
        return f"{head} and {alts[0]}" if alts[0] != "true" else head
    return f"{head} and (" + " or ".join(f"({a})" for a in alts) + ")"


@dataclass
class FhirExport:
    """The exported resources by type and id (in export order), with the Bundle of all of them."""

    resources: dict[str, dict[str, dict]]
    version: str
    timestamp: str | None = None
    _bundles: dict[str, dict] = field(default_factory=dict, repr=False)  # by fullUrl base

    def get(self, rtype: str, rid: str) -> dict | None:
        return self.resources.get(rtype, {}).get(rid)

    def all(self) -> list[dict]:
        return [r for rtype in RESOURCE_TYPES for r in self.resources.get(rtype, {}).values()]

    def counts(self) -> dict[str, int]:
        return {rtype: len(self.resources.get(rtype, {})) for rtype in RESOURCE_TYPES}

    def summary(self) -> str:
        counts = self.counts()
        parts = ", ".join(f"{n} {rtype}" for rtype, n in counts.items())
        return f"{sum(counts.values())} resources ({parts}); {FHIR_RELEASE}"

    @staticmethod
    def entry(resource: dict, search: bool = False, base: str = CANONICAL_BASE) -> dict:
        """A Bundle entry; its fullUrl is under `base`: the site's FHIR endpoint when its public address is
        configured (where the resource can be read), else the canonical base."""
        out = {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}", "resource": resource}
        if search:
            out["search"] = {"mode": "match"}
        return out

    def bundle(self, base: str = CANONICAL_BASE) -> dict:
        """Everything, as one Bundle of type collection (built once per fullUrl base)."""
        if base not in self._bundles:
            b: dict = {
                "resourceType": "Bundle",
                "id": "oncoguide",
                "meta": {"profile": [base_profile("Bundle")]},
                "identifier": {"system": "urn:ietf:rfc:3986", "value": canonical("Bundle", "oncoguide")},
                "type": "collection",
            }
            if self.timestamp:
                b["meta"]["lastUpdated"] = self.timestamp
                b["timestamp"] = self.timestamp
            b["entry"] = [self.entry(r, base=base) for r in self.all()]
            self._bundles[base] = b
        return self._bundles[base]

    def searchset(self, resources: list[dict], self_url: str | None = None, base: str = CANONICAL_BASE) -> dict:
        out: dict = {
            "resourceType": "Bundle",
            "meta": {"profile": [base_profile("Bundle")]},
            "type": "searchset",
            "total": len(resources),
        }
        if self.timestamp:
            out["timestamp"] = self.timestamp
        if self_url:
            out["link"] = [{"relation": "self", "url": self_url}]
        out["entry"] = [self.entry(r, search=True, base=base) for r in resources]
        return out


class _Builder:
    def __init__(self, kb):
        self.kb = kb
        self.contents = kb.contents
        self.sources = kb.contents.sources
        meta = kb.contents.meta
        digest = meta.get("pack_digest") or ""
        from oncoguide import __version__

        self.version = f"pack-{digest[:12]}" if digest else __version__
        self.timestamp = meta.get("built_at")
        self.out: dict[str, dict[str, dict]] = {rtype: {} for rtype in RESOURCE_TYPES}
        conditions = kb.contents.lexicon.conditions
        self.condition_names = {c: f"{d.name} ({d.short})" for c, d in conditions.items()}
        self.drug_classes = {d.name: d.drug_class for d in kb.contents.algorithm.drugs}
        self.citation_ids = {sid: fhir_id(sid) for sid in self.sources}

    # --- shared pieces -------------------------------------------------------------------------------

    def add(self, resource: dict) -> dict:
        rtype, rid = resource["resourceType"], resource["id"]
        table = self.out[rtype]
        if rid in table:  # two pack ids that map to the same FHIR id: keep both, deterministically
            n = 2
            while f"{rid}-{n}" in table:
                n += 1
            rid = resource["id"] = fhir_id(f"{rid}-{n}")
            if "url" in resource:
                resource["url"] = canonical(rtype, rid)
        table[rid] = resource
        return resource

    def knowledge_artifact(
        self, rtype: str, rid: str, profiles: list[str] | None = None, extension: list[dict] | None = None
    ) -> dict:
        """The metadata every definitional resource carries (id, url, version, status, publisher...)."""
        out: dict = {"resourceType": rtype, "id": rid, "meta": {"profile": [base_profile(rtype), *(profiles or [])]}}
        if extension:
            out["extension"] = extension
        return {
            **out,
            "url": canonical(rtype, rid),
            "version": self.version,
            "name": computable_name(rid),
            "status": "active",
            "experimental": False,
            "publisher": PUBLISHER,
        }

    def focus(self, condition: str) -> list[dict]:
        name = self.condition_names.get(condition, condition)
        return [{"code": coding(USAGE_CONTEXT, "focus", "Clinical Focus"), "valueCodeableConcept": text_concept(name)}]

    def source_label(self, source_id: str) -> str:
        src = self.sources.get(source_id)
        return f"{src.title.rstrip('.')} ({src.year})" if src else source_id

    def cite(self, source_id: str, locator: str | None = None, kind: str = "citation") -> dict:
        """A RelatedArtifact pointing to the source's Citation resource (and the locator within it)."""
        label = self.source_label(source_id)
        ra: dict = {"type": kind, "label": source_id, "display": f"{label}: {locator}" if locator else label}
        if source_id in self.sources:
            ra["resource"] = canonical("Citation", self.citation_ids[source_id])
        return ra

    def cites(self, pairs, kind: str = "citation", seen: set | None = None) -> list[dict]:
        seen = set() if seen is None else seen
        out = []
        for source_id, locator in pairs:
            if (source_id, locator) in seen:
                continue
            seen.add((source_id, locator))
            out.append(self.cite(source_id, locator, kind))
        return out

    # --- Citation ------------------------------------------------------------------------------------

    def citations(self) -> None:
        for sid, src in self.sources.items():
            rid = self.citation_ids[sid]
            res = self.knowledge_artifact("Citation", rid)
            res["title"] = src.title
            res["summary"] = [{"text": reference_parts(src).text()}]
            art: dict = {}
            ids = []
            if src.pmid:
                ids.append({"type": text_concept("PubMed ID (PMID)"), "system": PUBMED, "value": str(src.pmid)})
            if src.doi:
                ids.append({"type": text_concept("DOI"), "system": DOI, "value": src.doi})
            if ids:
                art["identifier"] = ids
            art["title"] = [{"text": src.title}]
            form: dict = {}
            if src.journal:
                form["publishedIn"] = {"title": src.journal}
            if src.volume:
                m = re.fullmatch(r"\s*([^()\s]+)\s*\(([^()]+)\)\s*", src.volume)
                if m:
                    form["volume"], form["issue"] = m.group(1), m.group(2)
                else:
                    form["volume"] = src.volume
            if src.year:
                form["articleDate"] = str(src.year)
            if src.pages:
                form["pageString"] = src.pages
            if form:
                art["publicationForm"] = [form]
            if src.url:
                art["webLocation"] = [{"url": src.url}]
            if src.authors:
                art["contributorship"] = {"summary": [{"value": src.authors}]}
            level = f"Level {src.level} (Oxford CEBM 2011 levels of evidence)"
            art["classification"] = [
                {"type": text_concept("Publication type"), "classifier": [text_concept(src.type)]},
                {"type": text_concept("Level of evidence (Oxford CEBM 2011)"), "classifier": [text_concept(level)]},
            ]
            res["citedArtifact"] = art
            res["note"] = [{"text": f"Level of evidence as graded in the oncoguide knowledge pack: {level}."}]
            self.add(res)

    # --- PlanDefinition and ActivityDefinition ------------------------------------------------------------

    def activity(
        self,
        rid: str,
        title: str,
        kind: str,
        group: Group,
        step,
        n: int,
        raw_step: Step,
        regimen: list[str] | None = None,
    ) -> str:
        """One ActivityDefinition; returns its canonical url."""
        res = self.knowledge_artifact("ActivityDefinition", rid)
        res["title"] = title
        where = f"step {n} ('{step.name}', {step.timing}) of the patient group '{group.label}'"
        if regimen is None:
            res["description"] = f"{step.name[:1].upper()}{step.name[1:]}, as recommended in {where}."
        else:
            classes = [f"{d}: {self.drug_classes[d]}" for d in regimen if self.drug_classes.get(d)]
            res["description"] = f"Drug regimen {' + '.join(regimen)}, an option in {where}." + (
                f" Drug class: {'; '.join(classes)}." if classes else ""
            )
        res["useContext"] = self.focus(group.condition)
        res["kind"] = kind
        res["intent"] = "proposal"
        if regimen is None:
            res["code"] = text_concept(step.name)
            if step.dosing:
                res["usage"] = f"Dose and schedule (as given in the pack): {step.dosing}"
        else:
            res["productCodeableConcept"] = text_concept(" + ".join(regimen))
            if step.dosing:
                res["dosage"] = [{"text": step.dosing}]
        res["relatedArtifact"] = self.cites((c.source, c.locator) for c in raw_step.citations)
        return self.add(res)["url"]

    def condition(self, expression: str, description: str | None = None) -> dict:
        expr = {"language": "text/plain", "expression": expression}
        if description:
            expr["description"] = description
        return {"kind": "applicability", "expression": expr}

    def strength(self, tier: str) -> dict:
        code, display, text = TIER_STRENGTH[tier]
        return {"url": STRENGTH_EXTENSION, "valueCodeableConcept": concept(STRENGTH, code, display, text)}

    def plan_definitions(self) -> None:
        alg = self.kb.algorithm
        genotype_labels = alg.spec.genotypes
        for group in alg.group_list():
            rec = alg.group_detail(group.id)
            gid = fhir_id(group.id)
            group_expr = criteria_expression(group.condition, group.criteria)
            group_desc = f"Patient group '{group.label}': {group.definition}"
            actions = []
            for n, (step, raw) in enumerate(zip(rec.steps, rec.raw_steps, strict=True), 1):
                who = "ALL" if step.tier == "all" else "SOME"
                text = f"{who} patients in this group; timing: {step.timing}"
                if step.applies_when:
                    text += f"; applies when: {step.applies_when}"
                if step.dosing:
                    text += f". Dosing: {step.dosing.rstrip('.')}"
                conditions = [self.condition(group_expr, group_desc)]
                if step.applies_when:
                    conditions.append(
                        self.condition(step.applies_when, "When this step applies (as written in the pack)")
                    )
                action: dict = {
                    "extension": [self.strength(step.tier)],
                    "linkId": f"step-{n}",
                    "prefix": str(n),
                    "title": step.name,
                    "description": step.rationale,
                    "textEquivalent": text + ".",
                    "documentation": self.cites((c.source, c.locator) for c in raw.citations),
                    "condition": conditions,
                }
                if not step.options:
                    url = self.activity(
                        fhir_id(f"{group.id}-step{n}"), step.name, "ServiceRequest", group, step, n, raw
                    )
                    action["definitionCanonical"] = url
                else:
                    urls: dict[tuple[str, ...], str] = {}
                    subs = []
                    for k, opt in enumerate(step.options, 1):
                        for j, regimen in enumerate(opt.regimens, 1):
                            key = tuple(regimen)
                            if key not in urls:
                                rid = fhir_id(f"{group.id}-step{n}-{'-'.join(regimen)}")
                                urls[key] = self.activity(
                                    rid, " + ".join(regimen), "MedicationRequest", group, step, n, raw, list(regimen)
                                )
                            sub: dict = {
                                "linkId": f"step-{n}-option-{k}-regimen-{j}",
                                "title": " + ".join(regimen),
                                "textEquivalent": f"{opt.line.capitalize()} option"
                                + (f" when {opt.applies_when}" if opt.applies_when else "")
                                + ".",
                            }
                            if opt.genotypes:
                                labels = "; ".join(f"{g}: {genotype_labels.get(g, g)}" for g in opt.genotypes)
                                sub["condition"] = [
                                    self.condition(
                                        f"genotype in {quoted(opt.genotypes)}"
                                        if len(opt.genotypes) > 1
                                        else f"genotype = {quoted(opt.genotypes)}",
                                        (opt.applies_when + f" (genotypes {labels})")
                                        if opt.applies_when
                                        else f"genotypes {labels}",
                                    )
                                ]
                            elif opt.applies_when:
                                sub["condition"] = [self.condition(opt.applies_when)]
                            sub["definitionCanonical"] = urls[key]
                            subs.append(sub)
                    action["action"] = subs
                actions.append(action)
            res = self.knowledge_artifact(
                "PlanDefinition",
                gid,
                [CPG_RECOMMENDATION],
                [{"url": CPG_CAPABILITY, "valueCode": "shareable"}, {"url": CPG_LEVEL, "valueCode": "semi-structured"}],
            )
            res["title"] = group.label
            res["type"] = concept(PLAN_TYPE, "eca-rule", "ECA Rule")
            res["description"] = group.definition
            res["useContext"] = self.focus(group.condition)
            res["usage"] = (
                "Recommendation definition for one patient group of the oncoguide treatment algorithm. "
                "Steps are listed in the pack's order. " + STRENGTH_NOTE + " Conditions are readable "
                "text (text/plain), not executable logic."
            )
            ordered = list(dict.fromkeys(c.source for raw in rec.raw_steps for c in raw.citations))
            res["relatedArtifact"] = [self.cite(s) for s in ordered]
            res["action"] = actions
            self.add(res)

    # --- Evidence ------------------------------------------------------------------------------------

    def evidence_base(self, rid: str, title: str, topic: EvidenceTopic, description: str) -> dict:
        res = self.knowledge_artifact("Evidence", rid)
        res["title"] = title
        res["status"] = "active"
        res["description"] = description
        res["useContext"] = self.focus(topic.condition)
        return res

    @staticmethod
    def variable(role: str, display: str, description: str) -> dict:
        return {"description": description, "variableRole": concept(VARIABLE_ROLE, role, display)}

    def study_sources(
        self, topic: EvidenceTopic, where: Mapping[str, Sequence[str | int]] | None
    ) -> tuple[list[tuple[str, str]], int]:
        """The contributing studies' citations (as derived-from) and how many studies contribute."""
        ev = self.kb.evidence
        studies = list(dict.fromkeys(study.id for study, _ in ev.arms(topic, where)))
        pairs = [(c.source, c.locator) for s in topic.studies if s.id in studies for c in s.citations]
        return pairs, len(studies)

    def ci(self, low: float, high: float, description: str, level: float = 0.95) -> dict:
        return {
            "description": description,
            "type": concept(ESTIMATE_TYPE, "C53324", "Confidence interval"),
            "level": level,
            "range": {"low": {"value": low}, "high": {"value": high}},
        }

    @staticmethod
    def proportion(value: float) -> dict:
        return {"value": value, "unit": "proportion", "system": UCUM, "code": "1"}

    def evidence(self) -> None:
        ev = self.kb.evidence
        by_stat: dict[str, str] = {}
        for s in ev.stats.values():
            topic = ev.topics[s.topic]
            sdef = next((d for d in topic.statistics if d.id == s.id), None)
            where = sdef.where if sdef is not None else {}
            rid = fhir_id(s.id)
            filt = "; ".join(f"{k} = {', '.join(str(v) for v in vals)}" for k, vals in where.items())
            population = topic.title + (f" (arms with {filt})" if filt else "")
            p = s.exact
            stat: dict
            if sdef is not None and set(sdef.numerator) >= set(topic.categories):
                # a count of patients, not a proportion: every outcome category is in the numerator
                stat = {
                    "description": f"{s.label}: {p.n}",
                    "statisticType": concept(STATISTIC_TYPE, "C25463", "Count"),
                    "quantity": {"value": p.n},
                }
                measured = self.variable("measuredVariable", "measured variable", f"{s.label} ({topic.outcome})")
                desc = f"{s.label}: {p.n} ({topic.title})."
            else:
                stat = {
                    "description": f"{s.label}: {p.describe()}",
                    "statisticType": concept(STATISTIC_TYPE, "C44256", "Proportion"),
                    "quantity": self.proportion(p.p),
                    "numberOfEvents": p.x,
                }
                stat["attributeEstimate"] = [
                    self.ci(p.low, p.high, f"95% CI, exact (Clopper-Pearson): {100 * p.low:.1f}-{100 * p.high:.1f}%"),
                    self.ci(
                        s.wilson.low,
                        s.wilson.high,
                        f"95% CI, Wilson score: {100 * s.wilson.low:.1f}-{100 * s.wilson.high:.1f}%",
                    ),
                ]
                measured = self.variable("measuredVariable", "measured variable", s.label)
                desc = f"{s.label}: {p.describe()} ({topic.title})."
            if sdef is None:  # an aggregate reported by a source, not recomputed from study rows
                stat["sampleSize"] = {"numberOfParticipants": p.n}
                derived: list[dict] = []
            else:
                pairs, k = self.study_sources(topic, where)
                stat["sampleSize"] = {"numberOfStudies": k, "numberOfParticipants": p.n}
                seen = set(s.citations)
                derived = self.cites(pairs, "derived-from", seen)
            if s.note:
                stat["note"] = [{"text": s.note}]
                desc += " " + s.note
            res = self.evidence_base(rid, f"{s.label} ({topic.title})", topic, desc)
            res["relatedArtifact"] = self.cites(s.citations) + derived
            res["variableDefinition"] = [self.variable("population", "population", population), measured]
            res["statistic"] = [stat]
            by_stat[s.id] = self.add(res)["url"]
        for topic in ev.topics.values():
            for cdef in topic.comparisons:
                self.comparison(topic, cdef, by_stat)
            if topic.forest:
                self.meta_analysis(topic)

    def comparison(self, topic: EvidenceTopic, cdef: ComparisonDef, by_stat: dict[str, str]) -> None:
        ev = self.kb.evidence
        c = ev.comparisons[cdef.id]
        a, b = ev.stats[cdef.a], ev.stats[cdef.b]
        if not all(finite(v) for v in (c.risk_difference, c.rd_low, c.rd_high)):
            return  # an undefined difference is not exported
        from oncoguide.evidence.report import p_text

        stat: dict = {
            "description": f"{cdef.label}: risk difference {100 * c.risk_difference:.1f} percentage points "
            f"(95% CI {100 * c.rd_low:.1f} to {100 * c.rd_high:.1f}); {p_text(c.p_value)}",
            "statisticType": concept(STATISTIC_TYPE, "0000424", "Risk Difference"),
            "quantity": self.proportion(c.risk_difference),
            "numberOfEvents": a.exact.x + b.exact.x,
            "attributeEstimate": [self.ci(c.rd_low, c.rd_high, "95% CI, Newcombe hybrid score interval")],
        }
        if finite(c.p_value):
            stat["attributeEstimate"].append(
                {
                    "description": f"{c.test}: {p_text(c.p_value)}",
                    "type": concept(ESTIMATE_TYPE, "C44185", "P-value"),
                    "quantity": {"value": c.p_value},
                }
            )
        sdefs = {d.id: d for d in topic.statistics}
        pairs: list[tuple[str, str]] = []
        studies: set[str] = set()
        for sid in (cdef.a, cdef.b):
            if sid in sdefs:
                where = sdefs[sid].where
                more, _ = self.study_sources(topic, where)
                pairs += more
                studies |= {study.id for study, _ in ev.arms(topic, where)}
        stat["sampleSize"] = {"numberOfParticipants": a.exact.n + b.exact.n}
        if studies:
            stat["sampleSize"]["numberOfStudies"] = len(studies)
        rid = fhir_id(cdef.id)
        desc = f"{cdef.label} ({topic.title}): {ev.render('{cmp:' + cdef.id + '}')}."
        res = self.evidence_base(rid, f"{cdef.label} ({topic.title})", topic, desc)
        seen = set(a.citations) | set(b.citations)
        res["relatedArtifact"] = (
            [
                {"type": "derived-from", "label": sid, "display": ev.stats[sid].label, "resource": by_stat[sid]}
                for sid in (cdef.a, cdef.b)
                if sid in by_stat
            ]
            + self.cites(list(dict.fromkeys(a.citations + b.citations)))
            + self.cites(pairs, "derived-from", seen)
        )
        res["variableDefinition"] = [
            self.variable("population", "population", topic.title),
            self.variable("exposure", "exposure", a.label),
            self.variable("referenceExposure", "reference exposure", b.label),
            self.variable("measuredVariable", "measured variable", topic.outcome),
        ]
        res["statistic"] = [stat]
        self.add(res)

    def meta_analysis(self, topic: EvidenceTopic) -> None:
        ev = self.kb.evidence
        report = ev.report(topic.id)
        meta = report.get("meta_analysis")
        fdef = topic.forest
        if not meta or fdef is None:
            return
        rows = [(study, arm) for study, arm in ev.arms(topic)]
        n_total = sum(arm.n for _, arm in rows)
        events = sum(sum(arm.counts.get(c, 0) for c in fdef.numerator) for _, arm in rows)
        n_studies = len({study.id for study, _ in rows})
        pairs, _ = self.study_sources(topic, None)
        for method in ("DL", "REML"):
            m = meta.get(method)
            if not m or not all(finite(v) for v in (m["estimate"], *m["ci"])):
                continue
            est, (low, high) = m["estimate"], m["ci"]
            estimates = [
                self.ci(
                    low,
                    high,
                    f"95% CI (Wald-type on the logit scale, back-transformed): {100 * low:.1f}-{100 * high:.1f}%",
                )
            ]
            if all(finite(v) for v in m["prediction_interval"]):
                plow, phigh = m["prediction_interval"]
                estimates.append(
                    {
                        "description": f"95% prediction interval: {100 * plow:.1f}-{100 * phigh:.1f}%",
                        "type": text_concept("Prediction interval"),
                        "level": 0.95,
                        "range": {"low": {"value": plow}, "high": {"value": phigh}},
                    }
                )
            if finite(m["tau2"]):
                estimates.append(
                    {
                        "description": "between-study variance (tau squared), logit scale",
                        "type": concept(ESTIMATE_TYPE, "0000421", "Tau squared"),
                        "quantity": {"value": m["tau2"]},
                    }
                )
            if finite(m["i2"]):
                estimates.append(
                    {
                        "description": f"I-squared {m['i2']:.1f}%",
                        "type": concept(ESTIMATE_TYPE, "0000420", "I-squared"),
                        "quantity": {"value": m["i2"], "unit": "%", "system": UCUM, "code": "%"},
                    }
                )
            if finite(m["q"]):
                q: dict = {
                    "description": f"Cochran's Q {m['q']:.2f} on {m['k'] - 1} degrees of freedom",
                    "type": concept(ESTIMATE_TYPE, "0000419", "Cochran's Q statistic"),
                    "quantity": {"value": m["q"]},
                }
                if finite(m["q_p"]):
                    q["attributeEstimate"] = [
                        {
                            "description": "P-value of the test of heterogeneity",
                            "type": concept(ESTIMATE_TYPE, "C44185", "P-value"),
                            "quantity": {"value": m["q_p"]},
                        }
                    ]
                estimates.append(q)
            model = [
                {
                    "code": text_concept(
                        f"Random-effects meta-analysis of logit-transformed proportions "
                        f"(inverse variance); between-study variance by {METHODS[method]}"
                    )
                }
            ]
            if m.get("zero_event_corrections"):
                model.append(
                    {
                        "code": text_concept(
                            "Study arms with zero events (or all events) given 0.5 added to "
                            "events and non-events for the logit transform only"
                        ),
                        "value": {"value": m["zero_event_corrections"]},
                    }
                )
            description = (
                f"{fdef.label}, pooled ({method}): {100 * est:.1f}% (95% CI {100 * low:.1f}-{100 * high:.1f}%)"
            )
            stat = {
                "description": description,
                "statisticType": concept(STATISTIC_TYPE, "C44256", "Proportion"),
                "quantity": self.proportion(est),
                "numberOfEvents": events,
                "sampleSize": {
                    "description": f"{m['k']} study arms from {n_studies} studies",
                    "numberOfStudies": n_studies,
                    "numberOfParticipants": n_total,
                },
                "attributeEstimate": estimates,
                "modelCharacteristic": model,
            }
            rid = fhir_id(f"{topic.id}-meta-{method.lower()}")
            res = self.evidence_base(
                rid, f"{fdef.label}: random-effects meta-analysis ({method}), {topic.title}", topic, description + "."
            )
            res["synthesisType"] = concept(SYNTHESIS_TYPE, "std-MA", "summary data meta-analysis")
            tc = [(c.source, c.locator) for c in topic.citations]
            res["relatedArtifact"] = self.cites(tc) + self.cites(pairs, "derived-from", set(tc))
            res["variableDefinition"] = [
                self.variable("population", "population", topic.title),
                self.variable("measuredVariable", "measured variable", fdef.label),
            ]
            res["statistic"] = [stat]
            self.add(res)


def build_export(kb) -> FhirExport:
    """Every resource of the export, from an open KnowledgeBase."""
    b = _Builder(kb)
    b.citations()
    b.plan_definitions()
    b.evidence()
    ordered = {rtype: b.out[rtype] for rtype in RESOURCE_TYPES}
    return FhirExport(ordered, b.version, b.timestamp)
