"""All settings in one place, read from ONCOGUIDE_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_PACK = Path(__file__).parent / "pack"


def _default_db() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "oncoguide" / "oncoguide.sqlite3"


class Settings(BaseSettings):
    """Runtime settings. Each field maps to the environment variable ONCOGUIDE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="ONCOGUIDE_", extra="ignore")

    db: Path = Field(
        default_factory=_default_db,
        description="Path of the embedded SQLite knowledge base; built from the pack on first use.",
    )
    pack_dir: Path = Field(
        default=PACKAGE_PACK,
        description="Directory of the knowledge pack (YAML files) the knowledge base is built from.",
    )
    max_question_chars: int = Field(
        default=1000, ge=10, le=100_000,
        description="Longest question accepted, in characters; longer ones are refused with a message.",
    )
    section_limit: int = Field(
        default=6, ge=1, le=50,
        description="Most statements shown in one answer section.",
    )
