"""The CDS Hooks cards this service issued and the feedback sent about them (accepted / overridden,
with the override reason and comment), in the site database. Nothing naming a patient or a
clinician is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from oncoguide.errors import Refused
from oncoguide.site.accounts import now
from oncoguide.site.db import cds_cards, cds_feedback

OUTCOMES = ("accepted", "overridden")
MAX_FEEDBACK = 100
MAX_COMMENT = 2000


class FeedbackError(Refused):
    """The feedback cannot be recorded."""

    default_status = 400


@dataclass
class Feedback:
    card: str
    outcome: str
    outcome_at: datetime
    reason: dict | None
    comment: str | None
    accepted: list[str] | None


def _text(value, where: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FeedbackError(f"{where}: must be a non-empty string")
    if len(value) > limit:
        raise FeedbackError(f"{where}: longer than {limit} characters")
    return value


def parse_feedback(body) -> list[Feedback]:
    """The items of a feedback request, checked as the CDS Hooks specification describes them."""
    if not isinstance(body, dict):
        raise FeedbackError("the body must be a JSON object with a 'feedback' array")
    items = body.get("feedback")
    if not isinstance(items, list) or not items:
        raise FeedbackError("feedback: must be a non-empty array")
    if len(items) > MAX_FEEDBACK:
        raise FeedbackError(f"feedback: {len(items)} items; send at most {MAX_FEEDBACK} at once")
    out = []
    for i, item in enumerate(items):
        where = f"feedback[{i}]"
        if not isinstance(item, dict):
            raise FeedbackError(f"{where}: must be a JSON object")
        card = _text(item.get("card"), f"{where}.card", 36)
        outcome = item.get("outcome")
        if outcome not in OUTCOMES:
            raise FeedbackError(f"{where}.outcome: must be 'accepted' or 'overridden'")
        stamp = _text(item.get("outcomeTimestamp"), f"{where}.outcomeTimestamp", 40)
        try:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise FeedbackError(f"{where}.outcomeTimestamp: '{stamp[:40]}' is not an ISO 8601 timestamp") from None
        reason, comment = None, None
        override = item.get("overrideReason")
        if override is not None:
            if outcome != "overridden":
                raise FeedbackError(f"{where}.overrideReason: only an overridden card has an override reason")
            if not isinstance(override, dict):
                raise FeedbackError(f"{where}.overrideReason: must be a JSON object")
            if override.get("reason") is not None:
                r = override["reason"]
                if not isinstance(r, dict):
                    raise FeedbackError(f"{where}.overrideReason.reason: must be a Coding object")
                reason = {
                    k: _text(r.get(k), f"{where}.overrideReason.reason.{k}", 500)
                    for k in ("system", "code", "display")
                    if r.get(k) is not None
                }
                if "code" not in reason:
                    raise FeedbackError(f"{where}.overrideReason.reason.code: is required")
            if override.get("userComment") is not None:
                comment = _text(override["userComment"], f"{where}.overrideReason.userComment", MAX_COMMENT)
        accepted = None
        if item.get("acceptedSuggestions") is not None:
            if outcome != "accepted" or not isinstance(item["acceptedSuggestions"], list):
                raise FeedbackError(f"{where}.acceptedSuggestions: an array, for an accepted card only")
            accepted = [
                _text(s.get("id") if isinstance(s, dict) else None, f"{where}.acceptedSuggestions[{j}].id", 100)
                for j, s in enumerate(item["acceptedSuggestions"])
            ]
        out.append(Feedback(card, outcome, at, reason, comment, accepted))
    return out


class CdsLog:
    def __init__(self, engine):
        self.engine = engine

    def issued(self, service: str, hook_instance: str, cards: list[tuple[dict, str, str | None]]) -> None:
        """Remember the cards of one response: (card, condition, patient group id or None)."""
        if not cards:
            return
        at = now()
        rows = [
            {
                "uuid": c["uuid"],
                "service": service,
                "hook_instance": hook_instance[:100],
                "condition": cond,
                "group_id": group,
                "indicator": c["indicator"],
                "issued": at,
            }
            for c, cond, group in cards
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(cds_cards), rows)

    def record(self, service: str, items: list[Feedback]) -> int:
        """Store the feedback, all items or none; a card this service did not issue is refused (404)."""
        wanted = {f.card for f in items}
        with self.engine.begin() as conn:
            known = set(
                conn.execute(
                    select(cds_cards.c.uuid).where(cds_cards.c.uuid.in_(wanted), cds_cards.c.service == service)
                ).scalars()
            )
            unknown = sorted(wanted - known)
            if unknown:
                raise FeedbackError(f"card {unknown[0]} was not issued by the service {service}", 404)
            received = now()
            conn.execute(
                insert(cds_feedback),
                [
                    {
                        "card": f.card,
                        "outcome": f.outcome,
                        "outcome_at": f.outcome_at,
                        "received": received,
                        "reason_system": (f.reason or {}).get("system"),
                        "reason_code": (f.reason or {}).get("code"),
                        "reason_display": (f.reason or {}).get("display"),
                        "comment": f.comment,
                        "accepted_suggestions": f.accepted,
                    }
                    for f in items
                ],
            )
        return len(items)

    def summary(self) -> list[dict]:
        """Per patient group: cards issued, accepted and overridden, and the override reasons given."""
        with self.engine.connect() as conn:
            issued = conn.execute(
                select(cds_cards.c.condition, cds_cards.c.group_id, func.count()).group_by(
                    cds_cards.c.condition, cds_cards.c.group_id
                )
            ).all()
            outcomes = conn.execute(
                select(
                    cds_cards.c.condition,
                    cds_cards.c.group_id,
                    cds_feedback.c.outcome,
                    cds_feedback.c.reason_code,
                    cds_feedback.c.reason_display,
                    func.count(),
                )
                .join(cds_feedback, cds_feedback.c.card == cds_cards.c.uuid)
                .group_by(
                    cds_cards.c.condition,
                    cds_cards.c.group_id,
                    cds_feedback.c.outcome,
                    cds_feedback.c.reason_code,
                    cds_feedback.c.reason_display,
                )
            ).all()
        rows = {
            (c, g): {"condition": c, "group": g, "issued": n, "accepted": 0, "overridden": 0, "reasons": {}}
            for c, g, n in issued
        }
        for c, g, outcome, code, display, n in outcomes:
            row = rows[(c, g)]
            row[outcome] += n
            if outcome == "overridden" and (code or display):
                key = display or code
                row["reasons"][key] = row["reasons"].get(key, 0) + n
        return sorted(rows.values(), key=lambda r: (r["condition"], r["group"] or ""))

    def feedback_rows(self, card: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(select(cds_feedback).where(cds_feedback.c.card == card).order_by(cds_feedback.c.id))
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]
