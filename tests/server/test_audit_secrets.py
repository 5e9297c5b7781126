"""The audit trail records every change and every refused one-time attempt, and no secret ever
appears in it, in a log line (at DEBUG, SQL included) or in the database file."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sync_client.keys import build_csr_pem, generate_private_key, sign
from sync_client.orders import build_order, sign_order
from sync_client.protocol import renewal_message
from sync_server import redownloads, revocation
from sync_server.credentials import format_enrollment_code
from sync_server.models import AuditEvent
from sync_server.settings import Secret

from .harness import PASSWORD, ServerHarness

CA_PASSPHRASE = "ca-passphrase-that-must-never-show"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"certificate_validity": timedelta(days=20), "ca_key_passphrase": Secret(CA_PASSPHRASE)}


def full_flow(server: ServerHarness) -> list[str]:
    """Every host-side function once, the refusals of one-time secrets too; returns the secrets."""
    host = server.host
    customer_id = server.add_customer()
    stale_code = server.enrollment_code(customer_id)
    code = server.enrollment_code(customer_id)
    pc = server.login(customer_id)
    phone = server.login(customer_id, kind="mobile")
    key = generate_private_key("ec")
    csr = build_csr_pem(key, customer_id)

    def apply(typed: str) -> int:
        body = {"enrollment_code": typed, "terms_accepted": True, "csr_pem": csr}
        return server.post("/certificate/apply", pc.token, body).status_code

    assert apply(stale_code) == 403  # superseded: not a guess, not counted
    assert apply(format_enrollment_code(code).swapcase()) == 403
    assert pc.check_enrollment_code(format_enrollment_code(code)) > server.clock.now
    assert apply(format_enrollment_code(code)) == 201
    assert apply(code) == 409  # now valid: already_valid, the slip untouched by this

    # Renewal: one refused proof, then the real one.
    chal = pc.renewal_challenge()
    new_key = generate_private_key("ec")
    new_csr = build_csr_pem(new_key, customer_id)
    der = x509.load_pem_x509_csr(new_csr.encode()).public_bytes(serialization.Encoding.DER)
    message = renewal_message(chal.challenge_id, chal.nonce, hashlib.sha256(der).hexdigest())
    body = {
        "challenge_id": chal.challenge_id,
        "csr_pem": new_csr,
        "signature": base64.b64encode(sign(new_key, message)).decode(),
    }
    assert server.post("/certificate/renew", pc.token, body).status_code == 403
    renewed = pc.renew(
        challenge_id=chal.challenge_id, csr_pem=new_csr, signature=sign(key, message)
    )

    # Re-download: refused, opened, used.
    assert server.post("/certificate/redownload", pc.token, {}).status_code == 403
    redownloads.open_redownload(host, customer_id, actor="staff:alice")
    pc.redownload()

    # Relay: open, upload, a stranger's claim, the real claim.
    slot = pc.open_slot(certificate_fingerprint=renewed.certificate.fingerprint_sha256)
    relay_key = os.urandom(32)
    pc.upload_ciphertext(slot.slot_id, b"\x02" + os.urandom(1999))
    stranger_id = server.add_customer(password="stranger's password")
    stranger = server.login(stranger_id, kind="mobile", password="stranger's password")
    headers = {"Authorization": f"Bearer {stranger.token}"}
    claim = f"/api/v1/relay/slots/{slot.slot_id}/claim"
    assert server.client.post(claim, headers=headers).status_code == 403
    phone.claim_slot(slot.slot_id)

    # An order, a failed login, revocation, logout.
    signed = sign_order(
        new_key,
        build_order(symbol="2330", side="buy", quantity=1, price="600", now=server.clock.now),
        audience=host.order_audience,
        customer_id=customer_id,
        serial=renewed.certificate.serial,
    )
    phone.place_order(signed)
    wrong = {"customer_id": customer_id, "password": "an-attackers-guess", "device_kind": "pc"}
    assert server.client.post("/api/v1/sessions", json=wrong).status_code == 401
    revocation.revoke(
        host, str(renewed.certificate.serial), reason="key_compromise", actor="staff:alice"
    )
    tokens = [pc.token, phone.token, stranger.token]
    pc.logout()
    return [
        PASSWORD,
        "stranger's password",
        "an-attackers-guess",
        stale_code,
        code,
        format_enrollment_code(code),
        *[t for t in tokens if t],
        CA_PASSPHRASE,
        base64.urlsafe_b64encode(relay_key).rstrip(b"=").decode(),
    ]


def test_every_change_and_refused_attempt_is_audited_without_secrets(
    server: ServerHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy holds its loggers at WARNING unless told: open them, so that every statement
    # and its parameters are in the captured logs too.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    secrets = full_flow(server)

    events = server.audit()
    trail = [(e.action, e.outcome) for e in events]
    expected = [
        ("customer_add", "ok"),
        ("enrollment_code_issue", "ok"),
        ("enrollment_code_issue", "ok"),
        ("login", "ok"),
        ("login", "ok"),
        ("apply", "enrollment_code_superseded"),
        ("apply", "enrollment_code_invalid"),
        ("enrollment_check", "ok"),
        ("apply", "ok"),
        ("apply", "certificate_already_valid"),
        ("renewal_challenge", "ok"),
        ("renew", "proof_invalid"),
        ("renew", "ok"),
        ("redownload", "redownload_not_open"),
        ("redownload_open", "ok"),
        ("redownload", "ok"),
        ("relay_open", "ok"),
        ("relay_upload", "ok"),
        ("customer_add", "ok"),
        ("login", "ok"),
        ("relay_claim", "slot_wrong_customer"),
        ("relay_claim", "ok"),
        ("order", "ok"),
        ("login", "login_failed"),
        ("revoke", "ok"),
        ("logout", "ok"),
    ]
    assert trail == expected
    for event in events:
        assert event.at == server.clock.now
        assert event.actor in ("customer", "staff:test", "staff:alice")
        if event.actor == "customer":
            assert event.device_kind in ("pc", "mobile") and event.customer_id

    columns = [str(v) for e in events for v in e.model_dump().values() if v is not None]
    assert len(secrets) >= 10
    for secret in secrets:
        assert all(secret not in value for value in columns), "a secret is in the audit trail"

    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert {"httpx2", "sqlalchemy.engine.Engine"} <= {r.name for r in caplog.records}
    for secret in secrets:
        assert secret not in logged, "a secret is in the logs"

    database = b"".join(p.read_bytes() for p in server.settings.data_dir.glob("certsync.db*"))
    for secret in secrets:
        assert secret.encode() not in database, "a secret is in the database file"


def test_the_ca_key_is_encrypted_on_disk_with_the_passphrase(server: ServerHarness) -> None:
    key_file = server.settings.data_dir / "ca.key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    pem = key_file.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert CA_PASSPHRASE.encode() not in pem
    serialization.load_pem_private_key(pem, CA_PASSPHRASE.encode())


def test_audit_rows_are_only_ever_added(server: ServerHarness) -> None:
    server.enroll()
    before = [e.model_dump() for e in server.audit()]
    server.enroll()
    after = [e.model_dump() for e in server.audit()]
    assert after[: len(before)] == before and len(after) > len(before)
    assert all(isinstance(e, AuditEvent) for e in server.audit())
