"""Study-level evidence: tables, pooled results, comparisons and meta-analyses computed from the
pack's per-arm counts, and the named statistics that claims quote."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from oncoguide.evidence import stats
from oncoguide.evidence.stats import p_text
from oncoguide.evidence.topics import EvidenceTopic
from oncoguide.plain import plain

TEMPLATE = re.compile(r"\{(stat|cmp):([a-z][a-z0-9_]*)(?::([a-z]+))?\}")


@dataclass(frozen=True)
class Stat:
    id: str
    label: str
    topic: str
    exact: stats.Proportion
    wilson: stats.Proportion
    citations: tuple[tuple[str, str], ...]
    note: str = ""


class Evidence:
    """All evidence topics of the pack, with every named statistic computed once."""

    def __init__(self, topics: Iterable[EvidenceTopic]):
        topics = tuple(topics)
        self.topics = {t.id: t for t in topics}
        self.stats: dict[str, Stat] = {}
        self.comparisons: dict[str, stats.Comparison] = {}
        # reports and plots: derived from immutable data, computed once
        self._reports: dict[tuple[str, str | None], dict] = {}
        self._plots: dict[tuple[str, str], str | None] = {}
        for t in topics:
            cits = tuple((c.source, c.locator) for c in t.citations)
            for sdef in t.statistics:
                x, n = self.count(t, sdef.numerator, sdef.where)
                self.stats[sdef.id] = Stat(
                    sdef.id, sdef.label, t.id, stats.clopper_pearson(x, n), stats.wilson(x, n), cits
                )
            for agg in t.aggregates:
                acits = tuple((c.source, c.locator) for c in agg.citations)
                self.stats[agg.id] = Stat(
                    agg.id,
                    agg.label,
                    t.id,
                    stats.clopper_pearson(agg.events, agg.n),
                    stats.wilson(agg.events, agg.n),
                    acits,
                    agg.note,
                )
            for cdef in t.comparisons:
                a, b = self.stats[cdef.a].exact, self.stats[cdef.b].exact
                self.comparisons[cdef.id] = stats.compare_two(a.x, a.n, b.x, b.n)

    def report(self, topic_id: str, by: str | None = None) -> dict:
        """topic_report, computed once per topic and attribute; callers must not modify it."""
        key = (topic_id, by)
        if key not in self._reports:
            self._reports[key] = topic_report(self, topic_id, by)
        return self._reports[key]

    def forest_plot(self, topic_id: str, layout: str = "wide") -> str | None:
        """The topic's forest plot as SVG (REML pooled estimate) in the wide or the narrow (phone) layout, or
        None when it has none."""
        from oncoguide.evidence.forest import forest_svg

        key = (topic_id, layout)
        if key not in self._plots:
            t = self.topics[topic_id]
            svg = None
            if t.forest:
                rows, result, corrected = self.forest(t, "REML")
                svg = forest_svg(f"{t.title}: {t.forest.label.lower()}", rows, result, corrected, layout)
            self._plots[key] = svg
        return self._plots[key]

    @staticmethod
    def arms(topic: EvidenceTopic, where: Mapping[str, Sequence[str | int]] | None = None):
        where = where or {}
        for study in topic.studies:
            for arm in study.arms:
                attrs = dict(arm.attrs, study=study.id, design=study.design)
                if all(attrs.get(k) in vals for k, vals in where.items()):
                    yield study, arm

    def count(
        self, topic: EvidenceTopic, numerator: Sequence[str], where: Mapping[str, Sequence[str | int]]
    ) -> tuple[int, int]:
        x = n = 0
        for _, arm in self.arms(topic, where):
            x += sum(arm.counts.get(c, 0) for c in numerator)
            n += arm.n
        return x, n

    def by_group(
        self, topic: EvidenceTopic, attr: str, numerator: Sequence[str], study: str | None = None
    ) -> list[tuple[str, stats.Proportion]]:
        """Events and patients of the arms sharing each value of `attr` (in one study, or pooled over all)."""
        groups: dict[str, list[int]] = {}
        for s, arm in self.arms(topic, {"study": [study]} if study else None):
            key = str(arm.attrs.get(attr, s.design if attr == "design" else "unknown"))
            g = groups.setdefault(key, [0, 0])
            g[0] += sum(arm.counts.get(c, 0) for c in numerator)
            g[1] += arm.n
        return [(k, stats.clopper_pearson(x, n)) for k, (x, n) in sorted(groups.items())]

    def group_studies(self, topic: EvidenceTopic, attr: str) -> dict[str, list[str]]:
        """The studies whose arms make up each value of `attr`, in the order of the pack."""
        out: dict[str, list[str]] = {}
        for s, arm in self.arms(topic):
            labels = out.setdefault(str(arm.attrs.get(attr, s.design if attr == "design" else "unknown")), [])
            if s.label not in labels:
                labels.append(s.label)
        return out

    def forest(self, topic: EvidenceTopic, method: str = "REML"):
        fdef = topic.forest
        if not fdef:
            return None
        rows = [
            (
                arm.label if len(study.arms) > 1 else study.label,
                sum(arm.counts.get(c, 0) for c in fdef.numerator),
                arm.n,
            )
            for study, arm in self.arms(topic)
        ]
        result, corrected = stats.meta_proportions([(x, n) for _, x, n in rows], method)
        return rows, result, corrected

    # --- text ------------------------------------------------------------------------------------

    def render(self, text: str) -> str:
        """Replace {stat:ID[:form]} and {cmp:ID[:form]} with computed values."""

        def sub(m: re.Match) -> str:
            kind, name, form = m.group(1), m.group(2), m.group(3) or "full"
            if kind == "stat":
                s = self.stats[name].exact
                return {
                    "full": s.describe(),
                    "count": f"{s.x}/{s.n}",
                    "percent": s.percent(),
                    "n": str(s.n),
                    "x": str(s.x),
                    "ci": f"95% CI {100 * s.low:.1f}-{100 * s.high:.1f}%",
                    "round": f"{100 * s.p:.0f}%",
                }[form]
            c = self.comparisons[name]
            return {
                "full": f"{p_text(c.p_value)}; risk difference {100 * c.risk_difference:.1f} points "
                f"(95% CI {100 * c.rd_low:.1f} to {100 * c.rd_high:.1f})",
                "p": p_text(c.p_value),
            }[form]

        return TEMPLATE.sub(sub, text)

    def unknown_names(self, text: str) -> list[str]:
        out = []
        for kind, name, form in TEMPLATE.findall(text):
            table = self.stats if kind == "stat" else self.comparisons
            if name not in table:
                out.append(f"{kind}:{name}")
            elif form and form not in (
                ("full", "count", "percent", "n", "x", "ci", "round") if kind == "stat" else ("full", "p")
            ):
                out.append(f"{kind}:{name}:{form}")
        return out

    def disagreements(self, text: str, name: str) -> list[str]:
        """Numbers typed in a claim that contradict the statistic it names (fractions over the same n,
        and the percentage written right after such a fraction)."""
        s = self.stats[name].exact
        out = []
        for m in re.finditer(r"(\d[\d,]*)\s*/\s*(\d[\d,]*)(?:\s*\(?\s*(\d+(?:\.\d+)?)\s*%)?", text):
            x, n = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
            if n != s.n:
                continue
            if x != s.x:
                out.append(f"'{m.group(0).strip()}' but {name} is {s.x}/{s.n}")
            elif m.group(3):
                typed = float(m.group(3))
                digits = len(m.group(3).split(".")[1]) if "." in m.group(3) else 0
                if abs(typed - round(100 * s.p, digits)) > 10**-digits / 2 + 1e-9:
                    out.append(f"'{m.group(0).strip()}' but {name} is {100 * s.p:.{max(digits, 1)}f}%")
        return out


def topic_attributes(topic: EvidenceTopic) -> list[str]:
    """The arm attributes a topic can be pooled and compared by (dose, technique, ...)."""
    return sorted({k for s in topic.studies for a in s.arms for k in a.attrs})


def topic_report(ev: Evidence, topic_id: str, by: str | None = None) -> dict:
    """Everything the evidence command shows for one topic, as plain data."""
    if topic_id not in ev.topics:
        raise KeyError(f"unknown evidence topic '{topic_id}'; known: {', '.join(sorted(ev.topics))}")
    t = ev.topics[topic_id]
    if by is not None and by not in topic_attributes(t):
        raise KeyError(
            f"topic '{topic_id}' cannot be compared by '{by}'; use one of: {', '.join(topic_attributes(t)) or 'none'}"
        )
    cats = t.categories
    table = [
        {
            "study": study.label,
            "arm": arm.label,
            "design": study.design,
            "n": arm.n,
            **{c: arm.counts.get(c, 0) for c in cats},
            **arm.attrs,
        }
        for study, arm in ev.arms(t)
    ]
    totals = {c: ev.count(t, [c], {}) for c in cats}
    named = [s for s in ev.stats.values() if s.topic == topic_id]
    # a statistic whose events are every category counts patients (x = n by construction): not a rate
    whole = {sd.id for sd in t.statistics if set(sd.numerator) >= set(cats)}
    report = {
        "topic": topic_id,
        "title": t.title,
        "outcome": t.outcome,
        "labels": {c: t.label(c) for c in (*cats, *topic_attributes(t))},
        "studies": table,
        "totals": {c: {"x": x, "n": n, "percent": round(100 * x / n, 1)} for c, (x, n) in totals.items()},
        "statistics": [
            {
                "id": s.id,
                "label": s.label,
                "x": s.exact.x,
                "n": s.exact.n,
                "percent": round(100 * s.exact.p, 1),
                "exact_ci": [s.exact.low, s.exact.high],
                "wilson_ci": [s.wilson.low, s.wilson.high],
                "note": s.note,
                "total": s.id in whole,
            }
            for s in named
        ],
        "comparisons": [
            {
                "id": cdef.id,
                "label": cdef.label,
                "a": cdef.a,
                "b": cdef.b,
                "risk_difference": c.risk_difference,
                "rd_ci": [c.rd_low, c.rd_high],
                "p_value": c.p_value,
                "p_text": p_text(c.p_value),
                "test": c.test,
            }
            for cdef in t.comparisons
            for c in [ev.comparisons[cdef.id]]
        ],
        "citations": plain(t.citations),
    }
    if by:
        fdef = t.forest or (t.statistics[0] if t.statistics else None)
        if fdef is None:
            raise KeyError(f"topic '{topic_id}' has no statistic to compare by '{by}'")
        groups = ev.by_group(t, by, fdef.numerator)
        studies_of = ev.group_studies(t, by)

        def rows(groups: list[tuple[str, stats.Proportion]], study: str | None = None) -> list[dict]:
            return [
                {
                    "group": g,
                    "label": t.value(by, g),
                    "x": p.x,
                    "n": p.n,
                    "percent": round(100 * p.p, 1),
                    "exact_ci": [p.low, p.high],
                    "studies": [study] if study else studies_of[g],
                }
                for g, p in groups
            ]

        report["by"] = {
            "attribute": by,
            "attribute_label": t.label(by),
            # the first statistic gives the events counted, but its label names one group: the outcome is the topic's
            "outcome": t.forest.label if t.forest else t.outcome[:1].upper() + t.outcome[1:],
            "groups": rows(groups),
            # a group that adds up arms of different studies mixes their patients and methods: readers are told
            "mixed": any(len(v) > 1 for v in studies_of.values()),
        }
        # where a study compares the groups itself, its own rows are the fair comparison: shown study by study
        within = [s for s in t.studies if len({str(a.attrs.get(by)) for a in s.arms}) > 1]
        if within and report["by"]["mixed"]:
            report["by"]["by_study"] = [
                {"study": s.label, "groups": rows(ev.by_group(t, by, fdef.numerator, s.id), s.label)} for s in within
            ]
        if len(groups) >= 2:
            chi2, p, df = stats.compare_several([(p.x, p.n) for _, p in groups])
            report["by"]["chi_square"] = {"statistic": chi2, "df": df, "p_value": p, "p_text": p_text(p)}
    if t.forest:
        metas = {}
        for method in ("DL", "REML"):
            rows, res, corrected = ev.forest(t, method)
            est, low, high, plow, phigh = res.back(stats.expit)
            metas[method] = {
                "estimate": est,
                "ci": [low, high],
                "prediction_interval": [plow, phigh],
                "tau2": res.tau2,
                "i2": res.i2,
                "h2": res.h2,
                "q": res.q,
                "q_p": res.q_p,
                "q_p_text": p_text(res.q_p),
                "k": res.k,
                "zero_event_corrections": corrected,
            }
        report["meta_analysis"] = {"outcome": t.forest.label, "scale": "logit", **metas}
    return report
