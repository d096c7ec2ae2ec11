"""Top questions: every in-scope question asked is counted under the canonical question it matches
(a pack FAQ, or a question an editor promoted), by normalised form, so paraphrases count together, with
no asker recorded; signed-in members mark questions helpful, once each. Only canonical wording is ever
published. A question matching none is kept masked, for a limited time, in the editors' list, where an
editor promotes it in their own wording or deletes it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from oncoguide.engine.compose import focus_label
from oncoguide.errors import Refused
from oncoguide.site.accounts import Role, User, now
from oncoguide.site.db import asked_questions, pack_gaps, question_votes, unmatched_questions
from oncoguide.site.experiences import mask_question
from oncoguide.site.review import query_key

HELPFUL_WEIGHT = 3  # one "helpful" vote counts as three asks in the ranking
VOTES_PER_DAY = 30  # per account: enough for honest use, too few to push a question up the list
FLUSH_SECONDS = 1.0  # each worker writes its counts at most once a second, in one transaction
MAX_WORDING = 300  # characters of a canonical question
QUESTION_EDITORS = {Role.EDITOR, Role.ADMIN}  # choosing published wording is editorial work, as revising an article is
OVERVIEW = {
    "dfsp": "What is dermatofibrosarcoma protuberans?",
    "sts": "What is soft-tissue sarcoma?",
    "gist": "What is a GIST?",
}


@dataclass(frozen=True)
class TopQuestion:
    key: str
    text: str
    asks: int
    helpful: int


@dataclass(frozen=True)
class Canonical:
    """A question whose wording may be published: a pack FAQ's."""

    condition: str
    text: str


@dataclass(frozen=True)
class Unmatched:
    """A question that matched no canonical one, as editors see it (masked)."""

    key: str
    condition: str
    text: str
    asks: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Gap:
    """Something readers asked about a covered condition that the pack has no statement on, in canonical form."""

    condition: str
    aspect: str  # the question type's label ("causes and risk factors"), or "" when only the focus is missing
    focus: str  # labels of what no statement is about ("NTRK fusion-positive"), or ""
    asks: int
    last_seen: datetime


def gap_of(answer) -> tuple[str, str, str] | None:
    """(condition, aspect, focus) of an answer that lacks something asked, from what was understood only."""
    condition = answer.understood.get("condition") if answer.in_scope else None
    if not condition or not (answer.missing_aspect or answer.uncovered):
        return None
    return condition, answer.missing_aspect, ",".join(answer.uncovered)


@dataclass
class _Pending:
    condition: str
    masked: str | None  # None when the key is a pack FAQ's: no wording of the asker is needed
    asks: int = 0


class VoteError(Refused):
    """A refused vote."""

    default_status = 409


class QuestionError(Refused):
    """A refused promotion or deletion in the editors' list."""

    default_status = 422


class Questions:
    def __init__(self, engine, kb, retention_days: int = 30):
        self.engine = engine
        self.kb = kb
        self.retention = timedelta(days=retention_days)
        self._seeded = False
        # asks not yet written: a write per question made SQLite writers queue behind each other and
        # doubled the 95th-percentile latency of /api/ask, so counts are batched (a crash loses < 1 s of them)
        self._pending: dict[str, _Pending] = {}
        self._gaps: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    @cached_property
    def faqs(self) -> dict[str, Canonical]:
        """The pack's common questions by normalised key (the first wording wins when two share a key)."""
        found: dict[str, Canonical] = {}
        for faq in self.kb.contents.faqs:
            answer = self.kb.ask(faq.question, audience="patient")
            if answer.in_scope and answer.understood.get("condition"):
                found.setdefault(query_key(answer.understood), Canonical(answer.understood["condition"], faq.question))
        return found

    def flush_due(self) -> bool:
        """Whether the next record() writes the gathered counts (a caller on an event loop runs it elsewhere)."""
        return time.monotonic() - self._last_flush >= FLUSH_SECONDS

    def record(self, answer) -> str | None:
        """Count one asking of this answer's question; returns its key (None when out of scope)."""
        if not answer.in_scope or not answer.understood.get("condition"):
            return None
        key, faqs = query_key(answer.understood), self.faqs
        gap = gap_of(answer)
        with self._lock:
            if gap is not None:
                self._gaps[gap] = self._gaps.get(gap, 0) + 1
            entry = self._pending.get(key)
            if entry is None:
                # a follow-up ("and radiotherapy?") says more to an editor as the answer's title than as typed
                wording = answer.title if answer.understood.get("inherited_context") else answer.question
                entry = self._pending[key] = _Pending(
                    answer.understood["condition"], None if key in faqs else mask_question(wording)[0][:MAX_WORDING]
                )
            entry.asks += 1
            due = time.monotonic() - self._last_flush >= FLUSH_SECONDS
        if due:
            self.flush()
        return key

    def has_pending(self) -> bool:
        """Whether counts gathered in memory wait to be written (top() writes them before it reads)."""
        return bool(self._pending)

    def flush(self) -> int:
        """Write the counts gathered since the last flush; returns how many questions were updated."""
        with self._lock:
            pending, self._pending = self._pending, {}
            gaps, self._gaps = self._gaps, {}
            self._last_flush = time.monotonic()
        for key, entry in pending.items():
            self._write(key, entry)
        for gap, asks in gaps.items():
            self._write_gap(gap, asks)
        if pending:
            self.purge()
        return len(pending)

    def _write(self, key: str, entry: _Pending) -> None:
        faq = self.faqs.get(key)
        for _ in range(3):  # another worker may insert the same new question at the same moment
            with self.engine.begin() as conn:
                if conn.execute(
                    update(asked_questions)
                    .where(asked_questions.c.query_key == key)
                    .values(
                        asks=asked_questions.c.asks + entry.asks,
                        score=asked_questions.c.score + entry.asks,
                        last_asked=now(),
                    )
                ).rowcount:
                    return
                try:
                    if faq is not None:
                        conn.execute(
                            insert(asked_questions).values(
                                query_key=key,
                                condition=faq.condition,
                                text=faq.text,
                                asks=entry.asks,
                                helpful=0,
                                score=entry.asks,
                                seeded=True,
                                last_asked=now(),
                            )
                        )
                        return
                    if conn.execute(
                        update(unmatched_questions)
                        .where(unmatched_questions.c.query_key == key)
                        .values(asks=unmatched_questions.c.asks + entry.asks, last_seen=now())
                    ).rowcount:
                        return
                    conn.execute(
                        insert(unmatched_questions).values(
                            query_key=key,
                            condition=entry.condition,
                            text=entry.masked,
                            asks=entry.asks,
                            first_seen=now(),
                            last_seen=now(),
                        )
                    )
                    return
                except IntegrityError:
                    continue

    def _write_gap(self, gap: tuple[str, str, str], asks: int) -> None:
        condition, aspect, focus = gap
        key = "|".join(gap)[:200]
        for _ in range(3):  # another worker may insert the same gap at the same moment
            with self.engine.begin() as conn:
                if conn.execute(
                    update(pack_gaps)
                    .where(pack_gaps.c.gap_key == key)
                    .values(asks=pack_gaps.c.asks + asks, last_seen=now())
                ).rowcount:
                    return
                try:
                    conn.execute(
                        insert(pack_gaps).values(
                            gap_key=key,
                            condition=condition,
                            aspect=aspect[:40],
                            focus=focus[:160],
                            asks=asks,
                            first_seen=now(),
                            last_seen=now(),
                        )
                    )
                    return
                except IntegrityError:
                    continue

    def gaps(self, limit: int = 100) -> list[Gap]:
        """What readers asked that the pack lacks, most asked first, named from the lexicon."""
        if self._pending or self._gaps:
            self.flush()
        lex = self.kb.contents.lexicon
        c = pack_gaps.c

        out = []
        with self.engine.connect() as conn:
            for cond, aspect, focus, asks, last in conn.execute(
                select(c.condition, c.aspect, c.focus, c.asks, c.last_seen)
                .order_by(c.asks.desc(), c.last_seen.desc())
                .limit(limit)
            ):
                aspects = ", ".join(lex.question_types[a].label for a in aspect.split(",") if a in lex.question_types)
                out.append(
                    Gap(cond, aspects, ", ".join(focus_label(f, lex, cond) for f in focus.split(",") if f), asks, last)
                )
        return out

    def purge(self) -> int:
        """Delete unmatched questions first seen longer ago than the retention period; returns how many."""
        with self.engine.begin() as conn:
            return conn.execute(
                delete(unmatched_questions).where(unmatched_questions.c.first_seen < now() - self.retention)
            ).rowcount

    def seed(self) -> int:
        """Add the pack's common questions (with no asks) to the list; returns how many were new."""
        new = 0
        for key, faq in self.faqs.items():
            try:
                with self.engine.begin() as conn:
                    if (
                        conn.execute(
                            select(asked_questions.c.query_key).where(asked_questions.c.query_key == key)
                        ).first()
                        is None
                    ):
                        conn.execute(
                            insert(asked_questions).values(
                                query_key=key,
                                condition=faq.condition,
                                text=faq.text,
                                asks=0,
                                helpful=0,
                                score=0,
                                seeded=True,
                                last_asked=None,
                            )
                        )
                        new += 1
            except IntegrityError:  # another worker seeded it at the same moment
                continue
        self._seeded = True
        return new

    def top(self, condition: str, limit: int = 10) -> list[TopQuestion]:
        if not self._seeded:
            self.seed()
        if self._pending:
            self.flush()
        score = asked_questions.c.score  # asks + HELPFUL_WEIGHT * helpful, indexed with the condition
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    asked_questions.c.query_key,
                    asked_questions.c.text,
                    asked_questions.c.asks,
                    asked_questions.c.helpful,
                )
                .where(asked_questions.c.condition == condition)
                .order_by(score.desc(), asked_questions.c.seeded.desc(), asked_questions.c.text)
                .limit(limit)
            )
            return [TopQuestion(*r) for r in rows]

    # --- the editors' list ------------------------------------------------------------------------

    def unmatched(self, limit: int = 200) -> list[Unmatched]:
        """The masked questions waiting for an editor, most asked first (expired ones are purged first)."""
        if self._pending:
            self.flush()
        self.purge()
        c = unmatched_questions.c
        with self.engine.connect() as conn:
            return [
                Unmatched(*r)
                for r in conn.execute(
                    select(c.query_key, c.condition, c.text, c.asks, c.first_seen, c.last_seen)
                    .order_by(c.asks.desc(), c.last_seen.desc())
                    .limit(limit)
                )
            ]

    def promote(self, key: str, wording: str, editor: User) -> TopQuestion:
        """Make an unmatched question canonical in the editor's wording, which is understood again for its
        condition and key; its asks move with it. A wording that matches an existing canonical question
        adds the asks to that one (whose wording stays)."""
        from oncoguide.engine.understand import InputError, clean_question

        _editor_only(editor)
        try:
            wording = clean_question(wording, MAX_WORDING)
        except InputError as exc:
            raise QuestionError(f"the wording: {exc}") from None
        answer = self.kb.ask(wording, audience="patient")
        if not answer.in_scope or not answer.understood.get("condition"):
            raise QuestionError(
                "this wording is not understood as a question the pack answers about DFSP, "
                "soft-tissue sarcoma or GIST; reword it"
            )
        new_key, condition = query_key(answer.understood), answer.understood["condition"]
        faq = self.faqs.get(new_key)
        with self.engine.begin() as conn:
            row = conn.execute(
                select(unmatched_questions.c.asks, unmatched_questions.c.last_seen).where(
                    unmatched_questions.c.query_key == key
                )
            ).first()
            if row is None:
                raise QuestionError("this question is no longer in the list (promoted, deleted or expired)", 404)
            conn.execute(delete(unmatched_questions).where(unmatched_questions.c.query_key.in_({key, new_key})))
            if not conn.execute(
                update(asked_questions)
                .where(asked_questions.c.query_key == new_key)
                .values(asks=asked_questions.c.asks + row.asks, score=asked_questions.c.score + row.asks)
            ).rowcount:
                conn.execute(
                    insert(asked_questions).values(
                        query_key=new_key,
                        condition=faq.condition if faq else condition,
                        text=faq.text if faq else wording,
                        asks=row.asks,
                        helpful=0,
                        score=row.asks,
                        seeded=faq is not None,
                        last_asked=row.last_seen,
                    )
                )
            done = conn.execute(
                select(
                    asked_questions.c.query_key,
                    asked_questions.c.text,
                    asked_questions.c.asks,
                    asked_questions.c.helpful,
                ).where(asked_questions.c.query_key == new_key)
            ).one()
        return TopQuestion(*done)

    def remove(self, key: str, editor: User) -> None:
        _editor_only(editor)
        with self.engine.begin() as conn:
            if not conn.execute(delete(unmatched_questions).where(unmatched_questions.c.query_key == key)).rowcount:
                raise QuestionError("this question is no longer in the list (promoted, deleted or expired)", 404)

    def vote(self, key: str, user: User) -> int:
        """Mark a question helpful (once per account); returns its helpful count."""
        try:
            with self.engine.begin() as conn:
                if (
                    conn.execute(select(asked_questions.c.query_key).where(asked_questions.c.query_key == key)).first()
                    is None
                ):
                    raise VoteError("no such question", 404)
                if conn.execute(
                    select(question_votes.c.user_id).where(
                        question_votes.c.query_key == key, question_votes.c.user_id == user.id
                    )
                ).first():
                    raise VoteError("you have already marked this question helpful")
                recent = conn.execute(
                    select(func.count())
                    .select_from(question_votes)
                    .where(question_votes.c.user_id == user.id, question_votes.c.at > now() - timedelta(days=1))
                ).scalar_one()
                if recent >= VOTES_PER_DAY:
                    raise VoteError(
                        f"you can mark {VOTES_PER_DAY} questions helpful a day; please try again tomorrow", 429
                    )
                conn.execute(insert(question_votes).values(query_key=key, user_id=user.id, at=now()))
                conn.execute(
                    update(asked_questions)
                    .where(asked_questions.c.query_key == key)
                    .values(helpful=asked_questions.c.helpful + 1, score=asked_questions.c.score + HELPFUL_WEIGHT)
                )
                return conn.execute(
                    select(asked_questions.c.helpful).where(asked_questions.c.query_key == key)
                ).scalar_one()
        except IntegrityError:  # the same member voting twice at the same moment
            raise VoteError("you have already marked this question helpful") from None


def _editor_only(user: User) -> None:
    if user.disabled or user.role not in QUESTION_EDITORS:
        raise PermissionError(f"the questions list is for editors; you are signed in as a {user.role}")
