"""Only trusted record systems may call the CDS Hooks service once ONCOGUIDE_CDS_CLIENTS names them: each
call carries a JWT signed with the client's private key (CDS Hooks 2.0, "Trusting CDS Clients")."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm

from tests.conftest import run_cli, serving
from tests.fhir_records import hook_request, metastatic_dfsp, prefetch, split

ISS = "https://ehr.example-hospital.org/"
SERVICE = "/cds-services/oncoguide-sarcoma"
# the address record systems call (a proxy in front of the server): the only aud accepted
PUBLIC = "https://oncoguide.example-hospital.org"


@pytest.fixture(scope="module")
def keys():
    return ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def clients_file(keys, tmp_path_factory):
    public = json.loads(ECAlgorithm.to_jwk(keys[0].public_key()))
    path = tmp_path_factory.mktemp("cds") / "clients.json"
    path.write_text(
        json.dumps(
            {"clients": [{"iss": ISS, "jwks": {"keys": [{**public, "kid": "ehr-1", "use": "sig", "alg": "ES384"}]}}]}
        )
    )
    return path


@pytest.fixture(scope="module")
def guarded(kb_settings, clients_file, tmp_path_factory):
    site = f"sqlite:///{tmp_path_factory.mktemp('cds-site') / 'site.sqlite3'}"
    with serving(
        kb_settings, site, {"ONCOGUIDE_CDS_CLIENTS": str(clients_file), "ONCOGUIDE_PUBLIC_URL": PUBLIC}
    ) as base:
        yield base


def token(
    key,
    aud: str,
    *,
    iss: str = ISS,
    kid: str = "ehr-1",
    alg: str = "ES384",
    exp_in: int = 300,
    jti: str | None = None,
    drop: str | None = None,
) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "exp": now + exp_in, "iat": now, "jti": jti or str(uuid.uuid4())}
    claims.pop(drop, None)
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def call(base: str, path: str, bearer: str | None, body=None, host: str | None = None):
    headers = {"Content-Type": "application/json"}
    if host is not None:
        headers["Host"] = host
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers)


def request_body() -> dict:
    return hook_request(prefetch(*split(metastatic_dfsp())))


def test_a_signed_call_gets_its_cards_and_the_same_token_twice_is_a_replay(guarded, keys):
    signed = token(keys[0], PUBLIC + SERVICE)
    status, body, _ = call(guarded, SERVICE, signed, request_body())
    assert status == 200 and body["cards"][0]["summary"].startswith("DFSP: metastatic")
    for _ in range(3):  # two workers: whichever one gets it, the jti is known
        status, body, _ = call(guarded, SERVICE, signed, request_body())
        assert status == 401 and "replay refused" in body["error"]


def test_discovery_and_feedback_need_a_token_for_their_own_address(guarded, keys):
    status, body, headers = call(guarded, "/cds-services", None)
    assert status == 401 and "Authorization: Bearer" in body["error"] and headers["www-authenticate"] == "Bearer"
    status, body, _ = call(guarded, "/cds-services", token(keys[0], PUBLIC + "/cds-services"))
    assert status == 200 and body["services"][0]["id"] == "oncoguide-sarcoma"
    _, cards, _ = call(guarded, SERVICE, token(keys[0], PUBLIC + SERVICE), request_body())
    feedback = {
        "feedback": [
            {"card": cards["cards"][0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-22T12:00:00Z"}
        ]
    }
    status, body, _ = call(guarded, SERVICE + "/feedback", token(keys[0], PUBLIC + SERVICE + "/feedback"), feedback)
    assert status == 200 and body == {"recorded": 1}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda keys, aud: None, "needs an 'Authorization: Bearer <JWT>' header"),
        (lambda keys, aud: "not-a-jwt", "not a JWT"),
        (lambda keys, aud: token(keys[1], aud), "Signature verification failed"),  # the wrong private key
        (lambda keys, aud: token(keys[0], aud, iss="https://elsewhere.example/"), "is not a trusted CDS client"),
        (lambda keys, aud: token(keys[0], aud, kid="ehr-2"), "no key 'ehr-2' is registered"),
        (lambda keys, aud: token(keys[0], aud + "-other"), "aud is not this endpoint"),
        (lambda keys, aud: token(keys[0], aud, exp_in=-600), "has expired"),
        (lambda keys, aud: token(keys[0], aud, exp_in=86_400), "valid for more than 60 minutes"),
        (lambda keys, aud: token(keys[0], aud, drop="jti"), "no 'jti' claim"),
        (lambda keys, aud: token("shared-secret-of-32-bytes-or-more!", aud, alg="HS256"), "'HS256' is not accepted"),
        (
            lambda keys, aud: token(rsa.generate_private_key(public_exponent=65537, key_size=2048), aud, alg="RS384"),
            "does not match the key's algorithm",
        ),  # no algorithm confusion
        (lambda keys, aud: jwt.encode({"iss": ISS, "aud": aud}, None, algorithm="none"), "'none' is not accepted"),
    ],
)
def test_untrusted_calls_get_401_with_the_reason_and_no_cards(guarded, keys, make, message):
    status, body, _ = call(guarded, SERVICE, make(keys, PUBLIC + SERVICE), request_body())
    assert status == 401 and message in body["error"], body
    assert "cards" not in body


@pytest.mark.parametrize(
    "aud_base, host",
    [
        ("https://other-deployment.example", "other-deployment.example"),  # minted for another site, Host forged
        ("http://evil.example", "evil.example"),
        (None, None),  # the address the request really came to, which is not the public one
    ],
)
def test_aud_is_checked_against_the_public_url_never_the_host_header(guarded, keys, aud_base, host):
    aud = (aud_base or guarded) + SERVICE
    status, body, _ = call(guarded, SERVICE, token(keys[0], aud), request_body(), host=host)
    assert status == 401 and "aud is not this endpoint" in body["error"] and PUBLIC in body["error"], body
    assert "cards" not in body
    # the same call addressed to the public URL goes through, whatever Host says
    status, body, _ = call(guarded, SERVICE, token(keys[0], PUBLIC + SERVICE), request_body(), host=host)
    assert status == 200 and body["cards"], body
    assert all(link["url"].startswith(PUBLIC + "/") for link in body["cards"][0]["links"])


def test_clients_without_a_public_url_stop_the_server_with_the_reason(clients_file, kb_settings):
    out = run_cli(
        "serve",
        "--port",
        "1",
        env_extra={"ONCOGUIDE_CDS_CLIENTS": str(clients_file), "ONCOGUIDE_PUBLIC_URL": ""},
        db=kb_settings.db,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "ONCOGUIDE_CDS_CLIENTS is set but ONCOGUIDE_PUBLIC_URL is not" in out.stderr


def test_a_broken_clients_file_stops_the_server_with_the_reason(tmp_path, kb_settings):
    cases = [
        ("not json", "not valid JSON"),
        (
            json.dumps({"clients": [{"iss": ISS, "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "a"}]}}]}),
            "symmetric keys are not allowed",
        ),
        (
            json.dumps(
                {
                    "clients": [
                        {
                            "iss": ISS,
                            "jwks": {
                                "keys": [{"kty": "EC", "crv": "P-384", "kid": "a", "x": "AA", "y": "AA", "d": "AA"}]
                            },
                        }
                    ]
                }
            ),
            "holds a private key",
        ),
        (json.dumps({"clients": []}), 'expected {"clients"'),
    ]
    for text, message in cases:
        path = tmp_path / "clients.json"
        path.write_text(text)
        env = {"ONCOGUIDE_CDS_CLIENTS": str(path), "ONCOGUIDE_PUBLIC_URL": PUBLIC}
        out = run_cli("serve", "--port", "1", env_extra=env, db=kb_settings.db)
        assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr, out.stderr
