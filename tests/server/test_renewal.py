"""Renewal (function 4): the window, the challenge, proof of the current key, idempotent retry."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sync_client.keys import PrivateKey, build_csr_pem, generate_private_key, sign
from sync_client.protocol import format_time, renewal_message
from sync_server import revocation
from sync_server.models import Certificate, RenewalChallenge

from .harness import PASSWORD, Enrolled, ServerHarness, refused


def spki_der(certificate_or_key: x509.Certificate | PrivateKey) -> bytes:
    """The public key's SubjectPublicKeyInfo, for comparing keys of any type."""
    public = certificate_or_key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


VALIDITY = timedelta(days=20)  # shorter than the 30-day window: every certificate can renew


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"certificate_validity": VALIDITY}


def csr_digest(csr_pem: str) -> str:
    der = x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def challenge(server: ServerHarness, enrolled: Enrolled) -> dict[str, Any]:
    response = server.post("/certificate/renewal-challenge", enrolled.sdk.token)
    assert response.status_code == 201, response.json()
    return response.json()


def renew(
    server: ServerHarness,
    enrolled: Enrolled,
    chal: dict[str, Any],
    *,
    new_key: PrivateKey | None = None,
    signer: PrivateKey | None = None,
    csr_pem: str | None = None,
    token: str | None = None,
):
    """POST a renewal: a CSR for ``new_key`` and a proof signed by ``signer`` (the old key)."""
    if csr_pem is None:
        csr_pem = build_csr_pem(new_key or generate_private_key("ec"), enrolled.customer_id)
    message = renewal_message(chal["challenge_id"], chal["nonce"], csr_digest(csr_pem))
    body = {
        "challenge_id": chal["challenge_id"],
        "csr_pem": csr_pem,
        "signature": base64.b64encode(sign(signer or enrolled.key, message)).decode(),
    }
    return server.post("/certificate/renew", token or enrolled.sdk.token, body)


def certificate_rows(server: ServerHarness, enrolled: Enrolled) -> list[Certificate]:
    return server.rows(Certificate, customer_id=enrolled.customer_id)


# -- the allowed path ---------------------------------------------------------------------


def test_a_fresh_certificate_is_inside_the_window_and_login_reminds(server: ServerHarness) -> None:
    enrolled = server.enroll()
    assert enrolled.sdk.status().code == 31
    reminder = server.sdk().login(enrolled.customer_id, PASSWORD, device_kind="pc").renewal_reminder
    assert reminder == {
        "not_after": format_time(enrolled.issued.certificate.not_after),
        "serial_display": enrolled.issued.certificate.serial_display,
    }


def test_renewal_extends_by_one_validity_and_supersedes_the_old(
    server: ServerHarness, rsa_keys: list[PrivateKey]
) -> None:
    enrolled = server.enroll(key=rsa_keys[0])
    old = enrolled.issued.certificate
    server.clock.advance(hours=3)
    chal = challenge(server, enrolled)
    assert chal["expires_at"] == format_time(server.clock.now + server.settings.challenge_lifetime)
    assert len(base64.b64decode(chal["nonce"])) == 32
    new_key = rsa_keys[1]
    response = renew(server, enrolled, chal, new_key=new_key)
    assert response.status_code == 201
    new = response.json()["certificate"]
    cert = x509.load_pem_x509_certificate(new["cert_pem"].encode())
    assert spki_der(cert) == spki_der(new_key)
    assert cert.not_valid_before_utc == server.clock.now
    assert cert.not_valid_after_utc == old.not_after + VALIDITY
    assert new["serial"] != str(old.serial)

    (old_row,) = server.rows(Certificate, serial=str(old.serial))
    assert old_row.superseded_at == server.clock.now and old_row.superseded_by == new["serial"]
    status = enrolled.sdk.status()
    assert status.certificate is not None and str(status.certificate.serial) == new["serial"]
    assert status.code == 0  # 40 days left now: outside the 30-day window again
    (event,) = [e for e in server.audit(action="renew")]
    assert event.outcome == "ok" and new["serial"] in event.detail


def test_a_retry_with_the_same_challenge_and_csr_returns_the_same_certificate(
    server: ServerHarness,
) -> None:
    enrolled = server.enroll()
    chal = challenge(server, enrolled)
    csr = build_csr_pem(generate_private_key("ec"), enrolled.customer_id)
    first = renew(server, enrolled, chal, csr_pem=csr)
    again = renew(server, enrolled, chal, csr_pem=csr)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["certificate"]["serial"] == again.json()["certificate"]["serial"]
    assert len(certificate_rows(server, enrolled)) == 2
    assert [e.outcome for e in server.audit(action="renew")] == ["ok", "ok_retry"]


@pytest.mark.parametrize("settings_overrides", [{}])  # the default one-year validity
def test_renewal_before_the_window_tells_when_it_opens(server: ServerHarness) -> None:
    enrolled = server.enroll()
    opens = enrolled.issued.certificate.not_after - server.settings.renewal_window
    body = refused(
        server.post("/certificate/renewal-challenge", enrolled.sdk.token), "renewal_not_open"
    )
    assert body["details"] == {"opens_at": format_time(opens)}
    assert server.rows(RenewalChallenge) == []
    # A day before, still closed; at the opening, a challenge.
    server.clock.now = opens - timedelta(days=1)
    sdk = server.login(enrolled.customer_id)
    refused(server.post("/certificate/renewal-challenge", sdk.token), "renewal_not_open")
    server.clock.now = opens
    sdk = server.login(enrolled.customer_id)
    response = server.post("/certificate/renewal-challenge", sdk.token)
    assert response.status_code == 201
    enrolled = Enrolled(enrolled.customer_id, sdk, enrolled.key, enrolled.issued)
    renewed = renew(server, enrolled, response.json())
    assert renewed.status_code == 201
    not_after = x509.load_pem_x509_certificate(
        renewed.json()["certificate"]["cert_pem"].encode()
    ).not_valid_after_utc
    assert not_after == enrolled.issued.certificate.not_after + timedelta(days=365)
    assert sdk.status().code == 0


def test_without_a_certificate_there_is_nothing_to_renew(server: ServerHarness) -> None:
    sdk = server.login(server.add_customer())
    refused(server.post("/certificate/renewal-challenge", sdk.token), "no_certificate")


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_an_expired_or_revoked_certificate_cannot_be_renewed(
    server: ServerHarness, state: str
) -> None:
    enrolled = server.enroll()
    if state == "expired":
        server.clock.advance(VALIDITY)
    else:
        revocation.revoke(server.host, str(enrolled.serial), reason="unspecified", actor="s:t")
    sdk = server.login(enrolled.customer_id)
    body = refused(server.post("/certificate/renewal-challenge", sdk.token), "renewal_not_open")
    assert "details" not in body


# -- the challenge's refusals ---------------------------------------------------------------


def test_the_same_challenge_with_another_csr_is_used(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = challenge(server, enrolled)
    assert renew(server, enrolled, chal).status_code == 201
    refused(renew(server, enrolled, chal), "challenge_used")
    assert len(certificate_rows(server, enrolled)) == 2


def test_an_expired_challenge_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = challenge(server, enrolled)
    server.clock.advance(server.settings.challenge_lifetime)
    refused(renew(server, enrolled, chal), "challenge_expired")
    assert len(certificate_rows(server, enrolled)) == 1
    assert server.audit(action="renew")[-1].outcome == "challenge_expired"


def test_another_customers_challenge_is_invalid(server: ServerHarness) -> None:
    alice, bob = server.enroll(), server.enroll()
    alices = challenge(server, alice)
    # Bob signs properly with his own key, but the challenge is Alice's.
    refused(renew(server, bob, alices), "challenge_invalid")
    unknown = {**alices, "challenge_id": "A" * 22}
    refused(renew(server, alice, unknown), "challenge_invalid")
    # Neither refusal spent it: Alice can still use it.
    assert renew(server, alice, alices).status_code == 201
    assert len(certificate_rows(server, bob)) == 1


def test_a_proof_by_another_key_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = challenge(server, enrolled)
    new_key = generate_private_key("ec")
    # Signed by the new key (not the current one): no proof of the right to renew.
    refused(renew(server, enrolled, chal, new_key=new_key, signer=new_key), "proof_invalid")
    assert len(certificate_rows(server, enrolled)) == 1
    (row,) = server.rows(RenewalChallenge)
    assert row.used_at is None
    assert renew(server, enrolled, chal, new_key=new_key).status_code == 201


def test_a_proof_over_another_csr_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = challenge(server, enrolled)
    signed_for = build_csr_pem(generate_private_key("ec"), enrolled.customer_id)
    sent = build_csr_pem(generate_private_key("ec"), enrolled.customer_id)
    message = renewal_message(chal["challenge_id"], chal["nonce"], csr_digest(signed_for))
    body = {
        "challenge_id": chal["challenge_id"],
        "csr_pem": sent,
        "signature": base64.b64encode(sign(enrolled.key, message)).decode(),
    }
    refused(server.post("/certificate/renew", enrolled.sdk.token, body), "proof_invalid")


def test_a_challenge_for_a_certificate_revoked_since_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = challenge(server, enrolled)
    revocation.revoke(server.host, str(enrolled.serial), reason="key_compromise", actor="s:t")
    refused(renew(server, enrolled, chal), "renewal_not_open")
    assert len(certificate_rows(server, enrolled)) == 1


def test_the_renewal_csr_is_vetted_like_an_application(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = challenge(server, enrolled)
    stranger = build_csr_pem(generate_private_key("ec"), server.new_customer_id())
    refused(renew(server, enrolled, chal, csr_pem=stranger), "csr_subject_mismatch")
    garbage = {"challenge_id": chal["challenge_id"], "csr_pem": "garbage", "signature": "AAAA"}
    refused(server.post("/certificate/renew", enrolled.sdk.token, garbage), "csr_invalid")
    bad_signature = {
        "challenge_id": chal["challenge_id"],
        "csr_pem": build_csr_pem(generate_private_key("ec"), enrolled.customer_id),
        "signature": "not base64!",
    }
    refused(server.post("/certificate/renew", enrolled.sdk.token, bad_signature), "bad_request")
    refused(server.post("/certificate/renew", enrolled.sdk.token, {}), "bad_request")
    assert renew(server, enrolled, chal).status_code == 201


def test_renewal_through_the_sdk(server: ServerHarness) -> None:
    enrolled = server.enroll()
    chal = enrolled.sdk.renewal_challenge()
    csr = build_csr_pem(generate_private_key("ec"), enrolled.customer_id)
    proof = sign(enrolled.key, renewal_message(chal.challenge_id, chal.nonce, csr_digest(csr)))
    issued = enrolled.sdk.renew(challenge_id=chal.challenge_id, csr_pem=csr, signature=proof)
    assert issued.certificate.not_after == enrolled.issued.certificate.not_after + VALIDITY
