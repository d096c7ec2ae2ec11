"""The embedded SQLite store: its tables (SQLAlchemy 2) and building them from the pack in one transaction."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from oncoguide.pack.contents import SCHEMA_VERSION
from oncoguide.pack.words import english_near, lexicon_words


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SourceRow(Base):
    __tablename__ = "sources"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[str] = mapped_column(Text)
    journal: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int] = mapped_column(Integer)
    volume: Mapped[str | None] = mapped_column(String(40))
    pages: Mapped[str | None] = mapped_column(String(40))
    pmid: Mapped[str | None] = mapped_column(String(12), index=True)
    doi: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    no_identifier_reason: Mapped[str | None] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer)
    verified: Mapped[str] = mapped_column(Text)


class ClaimRow(Base):
    __tablename__ = "claims"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    file: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, doc="order in the pack, which writers use to order ideas")
    condition: Mapped[str] = mapped_column(String(10), index=True)
    facet: Mapped[str] = mapped_column(String(40), index=True)
    subtypes: Mapped[list] = mapped_column(JSON)
    sites: Mapped[list] = mapped_column(JSON)
    populations: Mapped[list] = mapped_column(JSON)
    tags: Mapped[list] = mapped_column(JSON)
    key: Mapped[bool] = mapped_column(Boolean)
    clinician: Mapped[str] = mapped_column(Text)
    patient: Mapped[str] = mapped_column(Text)
    statistic: Mapped[str | None] = mapped_column(String(80))
    # reading counts (words, sentences, syllables) so answers can be graded without importing textstat
    clinician_counts: Mapped[list] = mapped_column(JSON)
    patient_counts: Mapped[list] = mapped_column(JSON)
    answers: Mapped[list] = mapped_column(JSON, doc="question types the claim answers")
    entities: Mapped[list] = mapped_column(JSON, doc="focus entities, kind:key")
    cohort: Mapped[str | None] = mapped_column(String(40), doc="selected population its figure comes from")
    safety: Mapped[list] = mapped_column(JSON, doc="treatments it says do not work, and for whom")


class CitationRow(Base):
    __tablename__ = "citations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), index=True)
    locator: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


class ConflictRow(Base):
    __tablename__ = "conflicts"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    condition: Mapped[str] = mapped_column(String(10))
    facet: Mapped[str] = mapped_column(String(40))
    populations: Mapped[list] = mapped_column(JSON)
    topic: Mapped[str] = mapped_column(Text)
    clinician: Mapped[str] = mapped_column(Text)
    patient: Mapped[str] = mapped_column(Text)
    sides: Mapped[list] = mapped_column(JSON)


class DocRow(Base):
    """Pack documents that are read whole: lexicon, sections, FAQs, fixed texts."""

    __tablename__ = "pack_documents"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    data: Mapped[dict | list] = mapped_column(JSON)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def engine_for(path: Path) -> Engine:
    """An engine for the knowledge base being built; its pragmas apply to this engine only, not to every
    engine in the process (the site database sets its own, in site/db.py)."""
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@dataclass(frozen=True)
class BuildReport:
    path: Path
    sources: int
    claims: int
    citations: int
    conflicts: int
    groups: int
    digest: str


def build(pack_dir: Path, db_path: Path) -> BuildReport:
    """Validate the pack and write a new database file; the old one is replaced only on success."""
    from oncoguide.pack.load import evidence_of, load_pack
    from oncoguide.pack.problems import PackError, Problem
    from oncoguide.pack.readability import counts

    pack = load_pack(pack_dir)  # raises PackError before anything is written
    lexicon, texts, spec = pack.lexicon, pack.texts, pack.algorithm
    if lexicon is None or texts is None or spec is None:  # an empty YAML file validates to nothing, silently
        empty = [
            name
            for name, doc in (("lexicon.yaml", lexicon), ("texts.yaml", texts), ("algorithm/dimensions.yaml", spec))
            if doc is None
        ]
        raise PackError([Problem(name, 0, "", "", "the file is empty") for name in empty])
    ev = evidence_of(pack)
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.{os.getpid()}.building")
    tmp.unlink(missing_ok=True)
    engine = engine_for(tmp)
    n_cit = 0
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as s, s.begin():
            for src in pack.sources.values():
                s.add(SourceRow(**src.model_dump(exclude={"text_seen"})))  # text_seen is checked, not stored
            s.flush()
            for position, claim in enumerate(pack.claims.values()):
                # numbers quoted from study data are computed here, never typed twice
                clinician, patient = ev.render(claim.clinician), ev.render(claim.patient)
                cc, pc = counts(clinician), counts(patient)
                s.add(
                    ClaimRow(
                        id=claim.id,
                        file=pack.claim_files[claim.id],
                        position=position,
                        condition=claim.condition,
                        facet=claim.facet,
                        subtypes=claim.subtypes,
                        sites=claim.sites,
                        populations=list(claim.populations),
                        tags=claim.tags,
                        key=claim.key,
                        clinician=clinician,
                        patient=patient,
                        statistic=claim.statistic,
                        answers=list(claim.answers),
                        entities=list(claim.entities),
                        cohort=claim.cohort,
                        safety=[r.model_dump() for r in claim.safety],
                        clinician_counts=[cc.words, cc.sentences, cc.syllables],
                        patient_counts=[pc.words, pc.sentences, pc.syllables],
                    )
                )
            s.flush()
            for claim in pack.claims.values():
                for i, cit in enumerate(claim.citations):
                    s.add(CitationRow(claim_id=claim.id, source_id=cit.source, locator=cit.locator, position=i))
                    n_cit += 1
            for c in pack.conflicts.values():
                sides = [
                    dict(side.model_dump(), position=ev.render(side.position), patient=ev.render(side.patient))
                    for side in c.sides
                ]
                s.add(
                    ConflictRow(
                        id=c.id,
                        condition=c.condition,
                        facet=c.facet,
                        populations=list(c.populations),
                        topic=c.topic,
                        clinician=ev.render(c.clinician),
                        patient=ev.render(c.patient),
                        sides=sides,
                    )
                )
            s.add(DocRow(name="lexicon", data=lexicon.model_dump()))
            # English words a typo corrector must leave alone (computed here so answers need no word list)
            s.add(DocRow(name="english", data=english_near(lexicon_words(lexicon.model_dump()))))
            s.add(DocRow(name="texts", data=texts.model_dump()))
            s.add(DocRow(name="sections", data=[x.model_dump() for x in pack.sections]))
            s.add(DocRow(name="faqs", data=[x.model_dump() for x in pack.faqs]))
            s.add(DocRow(name="evidence", data=[t.model_dump(exclude_none=True) for t in pack.evidence]))
            s.add(
                DocRow(
                    name="algorithm",
                    data={
                        "spec": spec.model_dump(exclude_none=True),
                        "groups": [g.model_dump(exclude_none=True) for g in pack.groups],
                        "drugs": [d.model_dump(by_alias=True) for d in pack.drugs.values()],
                        "codes": pack.codes.model_dump() if pack.codes else None,
                    },
                )
            )
            built = datetime.now(UTC).isoformat(timespec="seconds")
            for k, v in (("schema", SCHEMA_VERSION), ("pack_digest", pack.digest), ("built_at", built)):
                s.add(Meta(key=k, value=v))
        engine.dispose()
        os.replace(tmp, db_path)
    except BaseException:
        engine.dispose()
        tmp.unlink(missing_ok=True)
        raise
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    return BuildReport(
        db_path, len(pack.sources), len(pack.claims), n_cit, len(pack.conflicts), len(pack.groups), pack.digest
    )
