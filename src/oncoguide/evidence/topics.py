"""The study-level evidence data (studies, arms, aggregates, statistic and comparison definitions) as frozen
dataclasses, and the citation (source id + locator) they carry.

They are defined here, in the evidence layer, because building and checking the pack computes statistics
from them: the pack (pack/typed.py) builds them from its stored JSON and imports them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Citation:
    source: str
    locator: str


def citations(raw: list[dict]) -> tuple[Citation, ...]:
    return tuple(Citation(c["source"], c["locator"]) for c in raw)


# --- study-level evidence --------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    id: str
    label: str
    n: int
    counts: dict[str, int]
    attrs: dict[str, str | int]


@dataclass(frozen=True)
class Study:
    id: str
    label: str
    design: str
    setting: str | None
    citations: tuple[Citation, ...]
    arms: tuple[Arm, ...]


@dataclass(frozen=True)
class Aggregate:
    id: str
    label: str
    events: int
    n: int
    note: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class StatisticDef:
    id: str
    label: str
    numerator: tuple[str, ...]
    where: dict[str, tuple[str | int, ...]]
    patient: str = ""  # plain words for an icon array ("had the tumor come back"), or none


@dataclass(frozen=True)
class ComparisonDef:
    id: str
    label: str
    a: str
    b: str


@dataclass(frozen=True)
class EvidenceTopic:
    id: str
    condition: str
    title: str
    outcome: str
    categories: tuple[str, ...]
    citations: tuple[Citation, ...]
    studies: tuple[Study, ...]
    aggregates: tuple[Aggregate, ...]
    statistics: tuple[StatisticDef, ...]
    comparisons: tuple[ComparisonDef, ...]
    forest: StatisticDef | None
    labels: dict[str, str] = field(default_factory=dict)  # category or attribute -> reader's label
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # attribute -> value -> reader's label

    def label(self, name: str) -> str:
        """An outcome category or arm attribute as readers see it (the raw name only if the pack gives none)."""
        return self.labels.get(name) or name.replace("_", " ").capitalize()

    def value(self, attribute: str, value: str | int) -> str:
        """One value of an arm attribute as readers see it."""
        return self.values.get(attribute, {}).get(str(value), str(value))


def _statdef(d: dict) -> StatisticDef:
    return StatisticDef(
        d["id"],
        d["label"],
        tuple(d["numerator"]),
        {k: tuple(v) for k, v in d.get("where", {}).items()},
        d.get("patient") or "",
    )


def evidence_topic(t: dict) -> EvidenceTopic:
    studies = tuple(
        Study(
            s["id"],
            s["label"],
            s["design"],
            s.get("setting"),
            citations(s["citations"]),
            tuple(Arm(a["id"], a["label"], a["n"], dict(a["counts"]), dict(a.get("attrs", {}))) for a in s["arms"]),
        )
        for s in t["studies"]
    )
    return EvidenceTopic(
        t["id"],
        t["condition"],
        t["title"],
        t["outcome"],
        tuple(t["categories"]),
        citations(t["citations"]),
        studies,
        tuple(
            Aggregate(a["id"], a["label"], a["events"], a["n"], a["note"], citations(a["citations"]))
            for a in t.get("aggregates", [])
        ),
        tuple(_statdef(s) for s in t.get("statistics", [])),
        tuple(ComparisonDef(c["id"], c["label"], c["a"], c["b"]) for c in t.get("comparisons", [])),
        _statdef(t["forest"]) if t.get("forest") else None,
        dict(t.get("labels", {})),
        {k: {str(v): label for v, label in vals.items()} for k, vals in t.get("values", {}).items()},
    )
