"""ONCOGUIDE_PUBLIC_URL is the one address the site gives out: CDS Hooks JWTs must be addressed to it, and
card links and FHIR Bundle links use it, whatever Host header a request carries."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from oncoguide.web.app import create_app
from tests.fhir_records import hook_request, metastatic_dfsp, prefetch, split

PUBLIC = "https://oncoguide.example-hospital.org"
FORGED = {"host": "evil.example"}


@pytest.fixture
def public_client(web_settings):
    with TestClient(
        create_app(web_settings.model_copy(update={"public_url": PUBLIC})), raise_server_exceptions=False
    ) as c:
        yield c


def test_trusted_clients_without_a_public_url_refuse_to_start(web_settings, tmp_path):
    from oncoguide.settings import SettingsError

    clients = tmp_path / "clients.json"
    clients.write_text(
        json.dumps(
            {
                "clients": [
                    {
                        "iss": "https://ehr.example/",
                        "jwks": {
                            "keys": [
                                {
                                    "kty": "EC",
                                    "crv": "P-256",
                                    "kid": "a",
                                    "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
                                    "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
                                }
                            ]
                        },
                    }
                ]
            }
        )
    )
    with pytest.raises(SettingsError, match="ONCOGUIDE_CDS_CLIENTS is set but ONCOGUIDE_PUBLIC_URL is not"):
        create_app(web_settings.model_copy(update={"cds_clients": clients, "public_url": None}))


def test_card_links_use_the_public_url_not_the_host_header(public_client):
    r = public_client.post(
        "/cds-services/oncoguide-sarcoma", json=hook_request(prefetch(*split(metastatic_dfsp()))), headers=FORGED
    )
    assert r.status_code == 200, r.text
    card = r.json()["cards"][0]
    urls = [link["url"] for link in card["links"]] + [card["source"]["url"]]
    assert urls and all(u.startswith(PUBLIC + "/") for u in urls), urls


def test_fhir_bundle_links_use_the_public_url_not_the_host_header(public_client):
    for path in ("/fhir/PlanDefinition?_id=dfsp-metastatic", "/fhir/Bundle"):
        found = public_client.get(path, headers=FORGED).json()
        assert found["link"] == [{"relation": "self", "url": PUBLIC + path}]
        assert found["entry"] and all(e["fullUrl"].startswith(PUBLIC + "/fhir/") for e in found["entry"])
    whole = public_client.get("/fhir/Bundle/oncoguide", headers=FORGED).json()
    entry = whole["entry"][0]
    assert entry["fullUrl"] == f"{PUBLIC}/fhir/{entry['resource']['resourceType']}/{entry['resource']['id']}"
    # and the fullUrl is where the resource is served
    path = entry["fullUrl"].removeprefix(PUBLIC)
    assert public_client.get(path).json() == entry["resource"]
    assert "evil.example" not in json.dumps(whole)
