"""Re-download (function 3): opened by customer service, once, for a limited time."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sync_client.keys import build_csr_pem, generate_private_key, sign
from sync_client.protocol import renewal_message
from sync_server import redownloads
from sync_server.errors import ServiceError
from sync_server.models import RedownloadGrant

from .harness import ServerHarness, refused


def open_redownload(server: ServerHarness, customer_id: str) -> None:
    redownloads.open_redownload(server.host, customer_id, actor="staff:test")


def redownload(server: ServerHarness, token: str | None):
    return server.post("/certificate/redownload", token, {})


def test_not_open_until_customer_service_opens_it(server: ServerHarness) -> None:
    enrolled = server.enroll()
    refused(redownload(server, enrolled.sdk.token), "redownload_not_open")
    assert server.audit(action="redownload")[-1].outcome == "redownload_not_open"


def test_an_open_redownload_returns_the_latest_certificate_once(server: ServerHarness) -> None:
    enrolled = server.enroll()
    open_redownload(server, enrolled.customer_id)
    (grant,) = server.rows(RedownloadGrant)
    assert grant.expires_at == server.clock.now + timedelta(hours=24)
    response = redownload(server, enrolled.sdk.token)
    assert response.status_code == 200
    body = response.json()
    assert body["certificate"]["serial"] == str(enrolled.serial)
    assert body["certificate"]["cert_pem"] == enrolled.issued.certificate.cert_pem
    assert body["chain_pem"] == server.host.ca.chain_pem
    refused(redownload(server, enrolled.sdk.token), "redownload_used")
    outcomes = [(e.action, e.outcome) for e in server.audit() if "redownload" in e.action]
    assert outcomes == [
        ("redownload_open", "ok"),
        ("redownload", "ok"),
        ("redownload", "redownload_used"),
    ]


def test_an_open_redownload_expires(server: ServerHarness) -> None:
    enrolled = server.enroll()
    open_redownload(server, enrolled.customer_id)
    server.clock.advance(server.settings.redownload_lifetime)
    sdk = server.login(enrolled.customer_id)
    refused(redownload(server, sdk.token), "redownload_expired")
    (grant,) = server.rows(RedownloadGrant)
    assert grant.used_at is None


def test_opening_again_replaces_the_earlier_grant(server: ServerHarness) -> None:
    enrolled = server.enroll()
    open_redownload(server, enrolled.customer_id)
    assert redownload(server, enrolled.sdk.token).status_code == 200
    open_redownload(server, enrolled.customer_id)
    assert redownload(server, enrolled.sdk.token).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"certificate_validity": timedelta(days=20)}])
def test_after_a_renewal_the_latest_is_the_renewed_one(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = enrolled.sdk.renewal_challenge()
    csr = build_csr_pem(generate_private_key("ec"), enrolled.customer_id)
    der = x509.load_pem_x509_csr(csr.encode()).public_bytes(serialization.Encoding.DER)
    message = renewal_message(chal.challenge_id, chal.nonce, hashlib.sha256(der).hexdigest())
    new = enrolled.sdk.renew(
        challenge_id=chal.challenge_id, csr_pem=csr, signature=sign(enrolled.key, message)
    )
    open_redownload(server, enrolled.customer_id)
    fetched = enrolled.sdk.redownload()
    assert fetched.certificate.serial == new.certificate.serial != enrolled.serial


def test_only_a_pc_session_of_the_customer_gets_it(server: ServerHarness) -> None:
    alice, bob = server.enroll(), server.enroll()
    open_redownload(server, alice.customer_id)
    refused(redownload(server, bob.sdk.token), "redownload_not_open")
    phone = server.login(alice.customer_id, kind="mobile")
    refused(redownload(server, phone.token), "wrong_device_kind")
    refused(redownload(server, None), "unauthenticated")
    assert redownload(server, alice.sdk.token).status_code == 200


def test_a_customer_without_a_certificate_cannot_be_opened(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    with pytest.raises(ServiceError) as caught:
        open_redownload(server, customer_id)
    assert caught.value.code == "no_certificate"
    with pytest.raises(ServiceError) as caught:
        open_redownload(server, server.new_customer_id())
    assert caught.value.code == "customer_not_found"
    assert server.rows(RedownloadGrant) == []
