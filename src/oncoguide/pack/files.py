"""Which files make up a pack, and their content hash (kept light: no YAML or pydantic import)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def pack_files(pack_dir: Path) -> list[Path]:
    return sorted(p for p in Path(pack_dir).rglob("*.yaml") if p.is_file())


def pack_digest(pack_dir: Path) -> str:
    """Content hash of every pack file (names and bytes): the knowledge base is rebuilt when it changes."""
    h = hashlib.sha256()
    for path in pack_files(pack_dir):
        h.update(str(path.relative_to(pack_dir)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()
