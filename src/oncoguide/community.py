"""Top questions: every in-scope question asked is counted under its normalised form (so paraphrases
count together), with no asker recorded; signed-in members mark questions helpful, once each.
The common questions of the knowledge pack seed the list."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from oncoguide.accounts import User, now
from oncoguide.refused import Refused
from oncoguide.review import query_key
from oncoguide.sitedb import asked_questions, question_votes

HELPFUL_WEIGHT = 3  # one "helpful" vote counts as three asks in the ranking
VOTES_PER_DAY = 30  # per account: enough for honest use, too few to push a question up the list
FLUSH_SECONDS = 1.0  # each worker writes its counts at most once a second, in one transaction
OVERVIEW = {"dfsp": "What is dermatofibrosarcoma protuberans?", "sts": "What is soft-tissue sarcoma?",
            "gist": "What is a GIST?"}


@dataclass(frozen=True)
class TopQuestion:
    key: str
    text: str
    asks: int
    helpful: int


class VoteError(Refused):
    """A refused vote."""

    default_status = 409


class Questions:
    def __init__(self, engine, kb):
        self.engine = engine
        self.kb = kb
        self._seeded = False
        # asks not yet written: a write per question made SQLite writers queue behind each other and
        # doubled the 95th-percentile latency of /api/ask, so counts are batched (a crash loses < 1 s of them)
        self._pending: dict[str, list] = {}
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def record(self, answer, asked: bool = True) -> str | None:
        """Count one asking of this answer's question; returns its key (None when out of scope)."""
        if not answer.in_scope or not answer.understood.get("condition"):
            return None
        key = query_key(answer.understood)
        # a follow-up ("and radiotherapy?") reads better as the answer's title than as typed
        text = answer.title if answer.understood.get("inherited_context") else answer.question
        if not asked:
            return self._write(key, answer.understood["condition"], text, 0)
        with self._lock:
            entry = self._pending.setdefault(key, [answer.understood["condition"], text, 0])
            entry[2] += 1
            due = time.monotonic() - self._last_flush >= FLUSH_SECONDS
        if due:
            self.flush()
        return key

    def flush(self) -> int:
        """Write the counts gathered since the last flush; returns how many questions were updated."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._last_flush = time.monotonic()
        for key, (condition, text, n) in pending.items():
            self._write(key, condition, text, n)
        return len(pending)

    def _write(self, key: str, condition: str, text: str, asks: int) -> str:
        for _ in range(3):  # another worker may insert the same new question at the same moment
            with self.engine.begin() as conn:
                values = {"asks": asked_questions.c.asks + asks, "score": asked_questions.c.score + asks,
                          **({"last_asked": now()} if asks else {})}
                if conn.execute(update(asked_questions).where(asked_questions.c.query_key == key)
                                .values(**values)).rowcount:
                    return key
                try:
                    conn.execute(insert(asked_questions).values(
                        query_key=key, condition=condition, text=text[:300], asks=asks,
                        helpful=0, score=asks, seeded=not asks, last_asked=now() if asks else None))
                    return key
                except IntegrityError:
                    continue
        return key

    def seed(self) -> int:
        """Add the pack's common questions (with no asks) to the list; returns how many were new."""
        with self.engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(asked_questions)).scalar_one()
        for faq in self.kb.contents.faqs:
            self.record(self.kb.ask(faq["question"], audience="patient"), asked=False)
        with self.engine.connect() as conn:
            after = conn.execute(select(func.count()).select_from(asked_questions)).scalar_one()
        self._seeded = True
        return after - before

    def top(self, condition: str, limit: int = 10) -> list[TopQuestion]:
        if not self._seeded:
            self.seed()
        if self._pending:
            self.flush()
        score = asked_questions.c.score  # asks + HELPFUL_WEIGHT * helpful, indexed with the condition
        with self.engine.connect() as conn:
            rows = conn.execute(select(asked_questions.c.query_key, asked_questions.c.text, asked_questions.c.asks,
                                       asked_questions.c.helpful)
                                .where(asked_questions.c.condition == condition)
                                .order_by(score.desc(), asked_questions.c.seeded.desc(), asked_questions.c.text)
                                .limit(limit))
            return [TopQuestion(*r) for r in rows]

    def vote(self, key: str, user: User) -> int:
        """Mark a question helpful (once per account); returns its helpful count."""
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(asked_questions.c.query_key)
                                .where(asked_questions.c.query_key == key)).first() is None:
                    raise VoteError("no such question", 404)
                if conn.execute(select(question_votes.c.user_id).where(
                        question_votes.c.query_key == key, question_votes.c.user_id == user.id)).first():
                    raise VoteError("you have already marked this question helpful")
                recent = conn.execute(select(func.count()).select_from(question_votes).where(
                    question_votes.c.user_id == user.id, question_votes.c.at > now() - timedelta(days=1))).scalar_one()
                if recent >= VOTES_PER_DAY:
                    raise VoteError(f"you can mark {VOTES_PER_DAY} questions helpful a day; please try again tomorrow",
                                    429)
                conn.execute(insert(question_votes).values(query_key=key, user_id=user.id, at=now()))
                conn.execute(update(asked_questions).where(asked_questions.c.query_key == key)
                             .values(helpful=asked_questions.c.helpful + 1,
                                     score=asked_questions.c.score + HELPFUL_WEIGHT))
                return conn.execute(select(asked_questions.c.helpful)
                                    .where(asked_questions.c.query_key == key)).scalar_one()
        except IntegrityError:  # the same member voting twice at the same moment
            raise VoteError("you have already marked this question helpful") from None
