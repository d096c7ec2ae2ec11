"""What the answer engine reads, loaded from the store into memory once.

Reading uses the standard sqlite3 module rather than SQLAlchemy: a command-line question is a whole
process, and SQLAlchemy's import alone costs about 0.3 s of the 0.8 s budget.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from oncoguide.pack.readability import Counts
from oncoguide.pack.typed import AlgorithmDoc, EvidenceTopic, Faq, Lexicon, Section, Side, Texts, documents, side_of

SCHEMA_VERSION = "6"


@dataclass(frozen=True)
class SourceRec:
    id: str
    type: str
    title: str
    authors: str
    journal: str | None
    year: int
    volume: str | None
    pages: str | None
    pmid: str | None
    doi: str | None
    url: str | None
    level: int


@dataclass(frozen=True)
class ClaimRec:
    id: str
    condition: str
    facet: str
    subtypes: frozenset[str]
    sites: frozenset[str]
    populations: frozenset[str]
    tags: frozenset[str]
    key: bool
    clinician: str
    patient: str
    citations: tuple[tuple[str, str], ...]
    clinician_counts: Counts
    patient_counts: Counts
    statistic: str | None
    file: str
    answers: tuple[str, ...] = ()  # question types the claim answers, the one it answers best first
    entities: frozenset[str] = frozenset()  # "kind:key" focus entities (genotype, drug, modality, setting)
    cohort: str | None = None  # the selected population its figure was measured in, if any
    safety: tuple[SafetyRule, ...] = ()


@dataclass(frozen=True)
class SafetyRule:
    """The claim says `treatment` is `verdict` (ineffective, contraindicated) when all of `when` hold."""

    treatment: str
    verdict: str
    when: frozenset[str]


@dataclass(frozen=True)
class ConflictRec:
    id: str
    condition: str
    facet: str
    populations: frozenset[str]
    topic: str
    clinician: str
    patient: str
    sides: tuple[Side, ...]


@dataclass
class Contents:
    sources: dict[str, SourceRec]
    claims: dict[str, ClaimRec]
    conflicts: dict[str, ConflictRec]
    lexicon: Lexicon
    texts: Texts
    sections: tuple[Section, ...]
    faqs: tuple[Faq, ...]
    meta: dict[str, str]
    algorithm: AlgorithmDoc
    evidence: tuple[EvidenceTopic, ...]
    english: frozenset[str] = frozenset()  # English words near a lexicon term: never typo-corrected


def read_meta(db_path: Path) -> dict[str, str]:
    """The meta table, or {} when the file is missing or not one of our databases."""
    if not Path(db_path).exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return {}


def load(db_path: Path) -> Contents:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        q = conn.execute
        sources = {
            r[0]: SourceRec(*r)
            for r in q(
                "SELECT id, type, title, authors, journal, year, volume, pages, pmid, doi, url, level FROM sources"
            )
        }
        cits: dict[str, list[tuple[str, str]]] = {}
        for claim_id, source_id, locator in q(
            "SELECT claim_id, source_id, locator FROM citations ORDER BY claim_id, position"
        ):
            cits.setdefault(claim_id, []).append((source_id, locator))
        claims = {}
        for row in q(
            "SELECT id, condition, facet, subtypes, sites, populations, tags, key, clinician, patient, "
            "statistic, file, clinician_counts, patient_counts, answers, entities, cohort, safety "
            "FROM claims ORDER BY position"
        ):
            cid, condition, facet, subtypes, sites, pops, tags, key, clin, pat, stat, file, cc, pc = row[:14]
            ans, ents, cohort, safe = row[14:]
            claims[cid] = ClaimRec(
                cid,
                condition,
                facet,
                frozenset(json.loads(subtypes)),
                frozenset(json.loads(sites)),
                frozenset(json.loads(pops)),
                frozenset(json.loads(tags)),
                bool(key),
                clin,
                pat,
                tuple(cits.get(cid, ())),
                Counts(*json.loads(cc)),
                Counts(*json.loads(pc)),
                stat,
                file,
                tuple(json.loads(ans)),
                frozenset(json.loads(ents)),
                cohort,
                tuple(SafetyRule(r["treatment"], r["verdict"], frozenset(r["when"])) for r in json.loads(safe)),
            )
        conflicts = {
            r[0]: ConflictRec(
                r[0],
                r[1],
                r[2],
                frozenset(json.loads(r[3])),
                r[4],
                r[5],
                r[6],
                tuple(side_of(x) for x in json.loads(r[7])),
            )
            for r in q(
                "SELECT id, condition, facet, populations, topic, clinician, patient, sides FROM conflicts ORDER BY id"
            )
        }
        docs = {name: json.loads(data) for name, data in q("SELECT name, data FROM pack_documents")}
        meta = dict(q("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()
    typed = documents(docs)
    return Contents(
        sources,
        claims,
        conflicts,
        typed.lexicon,
        typed.texts,
        typed.sections,
        typed.faqs,
        meta,
        typed.algorithm,
        typed.evidence,
        typed.english,
    )
