"""A renewal revokes the certificate it replaces (reason ``superseded``): it is on the CRL, and
an order signed with it is ``certificate_superseded`` (the phone is told to pair again), while
the new certificate signs."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509

from sync_client.keys import PrivateKey, build_csr_pem, generate_private_key, sign
from sync_client.orders import build_order, sign_order
from sync_client.protocol import csr_sha256, renewal_message
from sync_server import revocation
from sync_server.models import Certificate, Order

from .harness import Enrolled, ServerHarness, refused


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"certificate_validity": timedelta(days=20)}  # inside the renewal window at once


def renew(enrolled: Enrolled, new_key: PrivateKey) -> int:
    chal = enrolled.sdk.renewal_challenge()
    csr_pem = build_csr_pem(new_key, enrolled.customer_id)
    digest = csr_sha256(x509.load_pem_x509_csr(csr_pem.encode()))
    proof = sign(enrolled.key, renewal_message(chal.challenge_id, chal.nonce, digest))
    issued = enrolled.sdk.renew(challenge_id=chal.challenge_id, csr_pem=csr_pem, signature=proof)
    return issued.certificate.serial


def order_body(server: ServerHarness, customer_id: str, key: PrivateKey, serial: int) -> Any:
    order = build_order(symbol="2330", side="buy", quantity=1, price="600", now=server.clock.now)
    signed = sign_order(
        key, order, audience=server.host.order_audience, customer_id=customer_id, serial=serial
    )
    return {
        "order": signed.order,
        "signature": base64.b64encode(signed.signature).decode(),
        "serial": str(serial),
        "customer_id": customer_id,
        "audience": server.host.order_audience,
    }


def crl(server: ServerHarness) -> x509.CertificateRevocationList:
    response = server.client.get("/api/v1/crl")
    assert response.status_code == 200
    listed = x509.load_der_x509_crl(response.content)
    assert listed.is_signature_valid(server.host.ca.cert.public_key())  # type: ignore[arg-type]
    return listed


def reason_of(entry: x509.RevokedCertificate) -> x509.ReasonFlags:
    return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason


def test_the_superseded_certificate_is_on_the_crl(server: ServerHarness) -> None:
    enrolled = server.enroll()
    old_serial = enrolled.serial
    assert crl(server).get_revoked_certificate_by_serial_number(old_serial) is None
    new_serial = renew(enrolled, generate_private_key("ec"))

    listed = crl(server)
    entry = listed.get_revoked_certificate_by_serial_number(old_serial)
    assert entry is not None and reason_of(entry) is x509.ReasonFlags.superseded
    assert listed.get_revoked_certificate_by_serial_number(new_serial) is None
    (old,) = server.rows(Certificate, serial=str(old_serial))
    assert old.revocation_reason == "superseded" and old.superseded_by == str(new_serial)
    assert enrolled.sdk.status().code == 0  # the customer's certificate is the new, valid one


def test_an_order_signed_with_the_superseded_certificate_is_refused_by_name(
    server: ServerHarness,
) -> None:
    enrolled = server.enroll()
    phone = server.login(enrolled.customer_id, kind="mobile")
    new_key = generate_private_key("ec")
    new_serial = renew(enrolled, new_key)

    stale = order_body(server, enrolled.customer_id, enrolled.key, enrolled.serial)
    refused(server.post("/orders", phone.token, stale), "certificate_superseded")
    assert server.rows(Order) == []
    assert server.audit(action="order")[-1].outcome == "certificate_superseded"

    fresh = order_body(server, enrolled.customer_id, new_key, new_serial)
    assert server.post("/orders", phone.token, fresh).status_code == 201
    assert len(server.rows(Order)) == 1


def test_a_retried_renewal_still_returns_the_new_certificate(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = enrolled.sdk.renewal_challenge()
    csr_pem = build_csr_pem(generate_private_key("ec"), enrolled.customer_id)
    digest = csr_sha256(x509.load_pem_x509_csr(csr_pem.encode()))
    proof = sign(enrolled.key, renewal_message(chal.challenge_id, chal.nonce, digest))
    first = enrolled.sdk.renew(challenge_id=chal.challenge_id, csr_pem=csr_pem, signature=proof)
    again = enrolled.sdk.renew(challenge_id=chal.challenge_id, csr_pem=csr_pem, signature=proof)
    assert again.certificate.serial == first.certificate.serial
    listed = [e.serial_number for e in crl(server)]
    assert listed.count(enrolled.serial) == 1  # revoked once, by the renewal that happened


def test_another_customers_superseded_serial_is_only_not_current(server: ServerHarness) -> None:
    first = server.enroll()
    renew(first, generate_private_key("ec"))
    second = server.enroll()
    body = order_body(server, second.customer_id, second.key, first.serial)
    refused(server.post("/orders", second.sdk.token, body), "certificate_not_current")


def test_staff_revocation_of_the_new_one_leaves_the_old_reason(server: ServerHarness) -> None:
    enrolled = server.enroll()
    new_serial = renew(enrolled, generate_private_key("ec"))
    revocation.revoke(server.host, str(new_serial), reason="key_compromise", actor="staff:t")
    listed = crl(server)
    old = listed.get_revoked_certificate_by_serial_number(enrolled.serial)
    new = listed.get_revoked_certificate_by_serial_number(new_serial)
    assert old is not None and reason_of(old) is x509.ReasonFlags.superseded
    assert new is not None and reason_of(new) is x509.ReasonFlags.key_compromise
