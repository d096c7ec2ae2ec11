"""The countries a member may share: ISO 3166-1 names and alpha-2 codes from pycountry (offline data).

Here rather than in web/worldmap.py because members.py validates the stored code with them, and the
site layer does not import the web layer; the map draws with the same list."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    name: str


@lru_cache(maxsize=1)
def countries() -> tuple[Country, ...]:
    """Every ISO 3166-1 country, sorted by its common name."""
    import pycountry

    found = [Country(c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries]
    return tuple(sorted(found, key=lambda c: c.name))


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    return {c.code: c.name for c in countries()}
