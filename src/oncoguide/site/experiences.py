"""Members' first-person experiences: contact details masked before anyone sees them, held for a
moderator when they urge stopping treatment or an unproven cure, published only once approved."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from oncoguide.errors import Refused
from oncoguide.site.accounts import Role, User, now
from oncoguide.site.db import asked_questions, experience_flags, experiences, users

MAX_CHARS = 5000
MIN_CHARS = 20
MAX_LINKS = 2
POSTS_PER_DAY = 5
FLAGS_PER_DAY = 10  # per account
FLAGS_TO_HIDE = 3  # this many readers' flags send an approved post back to the moderators
MODERATORS = {Role.MODERATOR, Role.EDITOR, Role.ADMIN}


class PostStatus(StrEnum):
    """Where a post stands with the moderators (the stored value)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w/])(?:\+?\(?\d[\d\s().-]{7,}\d)(?![\w/])")
PHONE_DIGITS = 9  # fewer digits are dates, year ranges or doses, not phone numbers
STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|"
    r"Ct|Place|Pl|Terrace|Close|Crescent)\b"
)
LINK = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.I)
# advice to stop proven treatment, or to rely on an unproven cure: a moderator must read it first
STOP_TREATMENT = re.compile(
    r"\b(stop(?:ped|ping)?|quit|refuse[ds]?|skip(?:ped)?|don'?t (?:take|have|do)|avoid)\b[^.!?\n]{0,40}"
    r"\b(imatinib|gleevec|glivec|chemo\w*|radiation|radiotherapy|surgery|treatment|medication|medicine|drugs?)",
    re.I,
)
CURE = re.compile(
    r"\b(cure[ds]?|heal(?:ed|s)?|miracle)\b[^.!?\n]{0,60}\b(naturally|herbs?|herbal|diet|juice|"
    r"cannabis|cbd|apricot|laetrile|vitamin|supplements?|essential oils?|baking soda|homeopath\w*)"
    r"|\b(natural|herbal|alternative) cure\b",
    re.I,
)


class PostError(Refused):
    """A refused post or moderation action."""


@dataclass(frozen=True)
class Experience:
    id: int
    author: str
    condition: str
    body: str
    masked: list[str]
    held: str | None
    status: str
    reason: str | None
    created: object
    flags: int = 0
    question: str | None = None  # the top question the story answers, if the author chose one

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.body) if p.strip()]


def mask_contacts(text: str) -> tuple[str, list[str]]:
    """Replace e-mail addresses, phone numbers and street addresses; say which kinds were found."""
    found = []
    for kind, pattern, label in (
        ("e-mail address", EMAIL, "[e-mail removed]"),
        ("street address", STREET, "[address removed]"),
        ("phone number", PHONE, "[phone number removed]"),
    ):

        def replace(m: re.Match, label=label, kind=kind) -> str:
            if kind == "phone number" and sum(ch.isdigit() for ch in m.group()) < PHONE_DIGITS:
                return m.group()
            if kind not in found:
                found.append(kind)
            return label

        text = pattern.sub(replace, text)
    return text, found


# --- questions kept for editors (community.Questions): contact details, names and numbers masked too ---
# A question that matches no canonical one is kept only for the editors' list; stories are signed by a
# pseudonym and moderated, questions are anonymous, so they lose more: names and any number that could
# identify someone (dates, long digit runs, postcodes). Short clinical numbers (stage 4, 5 cm, exon 11)
# are kept because editors need them to word the question and they identify no one.
NAME_WORD = r"[A-Z][a-z'’-]+"
TITLED = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame)\.?\s+{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}}")
# after these words the next word is a name whatever its case ("my name is jane smith")
NAME_INTRO = re.compile(
    r"\b(?:my name is|my name's|name is|i am called|i'm called|call me|this is|signed|"
    r"regards|thanks|thank you|cheers)[,:]?\s+([A-Za-z][\w'’-]*(?:\s+[A-Za-z][\w'’-]*){0,2})",
    re.I,
)
# after these, only capitalised words are names ("I'm Jane", but not "I'm worried")
NAME_AFTER = re.compile(
    rf"\b(?:I'm|I’m|I am|Im|(?i:my) (?i:son|daughter|husband|wife|partner|mum|mom|mother|dad|"
    rf"father|brother|sister|friend|child|boy|girl|baby|doctor|surgeon|oncologist|consultant|gp))"
    rf"[,:]?\s+({NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})"
)
NOT_NAMES = {
    "and",
    "but",
    "or",
    "i",
    "im",
    "my",
    "from",
    "with",
    "in",
    "at",
    "on",
    "the",
    "a",
    "an",
    "is",
    "was",
    "have",
    "has",
    "had",
    "so",
    "what",
    "how",
    "can",
    "will",
    "do",
    "does",
    "dfsp",
    "gist",
    "sarcoma",
}
PLACE = re.compile(
    rf"\b(?:live|living|lives|based|staying|from)\s+(?:in|at|on|near|by)?\s*"
    rf"({NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})"
)
STREET_ANY = re.compile(
    r"\b(?:\d{1,5}[a-z]?\s+)?(?:[A-Za-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|"
    r"Drive|Boulevard|Blvd|Court|Place|Terrace|Close|Crescent|Gardens|Grove|Square)\b"
    r"|\b\d{1,5}[a-z]?\s+(?:[A-Za-z]+\s+){1,3}(?:Way|Dr|Ct|Pl)\b",
    re.I,
)
AFTER_ADDRESS = re.compile(rf"\[address removed\],?\s+({NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})")  # the town
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)  # UK; US ZIP codes are digit runs
DATE = re.compile(
    r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?(?:\s+\d{2,4})?\b|"
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:,?\s+\d{2,4})?\b",
    re.I,
)
# a short number is kept only where it is clinical: a stage, grade, exon or TNM digit, or a size or dose
CLINICAL_NUMBER = re.compile(
    r"\b(?:stage|grade|exon|type|T|N|M)\s?\d{1,2}[a-c]?\b|"
    r"\b\d{1,3}(?:[.,]\d{1,2})?\s?(?:cm|mm|mg|%)(?!\w)",
    re.I,
)
NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")


def mask_question(text: str) -> tuple[str, list[str]]:
    """A question as editors may see it: contact details, names, places and identifying numbers replaced.

    Errs on the side of masking: the list is for editors, who reword what they promote.
    """
    text, found = mask_contacts(text)
    text = LINK.sub(lambda m: _note(found, "link", "[link removed]"), text)

    def names(m: re.Match, kind: str = "name") -> str:
        words = m.group(1).split()
        keep = next((i for i, w in enumerate(words) if w.lower() in NOT_NAMES), len(words))
        if keep == 0:
            return m.group()
        start = m.start(1) - m.start()
        name_end = start + len(" ".join(words[:keep]))
        return m.group()[:start] + _note(found, kind, f"[{kind} removed]") + m.group()[name_end:]

    for kind, pattern, label in (
        ("postcode", POSTCODE, "[postcode removed]"),
        ("street address", STREET_ANY, "[address removed]"),
        ("date", DATE, "[date removed]"),
        ("name", TITLED, "[name removed]"),
    ):
        text = pattern.sub(_noting(found, kind, label), text)
    for pattern in (NAME_INTRO, NAME_AFTER):
        text = pattern.sub(names, text)
    for pattern in (PLACE, AFTER_ADDRESS):
        text = pattern.sub(lambda m: names(m, "place"), text)
    clinical = [(m.start(), m.end()) for m in CLINICAL_NUMBER.finditer(text)]
    text = NUMBER.sub(
        lambda m: (
            m.group() if any(a <= m.start() < b for a, b in clinical) else _note(found, "number", "[number removed]")
        ),
        text,
    )
    return text, found


def _noting(found: list[str], kind: str, label: str) -> Callable[[re.Match[str]], str]:
    """A replacement for re.sub: each match is replaced by the label and noted once in found."""
    return lambda _match: _note(found, kind, label)


def _note(found: list[str], kind: str, label: str) -> str:
    if kind not in found:
        found.append(kind)
    return label


def held_reason(text: str) -> str | None:
    if STOP_TREATMENT.search(text):
        return "it talks about stopping or refusing treatment"
    if CURE.search(text):
        return "it mentions an unproven cure"
    return None


class Experiences:
    def __init__(self, engine):
        self.engine = engine

    def post(self, user: User, condition: str, text: str, question_key: str | None = None) -> Experience:
        text = text.replace("\r\n", "\n").strip()
        if len(text) < MIN_CHARS:
            raise PostError(f"please write at least {MIN_CHARS} characters" if text else "the post is empty")
        if len(text) > MAX_CHARS:
            raise PostError(f"the post has {len(text):,} characters; the limit is {MAX_CHARS:,}")
        if len(LINK.findall(text)) > MAX_LINKS:
            raise PostError(f"a post may contain at most {MAX_LINKS} links")
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise PostError("the post contains control characters")
        body, masked = mask_contacts(text)
        with self.engine.begin() as conn:
            if (
                question_key
                and conn.execute(
                    select(asked_questions.c.query_key).where(
                        asked_questions.c.query_key == question_key, asked_questions.c.condition == condition
                    )
                ).first()
                is None
            ):
                raise PostError("choose one of the listed questions, or the condition in general")
            recent = conn.execute(
                select(func.count())
                .select_from(experiences)
                .where(experiences.c.user_id == user.id, experiences.c.created > now() - timedelta(days=1))
            ).scalar_one()
            if recent >= POSTS_PER_DAY:
                raise PostError(f"you can post {POSTS_PER_DAY} experiences a day; please try again tomorrow", 429)
            new_id = conn.execute(
                insert(experiences).values(
                    user_id=user.id,
                    condition=condition,
                    question_key=question_key or None,
                    body=body,
                    masked=masked,
                    held=held_reason(text),
                    status=PostStatus.PENDING,
                    created=now(),
                )
            ).inserted_primary_key[0]
        return self._stored(new_id)

    def _select(self):
        flags = (
            select(func.count())
            .select_from(experience_flags)
            .where(experience_flags.c.experience_id == experiences.c.id)
            .scalar_subquery()
        )
        return (
            select(
                experiences.c.id,
                users.c.display_name,
                experiences.c.condition,
                experiences.c.body,
                experiences.c.masked,
                experiences.c.held,
                experiences.c.status,
                experiences.c.reason,
                experiences.c.created,
                flags,
                asked_questions.c.text,
            )
            .join(users, users.c.id == experiences.c.user_id)
            .outerjoin(asked_questions, asked_questions.c.query_key == experiences.c.question_key)
        )

    def get(self, exp_id: int) -> Experience | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._select().where(experiences.c.id == exp_id)).first()
        return Experience(*row) if row else None

    def _stored(self, exp_id: int) -> Experience:
        """A post just written; gone only if its author's account was deleted in between."""
        found = self.get(exp_id)
        if found is None:
            raise PostError(f"there is no post {exp_id}; it may have been deleted with its author's account", 404)
        return found

    def published(self, condition: str, limit: int = 20, offset: int = 0) -> list[Experience]:
        """Approved posts, newest first."""
        newest = (experiences.c.created.desc(), experiences.c.id.desc())
        # the page's ids first, from the index alone; only those rows are joined and counted
        page = (
            select(experiences.c.id)
            .where(experiences.c.condition == condition, experiences.c.status == PostStatus.APPROVED)
            .order_by(*newest)
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        with self.engine.connect() as conn:
            return [
                Experience(*r)
                for r in conn.execute(self._select().join(page, page.c.id == experiences.c.id).order_by(*newest))
            ]

    def tally(self, condition: str) -> tuple[int, int]:
        """(published posts on this condition, people who wrote them)."""
        with self.engine.connect() as conn:
            posts, people = conn.execute(
                select(func.count(), func.count(experiences.c.user_id.distinct())).where(
                    experiences.c.condition == condition, experiences.c.status == PostStatus.APPROVED
                )
            ).one()
        return posts, people

    def mine(self, user: User) -> list[Experience]:
        with self.engine.connect() as conn:
            return [
                Experience(*r)
                for r in conn.execute(
                    self._select().where(experiences.c.user_id == user.id).order_by(experiences.c.created.desc())
                )
            ]

    def queue(self) -> list[Experience]:
        with self.engine.connect() as conn:
            return [
                Experience(*r)
                for r in conn.execute(
                    self._select().where(experiences.c.status == PostStatus.PENDING).order_by(experiences.c.created)
                )
            ]

    def decide(self, exp_id: int, moderator: User, approve: bool, reason: str = "") -> Experience:
        if moderator.role not in MODERATORS:
            raise PermissionError(f"a {moderator.role} cannot moderate posts")
        reason = reason.strip()
        if not approve and not reason:
            raise PostError("give the author a reason for the rejection")
        with self.engine.begin() as conn:
            done = conn.execute(
                update(experiences)
                .where(experiences.c.id == exp_id, experiences.c.status == PostStatus.PENDING)
                .values(
                    status=PostStatus.APPROVED if approve else PostStatus.REJECTED,
                    reason=reason[:1000] or None,
                    moderator_id=moderator.id,
                    decided=now(),
                )
            ).rowcount
        if not done:
            if self.get(exp_id) is None:
                raise PostError(f"there is no post {exp_id}; it may have been deleted with its author's account", 404)
            raise PostError("this post is no longer waiting for moderation", 409)
        return self._stored(exp_id)

    def flag(self, exp_id: int, user: User) -> Experience:
        try:
            with self.engine.begin() as conn:
                if (
                    conn.execute(select(experiences.c.status).where(experiences.c.id == exp_id)).scalar()
                    != PostStatus.APPROVED
                ):
                    raise PostError("no such published post", 404)
                recent = conn.execute(
                    select(func.count())
                    .select_from(experience_flags)
                    .where(experience_flags.c.user_id == user.id, experience_flags.c.at > now() - timedelta(days=1))
                ).scalar_one()
                if recent >= FLAGS_PER_DAY:
                    raise PostError(f"you can report {FLAGS_PER_DAY} posts a day; please try again tomorrow", 429)
                conn.execute(insert(experience_flags).values(experience_id=exp_id, user_id=user.id, at=now()))
                flags = conn.execute(
                    select(func.count()).select_from(experience_flags).where(experience_flags.c.experience_id == exp_id)
                ).scalar_one()
                if flags >= FLAGS_TO_HIDE:
                    conn.execute(
                        update(experiences)
                        .where(experiences.c.id == exp_id)
                        .values(status=PostStatus.PENDING, held=f"flagged by {flags} readers")
                    )
        except IntegrityError:
            raise PostError("you have already flagged this post", 409) from None
        return self._stored(exp_id)
