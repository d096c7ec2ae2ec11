"""A request refused for a reason the user can act on: the message says why, `status` is the HTTP status."""

from __future__ import annotations


class Refused(ValueError):
    default_status = 422

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status or self.default_status
