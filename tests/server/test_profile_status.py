"""The issued certificate, checked by independent means, and the status codes over time."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.testclient import TestClient

from sync_client.keys import PrivateKey, generate_private_key
from sync_client.protocol import format_serial, format_time
from sync_server import revocation
from sync_server.app import create_app
from sync_server.ca import CA
from sync_server.host import open_host

from .harness import ServerHarness
from .openssl_cli import verify


@pytest.fixture(params=["ec", "rsa"])
def key(request: pytest.FixtureRequest, rsa_keys: list[PrivateKey]) -> PrivateKey:
    return generate_private_key("ec") if request.param == "ec" else rsa_keys[1]


def test_the_issued_profile(server: ServerHarness, key: PrivateKey) -> None:
    enrolled = server.enroll(key=key)
    cert = enrolled.issued.certificate.load()
    ca_cert = server.host.ca.cert

    assert cert.version == x509.Version.v3
    assert cert.subject == x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, enrolled.customer_id)]
    )
    assert cert.issuer == ca_cert.subject
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.serial_number > 0 and cert.serial_number.bit_length() >= 64
    assert cert.not_valid_before_utc == server.clock.now
    assert (
        cert.not_valid_after_utc - cert.not_valid_before_utc == server.settings.certificate_validity
    )

    ext = cert.extensions
    key_usage = ext.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature and key_usage.value.content_commitment
    assert not any(
        getattr(key_usage.value, flag)
        for flag in (
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        )
    )
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(eku.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    basic = ext.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca is False
    ski = ext.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki.value.key_identifier == ca_ski.value.digest
    # No CRL distribution point unless a public URL is configured.
    with pytest.raises(x509.ExtensionNotFound):
        ext.get_extension_for_class(x509.CRLDistributionPoints)
    cert.verify_directly_issued_by(ca_cert)


def test_openssl_verifies_the_certificate_against_the_chain(
    server: ServerHarness, key: PrivateKey, tmp_path: Path
) -> None:
    issued = server.enroll(key=key).issued
    leaf, chain = issued.certificate.load(), issued.chain()
    result = verify(
        tmp_path / "ok", leaf, trusted=chain, options=["-x509_strict", "-purpose", "sslclient"]
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b": OK" in result.stdout

    # Negative control: another CA, freshly made, must not vouch for it.
    stranger = CA.generate(common_name=server.host.ca.cert.subject.rfc4514_string())
    result = verify(tmp_path / "foreign", leaf, trusted=[stranger.cert])
    assert result.returncode != 0


def test_a_public_url_puts_the_crl_in_every_certificate(
    tmp_path: Path, server: ServerHarness
) -> None:
    settings = server.settings.replace(public_url="https://certsync.example")
    host = open_host(settings, clock=server.clock)
    try:
        app = create_app(host)
        with TestClient(app) as client:
            harness = ServerHarness(host, app, client, server.clock)
            cert = harness.enroll().issued.certificate.load()
    finally:
        host.db.dispose()
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [p.full_name for p in points] == [
        [x509.UniformResourceIdentifier("https://certsync.example/api/v1/crl")]
    ]


def test_the_serial_display_and_certificate_object(server: ServerHarness) -> None:
    enrolled = server.enroll()
    status = enrolled.sdk.status()
    assert status.certificate is not None
    display = status.certificate.serial_display
    match = re.fullmatch(r"(\d+) \(0x([0-9A-F]+)\)", display)
    assert match is not None
    assert int(match[1]) == int(match[2], 16) == status.certificate.serial
    assert len(match[2]) % 2 == 0
    assert display == format_serial(status.certificate.serial)
    assert format_serial(101919) == "101919 (0x018E1F)"
    assert status.certificate.fingerprint_sha256 == (
        status.certificate.load().fingerprint(hashes.SHA256()).hex()
    )


def test_status_codes_over_a_certificates_life(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    sdk = server.login(customer_id)
    clock, window = server.clock, server.settings.renewal_window

    none = sdk.status()
    assert (none.code, none.label, none.certificate, none.renewal_opens_at) == (
        40,
        "none",
        None,
        None,
    )
    assert none.chain_pem == server.host.ca.chain_pem

    enrolled = server.enroll(customer_id)
    cert = enrolled.issued.certificate
    valid = sdk.status()
    assert (valid.code, valid.label) == (0, "valid")
    assert valid.certificate is not None and valid.certificate.serial == cert.serial
    assert valid.renewal_opens_at == cert.not_after - window
    assert valid.certificate.status == "valid"

    clock.now = cert.not_after - window - timedelta(seconds=1)
    sdk = server.login(customer_id)
    assert sdk.status().code == 0
    clock.advance(seconds=1)
    sdk = server.login(customer_id)
    expiring = sdk.status()
    assert (expiring.code, expiring.label) == (31, "expiring")
    assert expiring.renewal_opens_at == cert.not_after - window

    clock.now = cert.not_after - timedelta(seconds=1)
    sdk = server.login(customer_id)
    assert sdk.status().code == 31
    clock.advance(seconds=1)
    sdk = server.login(customer_id)
    expired = sdk.status()
    assert (expired.code, expired.label, expired.renewal_opens_at) == (41, "expired", None)
    assert expired.certificate is not None and expired.certificate.serial == cert.serial

    again = server.enroll(customer_id)
    revocation.revoke(server.host, str(again.serial), reason="key_compromise", actor="staff:t")
    revoked = sdk.status()
    assert (revoked.code, revoked.label, revoked.renewal_opens_at) == (42, "revoked", None)
    assert revoked.certificate is not None and revoked.certificate.serial == again.serial


def test_status_json_times_are_rfc3339(server: ServerHarness) -> None:
    enrolled = server.enroll()
    response = server.client.get(
        "/api/v1/certificate/status", headers={"Authorization": f"Bearer {enrolled.sdk.token}"}
    )
    body = response.json()
    assert set(body) == {
        "customer_id",
        "code",
        "label",
        "certificate",
        "renewal_opens_at",
        "chain_pem",
    }
    cert = body["certificate"]
    assert cert["not_before"] == format_time(server.clock.now)
    for value in (cert["not_before"], cert["not_after"], body["renewal_opens_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value)
