"""Who may call the CDS Hooks service: record systems that sign each call with a JWT (CDS Hooks 2.0,
"Trusting CDS Clients").

The trusted clients and their public keys (JWK Sets) come from a file named by ONCOGUIDE_CDS_CLIENTS,
agreed out of band: a `jku` URL in a token is never fetched (nothing is loaded from the network). A
call is let through when its bearer token is signed with an asymmetric algorithm by a key of the
client named in `iss` (found by `kid`), is addressed (`aud`) to the endpoint called, has not expired,
and its `jti` has not been seen before (replays are refused across workers through the site database).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jwt
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from oncoguide.site.db import cds_tokens

ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"]
ASYMMETRIC_KEY_TYPES = {"EC", "RSA", "OKP"}
LEEWAY = 60  # seconds of clock difference tolerated
MAX_LIFETIME = 3600  # a token valid for longer than an hour is refused: they are meant to be short-lived


class ClientsFileError(ValueError):
    """The trusted-clients file cannot be used; the message names the file and the problem."""


class CdsAuthError(Exception):
    """The call is not from a trusted client; the message says why (answered with 401)."""


@dataclass
class Client:
    iss: str
    keys: dict[str, jwt.PyJWK]


def load_clients(path: Path) -> dict[str, Client]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ClientsFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClientsFileError(f"{path}: not valid JSON ({exc})") from None
    entries = data.get("clients") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ClientsFileError(f'{path}: expected {{"clients": [{{"iss": ..., "jwks": {{"keys": [...]}}}}]}}')
    clients: dict[str, Client] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: clients[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("iss"), str) or not entry["iss"]:
            raise ClientsFileError(f"{where}.iss: must be the issuer's URI")
        keys = (entry.get("jwks") or {}).get("keys") if isinstance(entry.get("jwks"), dict) else None
        if not isinstance(keys, list) or not keys:
            raise ClientsFileError(f"{where}.jwks.keys: must be a non-empty array of public JWKs")
        parsed = {}
        for j, key in enumerate(keys):
            if not isinstance(key, dict) or key.get("kty") not in ASYMMETRIC_KEY_TYPES:
                raise ClientsFileError(
                    f"{where}.jwks.keys[{j}]: must be a public EC, RSA or OKP key "
                    "(symmetric keys are not allowed by CDS Hooks)"
                )
            if "d" in key:
                raise ClientsFileError(f"{where}.jwks.keys[{j}]: holds a private key; give only the public part")
            if not isinstance(key.get("kid"), str) or not key["kid"]:
                raise ClientsFileError(f"{where}.jwks.keys[{j}].kid: is required")
            try:
                parsed[key["kid"]] = jwt.PyJWK(key)
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                raise ClientsFileError(f"{where}.jwks.keys[{j}]: not a usable key ({exc})") from None
        clients[entry["iss"]] = Client(entry["iss"], parsed)
    return clients


class TrustedClients:
    def __init__(self, clients: dict[str, Client], engine):
        self.clients = clients
        self.engine = engine

    @classmethod
    def from_file(cls, path: Path, engine) -> TrustedClients:
        return cls(load_clients(path), engine)

    def verify(self, authorization: str | None, audiences: list[str]) -> dict:
        """The token's claims, if it is a valid call to one of `audiences`; otherwise CdsAuthError."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise CdsAuthError(
                "this service needs an 'Authorization: Bearer <JWT>' header signed by a trusted record system"
            )
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise CdsAuthError("the bearer token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise CdsAuthError(
                f"the JWT algorithm '{str(header.get('alg'))[:20]}' is not accepted; use an "
                "asymmetric one such as ES384 or RS384"
            )
        issuer, kid = unverified.get("iss"), header.get("kid")
        client = self.clients.get(issuer) if isinstance(issuer, str) else None
        if client is None:
            raise CdsAuthError(f"the issuer '{str(unverified.get('iss'))[:100]}' is not a trusted CDS client")
        key = client.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise CdsAuthError(f"no key '{str(header.get('kid'))[:60]}' is registered for {client.iss}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                audience=audiences,
                issuer=client.iss,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise CdsAuthError("the JWT has expired") from None
        except jwt.InvalidAudienceError:
            raise CdsAuthError(f"the JWT's aud is not this endpoint ({audiences[0]})") from None
        except jwt.MissingRequiredClaimError as exc:
            raise CdsAuthError(f"the JWT has no '{exc.claim}' claim") from None
        except jwt.PyJWTError as exc:
            raise CdsAuthError(f"the JWT is not valid: {exc}") from None
        if not isinstance(claims["exp"], int | float) or claims["exp"] - time.time() > MAX_LIFETIME + LEEWAY:
            raise CdsAuthError(f"the JWT is valid for more than {MAX_LIFETIME // 60} minutes")
        self._first_use(client.iss, str(claims["jti"]), claims["exp"])
        return claims

    def _first_use(self, iss: str, jti: str, exp: float) -> None:
        """Remember the token until it expires; a second use of the same jti is a replay."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(delete(cds_tokens).where(cds_tokens.c.expires < now))
            try:
                conn.execute(
                    insert(cds_tokens).values(
                        iss=iss[:300], jti=jti[:200], expires=datetime.fromtimestamp(exp + LEEWAY, UTC)
                    )
                )
            except IntegrityError:
                raise CdsAuthError("this JWT was already used (its jti has been seen): replay refused") from None
