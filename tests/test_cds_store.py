"""What the CDS Hooks service keeps in the site database (issued cards, feedback, used JWT ids) works the
same on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from oncoguide.web.cds_auth import CdsAuthError, Client, TrustedClients
from tests.fhir_records import hook_request, metastatic_dfsp, prefetch, split

SERVICE = "/cds-services/oncoguide-sarcoma"


def test_cards_and_feedback_are_kept_whole_or_not_at_all(site):
    (card,) = site.post(SERVICE, json=hook_request(prefetch(*split(metastatic_dfsp())))).json()["cards"]
    reason = card["overrideReasons"][1]
    items = [
        {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-22T09:00:00Z"},
        {
            "card": card["uuid"],
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-22T09:01:00+01:00",
            "overrideReason": {"reason": reason, "userComment": "x" * 2000},
        },
    ]
    r = site.post(f"{SERVICE}/feedback", json={"feedback": items})
    assert r.status_code == 200 and r.json() == {"recorded": 2}
    log = site.app.state.site.cds
    rows = log.feedback_rows(card["uuid"])
    assert [row["outcome"] for row in rows] == ["accepted", "overridden"]
    assert rows[1]["reason_code"] == reason["code"] and len(rows[1]["comment"]) == 2000
    (summary,) = [s for s in log.summary() if s["group"] == "dfsp-metastatic"]
    assert (summary["issued"], summary["accepted"], summary["overridden"]) == (1, 1, 1)
    assert summary["reasons"] == {reason["display"]: 1}
    stranger = {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-11-22T09:02:00Z"}
    r = site.post(f"{SERVICE}/feedback", json={"feedback": [items[0], stranger]})
    assert r.status_code == 404 and len(log.feedback_rows(card["uuid"])) == 2
    r = site.post(
        f"{SERVICE}/feedback",
        json={"feedback": [dict(items[1], overrideReason={"reason": reason, "userComment": "x" * 2001})]},
    )
    assert r.status_code == 400 and "longer than 2000" in r.json()["error"]


def test_a_token_id_is_accepted_once_and_forgotten_when_it_expires(site):
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.PyJWK({**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "k", "alg": "ES256"})
    iss, aud = "https://ehr.example.org/", "http://testserver/cds-services"
    clients = TrustedClients({iss: Client(iss, {"k": public})}, site.app.state.site.cds.engine)
    now = int(time.time())
    signed = jwt.encode(
        {"iss": iss, "aud": aud, "exp": now + 120, "iat": now, "jti": "call-1"},
        key,
        algorithm="ES256",
        headers={"kid": "k", "typ": "JWT"},
    )
    assert clients.verify(f"Bearer {signed}", [aud])["jti"] == "call-1"
    with pytest.raises(CdsAuthError, match="replay refused"):
        clients.verify(f"Bearer {signed}", [aud])
    clients._first_use(iss, "old-call", now - 3600)  # long expired: pruned by the next use, then usable again
    clients._first_use(iss, "old-call", now + 120)
    with pytest.raises(CdsAuthError, match="replay refused"):
        clients._first_use(iss, "old-call", now + 120)
