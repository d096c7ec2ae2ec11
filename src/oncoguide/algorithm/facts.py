"""The algorithm's facts as read from a free text, a value the question reader carries to selection."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VignetteFacts:
    """What a free text says about the patient, in the algorithm's terms; read once, with the question."""

    facts: tuple[tuple[str, frozenset[str]], ...] = ()
    notes: tuple[str, ...] = ()
    genotype: str | None = None

    def as_dict(self) -> dict[str, set[str]]:
        return {dim: set(vals) for dim, vals in self.facts}
