"""Editorial review: each answered question is an article with versions; named clinicians move it
through Submitted -> Under review -> Approved (or Changes requested -> revised -> Submitted;
Approved -> Retracted). Every transition is an append-only audit event. An approved article whose
claims, sources or statistics change in the pack becomes "Needs re-review".
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import bindparam, insert, select, update

from oncoguide.plain import plain
from oncoguide.site.accounts import Role, User, now
from oncoguide.site.db import article_versions, articles, review_events, users


class Status(StrEnum):
    """An article's review status; the value is what the database stores and the JSON shows."""

    SUBMITTED = "submitted"
    UNDER_REVIEW = "under-review"
    CHANGES_REQUESTED = "changes-requested"
    APPROVED = "approved"
    RETRACTED = "retracted"
    NEEDS_RE_REVIEW = "needs-re-review"


LABELS = {
    Status.SUBMITTED: "Submitted",
    Status.UNDER_REVIEW: "Under review",
    Status.CHANGES_REQUESTED: "Changes requested",
    Status.APPROVED: "Approved",
    Status.RETRACTED: "Retracted",
    Status.NEEDS_RE_REVIEW: "Needs re-review",
}
REVIEW_ROLES = {Role.REVIEWER, Role.EDITOR, Role.ADMIN}
# (from, to) -> roles allowed to make that move
TRANSITIONS = {
    (Status.SUBMITTED, Status.UNDER_REVIEW): REVIEW_ROLES,
    (Status.NEEDS_RE_REVIEW, Status.UNDER_REVIEW): REVIEW_ROLES,
    (Status.UNDER_REVIEW, Status.APPROVED): {Role.REVIEWER, Role.ADMIN},
    (Status.UNDER_REVIEW, Status.CHANGES_REQUESTED): {Role.REVIEWER, Role.ADMIN},
    # revised: a new version from the current pack
    (Status.CHANGES_REQUESTED, Status.SUBMITTED): {Role.EDITOR, Role.ADMIN},
    (Status.APPROVED, Status.RETRACTED): REVIEW_ROLES,
    (Status.RETRACTED, Status.SUBMITTED): {Role.EDITOR, Role.ADMIN},
}
ACTIONS = {
    Status.UNDER_REVIEW: "Start review",
    Status.APPROVED: "Approve",
    Status.CHANGES_REQUESTED: "Request changes",
    Status.SUBMITTED: "Revise and resubmit",
    Status.RETRACTED: "Retract",
}
MAX_COMMENT = 4000


class ReviewError(ValueError):
    """A refused transition; the message says why."""


class NoArticle(ReviewError):
    """The article id does not exist."""


class ReviewConflict(ReviewError):
    """Someone else changed the article since the page was loaded (optimistic concurrency)."""

    def __init__(
        self, message: str = "someone else acted on this article since you opened it; reload it to see what changed"
    ):
        super().__init__(message)


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def query_key(understood: dict) -> str:
    """The normalised question: paraphrases that are understood the same share one article."""
    keep = {
        k: understood.get(k) for k in ("condition", "subtypes", "populations", "sites", "intents", "topics", "stage")
    }
    keep["intents"] = sorted(keep["intents"] or [])
    # the drug, genotype or setting asked about tells questions apart ("ifosfamide side effects" is not
    # "doxorubicin and the heart"); added only when named, so keys of questions naming none are unchanged
    if understood.get("entities"):
        keep["entities"] = sorted(understood["entities"])
    return _digest(keep)


def basis(answer, kb) -> dict:
    """What an answer rests on, each item with a digest of its current content and a readable text."""
    contents = kb.contents
    out: dict[str, dict] = {"claims": {}, "steps": {}, "sources": {}, "conflicts": {}, "statistics": {}}
    for st in answer.statements():
        if st.kind == "claim" and st.claim_id in contents.claims:
            c = contents.claims[st.claim_id]
            out["claims"][c.id] = {
                "digest": _digest(c.clinician, c.patient, c.citations, c.statistic),
                "text": c.clinician,
            }
            if c.statistic and c.statistic in kb.evidence.stats:
                s = kb.evidence.stats[c.statistic].exact
                out["statistics"][c.statistic] = {"digest": _digest(s.x, s.n), "text": f"{s.x}/{s.n}"}
        else:
            out["steps"][st.claim_id] = {"digest": _digest(st.text), "text": st.text}
    for r in answer.references:
        src = contents.sources.get(r.id)
        if src is not None:
            out["sources"][r.id] = {"digest": _digest(src), "text": f"{src.authors}. {src.title} ({src.year})"}
    for cf in answer.conflicts:
        c = contents.conflicts.get(cf.id)
        if c is not None:
            out["conflicts"][cf.id] = {"digest": _digest(c.clinician, plain(c.sides)), "text": c.clinician}
    return out


def current_item(kind: str, item_id: str, kb, audience: str) -> dict | None:
    """The current digest and text of one basis item, or None when it no longer exists."""
    contents = kb.contents
    if kind == "claims":
        c = contents.claims.get(item_id)
        return c and {"digest": _digest(c.clinician, c.patient, c.citations, c.statistic), "text": c.clinician}
    if kind == "sources":
        s = contents.sources.get(item_id)
        return s and {"digest": _digest(s), "text": f"{s.authors}. {s.title} ({s.year})"}
    if kind == "conflicts":
        c = contents.conflicts.get(item_id)
        return c and {"digest": _digest(c.clinician, plain(c.sides)), "text": c.clinician}
    if kind == "statistics":
        s = kb.evidence.stats.get(item_id)
        return s and {"digest": _digest(s.exact.x, s.exact.n), "text": f"{s.exact.x}/{s.exact.n}"}
    return None  # algorithm steps are compared through a re-composed answer, see changes()


@dataclass
class Change:
    kind: str
    id: str
    old: str
    new: str | None  # None: removed from the pack

    @property
    def diff(self) -> list[str]:
        return list(
            difflib.unified_diff(
                self.old.split(". "), (self.new or "").split(". "), "approved", "now", lineterm="", n=0
            )
        )[2:]


@dataclass
class Article:
    id: int
    question: str
    audience: str
    status: Status
    version: int
    revision: int
    updated: object
    answer: dict
    basis: dict
    thread: list[str]
    events: list[dict] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def approval(self) -> dict | None:
        """The event that approved the current version, when the article is approved."""
        if self.status != Status.APPROVED:
            return None
        return next((e for e in reversed(self.events) if e["to_status"] == Status.APPROVED), None)


# built once: the answer page reads it on every view (Reviews.state)
STATE = select(articles.c.id, articles.c.status, articles.c.revision).where(
    articles.c.query_key == bindparam("key"), articles.c.audience == bindparam("audience")
)
APPROVER = (  # who approved an article last, as its page names them
    select(users.c.display_name, users.c.username, users.c.credentials, users.c.affiliation)
    .join(review_events, users.c.id == review_events.c.user_id)
    .where(review_events.c.article_id == bindparam("article"), review_events.c.to_status == Status.APPROVED)
    .order_by(review_events.c.id.desc())
    .limit(1)
)


class Reviews:
    def __init__(self, engine, kb, known_limit: int = 256):
        self.engine = engine
        self.kb = kb
        # query key -> the article id of every audience, once all exist: articles are never deleted, so asking
        # the same question again needs no lookup in the review tables (bounded: oldest forgotten first)
        self._known: dict[str, dict[str, int | None]] = {}
        self._known_limit = known_limit
        self._lock = threading.Lock()

    # --- reading ----------------------------------------------------------------------------------

    def find(self, answer) -> int | None:
        key = query_key(answer.understood)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(articles.c.id).where(articles.c.query_key == key, articles.c.audience == answer.audience)
            ).first()
        return row.id if row else None

    def record(self, answer, thread: list[str]) -> int | None:
        """The article for this answer, created (Submitted, version 1) the first time it is asked."""
        if not answer.in_scope:
            return None
        found = self.find(answer)
        if found is not None:
            return found
        key = query_key(answer.understood)
        with self.engine.begin() as conn:
            again = conn.execute(
                select(articles.c.id).where(articles.c.query_key == key, articles.c.audience == answer.audience)
            ).first()
            if again:  # another worker created it in the meantime
                return again.id
            art_id = conn.execute(
                insert(articles).values(
                    query_key=key,
                    audience=answer.audience,
                    question=answer.question,
                    status=Status.SUBMITTED,
                    version=1,
                    revision=1,
                    updated=now(),
                )
            ).inserted_primary_key[0]
            self._add_version(conn, art_id, 1, answer, thread)
            conn.execute(
                insert(review_events).values(
                    article_id=art_id,
                    version=1,
                    from_status=None,
                    to_status=Status.SUBMITTED,
                    user_id=None,
                    role=None,
                    comment="created from a reader's question",
                    at=now(),
                )
            )
        return art_id

    def record_audiences(self, answer, thread: list[str]) -> dict[str, int | None]:
        """The articles for this answer in every audience, created the first time the question is asked.

        Readers switch audience on the answer page; each variant they can reach must be an article a
        reviewer can see and approve, or its status could not be true. The other audiences' answers are
        composed from the same thread turn, as the answer page composes them; only when their article is
        missing.
        """
        from oncoguide.engine.understand import AUDIENCES
        from oncoguide.kb import Thread

        if not answer.in_scope:  # out of scope: no article in any audience
            return {answer.audience: None}
        key = query_key(answer.understood)
        known = self._known.get(key)
        if known is not None:
            return dict(known)
        ids = {answer.audience: self.record(answer, thread)}
        for other in AUDIENCES:
            if other in ids:
                continue
            with self.engine.connect() as conn:  # the usual case: made already, nothing to compose
                found = conn.execute(
                    select(articles.c.id).where(articles.c.query_key == key, articles.c.audience == other)
                ).first()
            ids[other] = (
                found.id if found else self.record(Thread.replay(self.kb, thread, other).ask(answer.question), thread)
            )
        if self._known_limit and all(v is not None for v in ids.values()):
            with self._lock:
                while len(self._known) >= self._known_limit:
                    del self._known[next(iter(self._known))]
                self._known[key] = dict(ids)
        return ids

    def known(self, answer) -> bool:
        """Whether this process has seen the articles of every audience of this answer (no lookup needed)."""
        return not answer.in_scope or query_key(answer.understood) in self._known

    def _add_version(self, conn, art_id: int, version: int, answer, thread: list[str]) -> None:
        snapshot = dict(answer.to_dict(), thread=thread)
        conn.execute(
            insert(article_versions).values(
                article_id=art_id,
                version=version,
                answer=snapshot,
                basis=basis(answer, self.kb),
                pack_digest=self.kb.contents.meta.get("pack_digest", ""),
                created=now(),
            )
        )

    def _stored(self, art_id: int) -> Article:
        """An article just written (articles are never deleted)."""
        art = self.get(art_id)
        if art is None:
            raise NoArticle(f"no article {art_id}")
        return art

    def get(self, art_id: int) -> Article | None:
        with self.engine.connect() as conn:
            a = conn.execute(select(articles).where(articles.c.id == art_id)).first()
            if a is None:
                return None
            v = conn.execute(
                select(article_versions).where(
                    article_versions.c.article_id == art_id, article_versions.c.version == a.version
                )
            ).first()
            events = [
                dict(r._mapping)
                for r in conn.execute(
                    select(
                        review_events, users.c.display_name, users.c.username, users.c.credentials, users.c.affiliation
                    )
                    .outerjoin(users, users.c.id == review_events.c.user_id)
                    .where(review_events.c.article_id == art_id)
                    .order_by(review_events.c.id)
                )
            ]
        art = Article(
            a.id,
            a.question,
            a.audience,
            Status(a.status),
            a.version,
            a.revision,
            a.updated,
            v.answer,
            v.basis,
            v.answer.get("thread", []),
            events,
        )
        art.changes = self.changes(art)
        if art.status == Status.APPROVED and art.changes:
            art.status = Status.NEEDS_RE_REVIEW  # readers see it at once, before the next refresh records it
        return art

    def state(self, answer) -> tuple | None:
        """What a page shows of the article's review: its id, status and revision (one indexed row; None without
        an article), and for an approved article who approved it as readers see them (name, credentials,
        affiliation: a reviewer may change these at any time). Every transition and every re-review flag
        raises the revision, so this names the review state a page shows."""
        if not answer.in_scope:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(STATE, {"key": query_key(answer.understood), "audience": answer.audience}).first()
            if row is None:
                return None
            approver = None
            if row.status == Status.APPROVED:
                approver = conn.execute(APPROVER, {"article": row.id}).first()
        return (row.id, row.status, row.revision, tuple(approver) if approver else None)

    def reader_view(self, answer) -> Article | None:
        """What readers see of an answer's article: status and approval, without the stored answer.

        The answer page runs this on every view, so it reads only the article row, and the basis and the
        approving event only for an approved article (to show who approved it, or that it needs re-review).
        """
        if not answer.in_scope:
            return None
        key = query_key(answer.understood)
        with self.engine.connect() as conn:
            a = conn.execute(
                select(articles).where(articles.c.query_key == key, articles.c.audience == answer.audience)
            ).first()
            if a is None:
                return None
            art = Article(a.id, a.question, a.audience, Status(a.status), a.version, a.revision, a.updated, {}, {}, [])
            if a.status == Status.APPROVED:
                art.basis = conn.execute(
                    select(article_versions.c.basis).where(
                        article_versions.c.article_id == a.id, article_versions.c.version == a.version
                    )
                ).scalar_one()
                art.events = [
                    dict(r._mapping)
                    for r in conn.execute(
                        select(
                            review_events,
                            users.c.display_name,
                            users.c.username,
                            users.c.credentials,
                            users.c.affiliation,
                        )
                        .join(users, users.c.id == review_events.c.user_id)
                        .where(review_events.c.article_id == a.id, review_events.c.to_status == Status.APPROVED)
                        .order_by(review_events.c.id.desc())
                        .limit(1)
                    )
                ]
        if art.status == Status.APPROVED and self.changes(art):
            art.status = Status.NEEDS_RE_REVIEW
        return art

    def changes(self, art: Article) -> list[Change]:
        out = []
        for kind, items in art.basis.items():
            if kind == "steps":
                continue
            for item_id, old in items.items():
                cur = current_item(kind, item_id, self.kb, art.audience)
                if cur is None or cur["digest"] != old["digest"]:
                    out.append(Change(kind, item_id, old["text"], cur["text"] if cur is not None else None))
        return out

    def queue(self) -> dict[str, list[dict]]:
        with self.engine.connect() as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    select(
                        articles.c.id,
                        articles.c.question,
                        articles.c.audience,
                        articles.c.status,
                        articles.c.version,
                        articles.c.revision,
                        articles.c.updated,
                    ).order_by(articles.c.updated.desc())
                )
            ]
        out: dict[str, list[dict]] = {s: [] for s in LABELS}
        for r in rows:
            out[r["status"]].append(r)
        return out

    # --- acting -----------------------------------------------------------------------------------

    def allowed(self, status: str, user: User | None) -> list[str]:
        if user is None or user.disabled:
            return []
        return [to for (frm, to), roles in TRANSITIONS.items() if frm == status and user.role in roles]

    def transition(self, art_id: int, to: str, user: User | None, comment: str, revision: int) -> Article:
        art = self.get(art_id)
        if art is None:
            raise NoArticle(f"no article {art_id}")
        if art.revision != revision:  # checked first: the loser of a race must not be told the move is invalid
            raise ReviewConflict()
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT:
            raise ReviewError(f"the comment is longer than {MAX_COMMENT} characters")
        try:
            target = Status(to)
        except ValueError:
            raise ReviewError(f"unknown status '{to}'") from None
        if user is None or user.disabled:
            raise PermissionError("sign in with a reviewer's account to review articles")
        roles = TRANSITIONS.get((art.status, target))
        if roles is None:
            raise ReviewError(f"an article that is {LABELS[art.status]} cannot become {LABELS[target]}")
        if user.role not in roles:
            raise PermissionError(f"a {user.role} cannot move an article to {LABELS[target]}")
        if target in (Status.CHANGES_REQUESTED, Status.RETRACTED) and not comment:
            raise ReviewError("say why in the comment")
        version = art.version
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(articles)
                .where(articles.c.id == art_id, articles.c.revision == revision)
                .values(
                    status=target,
                    revision=articles.c.revision + 1,
                    updated=now(),
                    version=articles.c.version + (1 if target == Status.SUBMITTED else 0),
                )
            ).rowcount
            if changed != 1:
                raise ReviewConflict()
            if target == Status.SUBMITTED:  # a revision: a new version composed from the current pack
                version += 1
                from oncoguide.kb import Thread

                answer = Thread.replay(self.kb, art.thread, art.audience).ask(art.question)
                self._add_version(conn, art_id, version, answer, art.thread)
            conn.execute(
                insert(review_events).values(
                    article_id=art_id,
                    version=version,
                    from_status=art.status,
                    to_status=target,
                    user_id=user.id,
                    role=user.role,
                    comment=comment,
                    at=now(),
                )
            )
        return self._stored(art_id)

    def refresh(self) -> int:
        """Record "Needs re-review" for approved articles whose basis changed; return how many."""
        with self.engine.connect() as conn:
            ids = [r.id for r in conn.execute(select(articles.c.id).where(articles.c.status == Status.APPROVED))]
        flagged = 0
        for art_id in ids:
            art = self.get(art_id)
            if art is None or art.status != Status.NEEDS_RE_REVIEW:
                continue
            with self.engine.begin() as conn:
                if conn.execute(
                    update(articles)
                    .where(articles.c.id == art_id, articles.c.revision == art.revision)
                    .values(status=Status.NEEDS_RE_REVIEW, revision=articles.c.revision + 1, updated=now())
                ).rowcount:
                    names = ", ".join(f"{c.kind[:-1]} {c.id}" for c in art.changes)
                    conn.execute(
                        insert(review_events).values(
                            article_id=art_id,
                            version=art.version,
                            from_status=Status.APPROVED,
                            to_status=Status.NEEDS_RE_REVIEW,
                            user_id=None,
                            role=None,
                            comment=f"the pack changed: {names}",
                            at=now(),
                        )
                    )
                    flagged += 1
        return flagged
