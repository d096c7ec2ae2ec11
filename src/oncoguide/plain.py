"""Value objects to plain JSON-ready data, like dataclasses.asdict but without its deep copies
(asdict took most of the time of answering a question through the API)."""

from __future__ import annotations


def plain(obj):
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields is not None:
        return {name: plain(getattr(obj, name)) for name in fields}
    if isinstance(obj, list | tuple):
        return [plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    return obj
