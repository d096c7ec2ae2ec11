"""Text matching shared by the question reader (engine.understand), the algorithm and FHIR input:
the tokens of a text and the longest-first phrase scan over them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from oncoguide.pack.words import TOKEN

__all__ = ["TOKEN", "longest_matches", "phrase_matches"]

T = TypeVar("T")


def phrase_matches(
    toks: list[str], phrases: Mapping[tuple[str, ...], Sequence[T]], max_len: int
) -> Iterator[tuple[int, tuple[str, ...], Sequence[T]]]:
    """Each phrase found, with where it starts and its table entries, scanning left to right, longest phrase
    first, so that "can DFSP spread to other people" is read as one phrase, not as "spread"."""
    i = 0
    while i < len(toks):
        for n in range(min(max_len, len(toks) - i), 0, -1):
            phrase = tuple(toks[i : i + n])
            hits = phrases.get(phrase)
            if hits:
                yield i, phrase, hits
                i += n
                break
        else:
            i += 1


def longest_matches(toks: list[str], phrases: Mapping[tuple[str, ...], Sequence[T]], max_len: int) -> Iterator[T]:
    """The table entries of each phrase found (see phrase_matches)."""
    for _, _, hits in phrase_matches(toks, phrases, max_len):
        yield from hits
