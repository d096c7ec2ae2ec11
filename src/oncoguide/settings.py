"""All settings in one place, read from ONCOGUIDE_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_PACK = Path(__file__).parent / "data" / "pack"


def _data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")) / "oncoguide"


def _default_db() -> Path:
    return _data_dir() / "oncoguide.sqlite3"


def _default_database_url() -> str:
    return f"sqlite:///{_data_dir() / 'site.sqlite3'}"


class SettingsError(ValueError):
    """Settings that cannot work together; the message names the variables and what to do."""


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
        default=2000,
        ge=10,
        le=100_000,
        description="Longest question accepted, in characters; longer ones are refused with a message.",
    )
    section_limit: int = Field(
        default=6,
        ge=1,
        le=50,
        description="Most statements shown in one answer section.",
    )
    database_url: str = Field(
        default_factory=_default_database_url,
        description="SQLAlchemy URL of the site database (conversation threads); SQLite by default.",
    )
    max_ingest_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        le=10 * 1024**3,
        description="Largest file `oncoguide ingest` reads, in bytes; larger files are reported and skipped.",
    )
    max_body_bytes: int = Field(
        default=65_536,
        ge=1024,
        le=10_000_000,
        description="Largest request body the web server accepts, in bytes; larger ones get 413.",
    )
    max_fhir_body_bytes: int = Field(
        default=4_000_000,
        ge=1024,
        le=100_000_000,
        description="Largest FHIR request body (CDS Hooks calls, a Bundle sent to /api/recommend), in bytes.",
    )
    max_json_depth: int = Field(
        default=64,
        ge=2,
        le=500,
        description="Deepest nesting of arrays and objects accepted in a JSON request body; deeper bodies get "
        "422 (400 on the CDS Hooks service) naming the limit.",
    )
    max_header_bytes: int = Field(
        default=16_384,
        ge=1024,
        le=1_048_576,
        description="Largest request head (request line and headers) `oncoguide serve` reads, in bytes; a "
        "larger one gets 431 and the connection is closed.",
    )
    idle_timeout_seconds: int = Field(
        default=5,
        ge=1,
        le=300,
        description="Seconds `oncoguide serve` waits for a complete request head on a connection, after it "
        "opens and after each response (keep-alive), before closing it.",
    )
    cds_clients: Path | None = Field(
        default=None,
        description="JSON file of the record systems trusted to call the CDS Hooks service: "
        '{"clients": [{"iss": ..., "jwks": {"keys": [...]}}]}. When set, every /cds-services call '
        "must carry a JWT signed by one of them (CDS Hooks 2.0); when unset, the service is open.",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+$",
        description="The site's address as users reach it (behind a proxy): the address CDS Hooks JWTs must be "
        "addressed to (aud; required with ONCOGUIDE_CDS_CLIENTS) and the base of the links in CDS Hooks "
        "cards and FHIR Bundles. Unset: links use the address the request came to.",
    )
    question_retention_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days a question that matches no canonical one is kept (masked) for the editors' list at "
        "/review/questions before it is deleted.",
    )

    page_cache_entries: int = Field(
        default=256,
        ge=0,
        le=100_000,
        description="Most composed answers, and as many rendered answer pages and other pages, each server "
        "process keeps in memory (least recently used dropped first); 0 turns the caches off.",
    )
    gzip_min_bytes: int = Field(
        default=1024,
        ge=0,
        le=10_000_000,
        description="Smallest response body the web server compresses (gzip, when the client accepts it), in "
        "bytes; smaller bodies are sent as they are.",
    )

    @field_validator("public_url", mode="before")
    @classmethod
    def _no_trailing_slash(cls, value):
        if isinstance(value, str):  # an empty variable means unset; a trailing '/' would double in links
            return value.strip().rstrip("/") or None
        return value

    def serving_problem(self) -> str | None:
        """Why the web server must not start with these settings, or None.

        A CDS Hooks JWT must be addressed (aud) to this deployment. Without a configured address the only
        one to compare with would be built from the request's own Host header, which the caller chooses:
        a token minted for another deployment would then be accepted.
        """
        if self.cds_clients is not None and not self.public_url:
            return (
                "ONCOGUIDE_CDS_CLIENTS is set but ONCOGUIDE_PUBLIC_URL is not: set ONCOGUIDE_PUBLIC_URL to the "
                "address record systems call (for example https://oncoguide.example.org), which their JWTs "
                "must name as aud"
            )
        return None
