"""English words that look like a lexicon term, computed when the pack is built.

The question reader corrects small typos against the lexicon ("dermatofibrosarcome"); a real English word is
never corrected, however close it is to a medical one ("changes" is not "chances", "patience" not "patients").
The word list (wordfreq's) is read only here, at build time; answers read the stored result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from rapidfuzz.distance import Levenshtein

# a word of a question or a lexicon phrase: lower-case letters and digits, with an apostrophe ending ("ewing's")
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# how many of the most frequent English words to consider: beyond this they are rare enough to be typos
TOP_ENGLISH = 80_000
MIN_LEN = 5  # the reader never corrects shorter words


def typo_limit(word: str) -> int:
    """The largest edit distance the reader corrects for a word of this length."""
    return 2 if len(word) >= 8 else 1


def english_near(vocabulary: Iterable[str]) -> list[str]:
    """English words (not themselves in the vocabulary) within typo distance of a vocabulary word."""
    from rapidfuzz.process import cdist
    from wordfreq import top_n_list

    vocab = {w for w in vocabulary if len(w) >= MIN_LEN and w.isalpha()}
    by_first: dict[str, list[str]] = {}
    for w in sorted(vocab):
        by_first.setdefault(w[0], []).append(w)
    words: dict[str, list[str]] = {}
    for word in top_n_list("en", TOP_ENGLISH):
        if len(word) >= MIN_LEN and word.isalpha() and word not in vocab and word[0] in by_first:
            words.setdefault(word[0], []).append(word)
    out = []
    for first, candidates in words.items():
        # one matrix of distances per first letter (the reader only corrects within the same first letter)
        dist = cdist(candidates, by_first[first], scorer=Levenshtein.distance, score_cutoff=2)
        for word, row in zip(candidates, dist.min(axis=1), strict=True):
            if row <= typo_limit(word):
                out.append(word)
    return sorted(out)


def lexicon_words(lexicon: dict) -> set[str]:
    """Every word of every phrase in the lexicon document (its `terms` lists and out-of-scope names)."""

    def phrases(node) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "terms":
                    yield from value
                else:
                    yield from phrases(value)
        elif isinstance(node, list):
            for item in node:
                yield from phrases(item)

    words = {w for term in phrases(lexicon) for w in TOKEN.findall(term.lower())}
    words |= {w for term in lexicon.get("out_of_scope", ()) for w in TOKEN.findall(term.lower())}
    spelling = lexicon.get("spelling", {})
    return {spelling.get(w, w) for w in words}
