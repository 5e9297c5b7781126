"""Revocation by staff, and the CA's signed CRL, read by cryptography and by openssl."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sync_client.protocol import format_serial
from sync_server import revocation
from sync_server.ca import CA
from sync_server.errors import ServiceError
from sync_server.models import Certificate

from .harness import ServerHarness
from .openssl_cli import openssl, verify


def fetch_crl(server: ServerHarness) -> tuple[bytes, x509.CertificateRevocationList]:
    response = server.client.get("/api/v1/crl")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pkix-crl"
    return response.content, x509.load_der_x509_crl(response.content)


def revoke(server: ServerHarness, serial: object, reason: str = "key_compromise") -> Certificate:
    return revocation.revoke(server.host, str(serial), reason=reason, actor="staff:test")


def test_revocation_shows_in_the_status_at_once(server: ServerHarness) -> None:
    enrolled = server.enroll()
    row = revoke(server, enrolled.serial)
    assert row.revoked_at == server.clock.now and row.revocation_reason == "key_compromise"
    status = enrolled.sdk.status()
    assert (status.code, status.label) == (42, "revoked")
    assert status.certificate is not None and status.certificate.status == "revoked"
    (event,) = server.audit(action="revoke")
    assert event.actor == "staff:test" and event.customer_id == enrolled.customer_id
    assert str(enrolled.serial) in event.detail and "key_compromise" in event.detail


def test_an_empty_crl_is_signed_by_the_ca(server: ServerHarness) -> None:
    _, crl = fetch_crl(server)
    assert len(crl) == 0
    assert crl.issuer == server.host.ca.cert.subject
    assert crl.is_signature_valid(server.host.ca.cert.public_key())  # type: ignore[arg-type]
    assert crl.last_update_utc == server.clock.now
    assert crl.next_update_utc == server.clock.now + server.settings.crl_lifetime


def test_the_crl_lists_revoked_serials_with_their_reasons(server: ServerHarness) -> None:
    first, second, kept = server.enroll(), server.enroll(), server.enroll()
    revoke(server, first.serial, "key_compromise")
    server.clock.advance(minutes=5)
    revoke(server, second.serial, "cessation_of_operation")
    _, crl = fetch_crl(server)
    assert crl.is_signature_valid(server.host.ca.cert.public_key())  # type: ignore[arg-type]
    assert {entry.serial_number for entry in crl} == {first.serial, second.serial}
    entry = crl.get_revoked_certificate_by_serial_number(first.serial)
    assert entry is not None
    assert entry.revocation_date_utc == server.clock.now - timedelta(minutes=5)
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    entry = crl.get_revoked_certificate_by_serial_number(second.serial)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.cessation_of_operation
    assert crl.get_revoked_certificate_by_serial_number(kept.serial) is None
    # Negative control: another key does not verify it.
    assert not crl.is_signature_valid(CA.generate().cert.public_key())  # type: ignore[arg-type]


def test_openssl_reads_the_crl_and_refuses_the_revoked_certificate(
    server: ServerHarness, tmp_path: Path
) -> None:
    revoked, kept = server.enroll(), server.enroll()
    revoke(server, revoked.serial, "key_compromise")
    der, crl = fetch_crl(server)
    (tmp_path / "crl.der").write_bytes(der)
    text = openssl("crl", "-inform", "DER", "-in", tmp_path / "crl.der", "-noout", "-text")
    assert text.returncode == 0, text.stderr.decode()
    out = text.stdout.decode()
    hex_serial = format_serial(revoked.serial).split("0x")[1].rstrip(")")
    assert hex_serial in out.replace(":", "").upper()
    assert "Key Compromise" in out
    assert "CertSync Issuing CA" in out

    (tmp_path / "ca.pem").write_text(server.host.ca.chain_pem)
    checked = openssl(
        "crl",
        "-inform",
        "DER",
        "-in",
        tmp_path / "crl.der",
        "-noout",
        "-CAfile",
        tmp_path / "ca.pem",
    )
    assert checked.returncode == 0 and b"verify OK" in checked.stdout + checked.stderr

    chain = x509.load_pem_x509_certificates(server.host.ca.chain_pem.encode())
    refused = verify(
        tmp_path / "revoked", revoked.issued.certificate.load(), trusted=chain, crl=crl
    )
    assert refused.returncode != 0 and b"revoked" in refused.stdout + refused.stderr
    fine = verify(tmp_path / "kept", kept.issued.certificate.load(), trusted=chain, crl=crl)
    assert fine.returncode == 0, fine.stderr.decode()


def test_revoking_twice_is_refused_and_changes_nothing(server: ServerHarness) -> None:
    enrolled = server.enroll()
    revoke(server, enrolled.serial, "key_compromise")
    server.clock.advance(minutes=1)
    with pytest.raises(ServiceError) as caught:
        revoke(server, enrolled.serial, "superseded")
    assert caught.value.code == "already_revoked"
    (row,) = server.rows(Certificate)
    assert row.revocation_reason == "key_compromise"
    assert row.revoked_at == server.clock.now - timedelta(minutes=1)
    assert len(server.audit(action="revoke")) == 1


def test_an_unknown_serial_is_not_found(server: ServerHarness) -> None:
    server.enroll()
    with pytest.raises(ServiceError) as caught:
        revoke(server, 12345)
    assert caught.value.code == "certificate_not_found"
    assert all(row.revoked_at is None for row in server.rows(Certificate))


@pytest.mark.parametrize("form", ["hex", "display"])
def test_staff_may_type_the_serial_in_hex_or_as_displayed(server: ServerHarness, form: str) -> None:
    enrolled = server.enroll()
    display = format_serial(enrolled.serial)
    typed = display if form == "display" else "0x" + display.split("0x")[1].rstrip(")")
    assert revoke(server, typed).serial == str(enrolled.serial)


@pytest.mark.parametrize(("serial", "reason"), [("12", "because"), ("twelve", "unspecified")])
def test_a_bad_reason_or_serial_is_a_bad_request(
    server: ServerHarness, serial: str, reason: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        revocation.revoke(server.host, serial, reason=reason, actor="staff:test")
    assert caught.value.code == "bad_request"


def test_the_ca_chain_endpoint(server: ServerHarness) -> None:
    response = server.client.get("/api/v1/ca")
    assert response.status_code == 200
    (ca,) = x509.load_pem_x509_certificates(response.json()["chain_pem"].encode())
    assert ca.public_bytes(serialization.Encoding.DER) == server.host.ca.cert.public_bytes(
        serialization.Encoding.DER
    )
