"""The site's user data: accounts, threads, review, community, experiences, members, CDS log, backup."""

from oncoguide.site.core import Site

__all__ = ["Site"]
