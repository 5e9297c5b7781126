"""Enrollment slips and online application (function 2): every rule and every refusal."""

from __future__ import annotations

import base64
import math
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from sync_client.keys import PrivateKey, build_csr_pem, generate_private_key
from sync_server import enrollment, revocation
from sync_server.credentials import (
    CODE_ALPHABET,
    CODE_LENGTH,
    format_enrollment_code,
    new_enrollment_code,
)
from sync_server.models import Certificate, EnrollmentCode

from .harness import ServerHarness, national_id, refused

# Characters read or written as one another (0/O, 1/I/l, 2/Z, 5/S, 8/B): a slip uses none.
LOOK_ALIKES = "0Oo1Iil2Zz5Ss8B6Gb9gqTckpuvwxy"


def apply(server: ServerHarness, token: str | None, code: object, csr: object, terms=True):
    body = {"enrollment_code": code, "terms_accepted": terms, "csr_pem": csr}
    return server.post("/certificate/apply", token, body)


def csr_of(key: Any, *names: x509.NameAttribute, algorithm: Any = None) -> str:
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(list(names)))
    if algorithm is None and not isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm = hashes.SHA256()
    csr = builder.sign(key, algorithm)
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def cn(value: str) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.COMMON_NAME, value)


def der_to_csr_pem(der: bytes) -> str:
    b64 = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{b64}\n-----END CERTIFICATE REQUEST-----\n"


def csr_der(csr_pem: str) -> bytes:
    return x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(serialization.Encoding.DER)


def the_slip(server: ServerHarness, customer_id: str) -> EnrollmentCode:
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id, superseded_at=None)
    return slip


@pytest.fixture
def customer(server: ServerHarness) -> tuple[str, str, str]:
    """A customer with a fresh slip and a PC session: (customer_id, code, token)."""
    customer_id = server.add_customer()
    code = server.enrollment_code(customer_id)
    return customer_id, code, server.login_token(customer_id) or ""


# -- the codes themselves -----------------------------------------------------------------


def test_the_code_alphabet_has_no_look_alikes_and_enough_entropy() -> None:
    assert not set(LOOK_ALIKES) & set(CODE_ALPHABET)
    assert len(set(CODE_ALPHABET)) == len(CODE_ALPHABET)
    assert CODE_ALPHABET.isascii() and CODE_ALPHABET.isalnum()
    assert math.log2(len(CODE_ALPHABET) ** CODE_LENGTH) >= 50
    codes = {new_enrollment_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)


def test_a_slip_is_stored_hashed(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    code = server.enrollment_code(customer_id)
    slip = the_slip(server, customer_id)
    assert all(code not in str(value) for value in slip.model_dump().values())
    database = b"".join(p.read_bytes() for p in server.settings.data_dir.glob("certsync.db*"))
    assert code.encode() not in database


def test_a_slip_expires_after_its_lifetime_by_default_seven_days(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    slip = enrollment.issue_enrollment_code(server.host, customer_id, actor="staff:test")
    assert slip.expires_at == server.clock.now + timedelta(days=7)
    assert slip.code not in repr(slip)


# -- apply: the allowed path --------------------------------------------------------------


def test_apply_issues_a_certificate(server: ServerHarness, customer: tuple[str, str, str]) -> None:
    customer_id, code, token = customer
    key = generate_private_key("ec")
    response = apply(server, token, code, build_csr_pem(key, customer_id))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"certificate", "chain_pem"}
    cert = body["certificate"]
    assert cert["customer_id"] == cert["subject_cn"] == customer_id
    assert cert["status"] == "valid"
    issued = x509.load_pem_x509_certificate(cert["cert_pem"].encode())
    assert issued.public_key() == key.public_key()
    assert str(issued.serial_number) == cert["serial"]
    assert issued.fingerprint(hashes.SHA256()).hex() == cert["fingerprint_sha256"]
    assert body["chain_pem"] == server.host.ca.chain_pem
    slip = the_slip(server, customer_id)
    assert slip.used_at == server.clock.now
    (event,) = server.audit(action="apply")
    assert (event.outcome, event.device_kind) == ("ok", "pc")
    assert cert["serial"] in event.detail


def test_apply_with_an_rsa_key(
    server: ServerHarness, customer: tuple[str, str, str], rsa_keys: list[PrivateKey]
) -> None:
    customer_id, code, token = customer
    response = apply(server, token, code, build_csr_pem(rsa_keys[0], customer_id))
    assert response.status_code == 201
    issued = x509.load_pem_x509_certificate(response.json()["certificate"]["cert_pem"].encode())
    assert isinstance(issued.public_key(), rsa.RSAPublicKey)


@pytest.mark.parametrize("typed", ["hyphenated", "spaced"])
def test_the_printed_forms_of_a_code_are_accepted(
    server: ServerHarness, customer: tuple[str, str, str], typed: str
) -> None:
    customer_id, code, token = customer
    shown = format_enrollment_code(code) if typed == "hyphenated" else f" {code[:5]} {code[5:]} "
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    assert apply(server, token, shown, csr).status_code == 201


def test_apply_is_allowed_again_after_expiry(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, token = customer
    key = generate_private_key("ec")
    assert apply(server, token, code, build_csr_pem(key, customer_id)).status_code == 201
    server.clock.advance(server.settings.certificate_validity)
    token = server.login_token(customer_id)
    assert server.sdk(token).status().code == 41
    again = apply(
        server, token, server.enrollment_code(customer_id), build_csr_pem(key, customer_id)
    )
    assert again.status_code == 201
    assert server.sdk(token).status().code == 0


def test_apply_is_allowed_again_after_revocation(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, token = customer
    first = apply(server, token, code, build_csr_pem(generate_private_key("ec"), customer_id))
    revocation.revoke(
        server.host, first.json()["certificate"]["serial"], reason="key_compromise", actor="s:t"
    )
    server.clock.advance(minutes=1)
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    second = apply(server, token, server.enrollment_code(customer_id), csr)
    assert second.status_code == 201
    status = server.sdk(token).status()
    assert status.code == 0 and status.certificate is not None
    assert str(status.certificate.serial) == second.json()["certificate"]["serial"]
    old = server.rows(Certificate, serial=first.json()["certificate"]["serial"])[0]
    assert old.superseded_by == second.json()["certificate"]["serial"]


# -- the slip's rules -----------------------------------------------------------------------


def test_codes_are_case_sensitive(server: ServerHarness, customer: tuple[str, str, str]) -> None:
    customer_id, code, token = customer
    swapped = code.swapcase()
    assert swapped != code  # 10 characters from the alphabet: never all digits in practice
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    body = refused(apply(server, token, swapped, csr), "enrollment_code_invalid")
    assert body["details"] == {"tries_left": 4}
    assert server.rows(Certificate) == []
    assert apply(server, token, code, csr).status_code == 201


def test_a_code_is_single_use(server: ServerHarness, customer: tuple[str, str, str]) -> None:
    customer_id, code, token = customer
    first = apply(server, token, code, build_csr_pem(generate_private_key("ec"), customer_id))
    revocation.revoke(
        server.host, first.json()["certificate"]["serial"], reason="unspecified", actor="s:t"
    )
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    refused(apply(server, token, code, csr), "enrollment_code_used")
    assert len(server.rows(Certificate)) == 1
    assert [e.outcome for e in server.audit(action="apply")] == ["ok", "enrollment_code_used"]


def test_a_code_expires(server: ServerHarness, customer: tuple[str, str, str]) -> None:
    customer_id, code, token = customer
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    server.clock.advance(server.settings.enrollment_code_lifetime)
    token = server.login_token(customer_id)
    refused(apply(server, token, code, csr), "enrollment_code_expired")
    assert server.rows(Certificate) == []
    assert the_slip(server, customer_id).used_at is None


def test_a_code_works_until_just_before_it_expires(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, _ = customer
    server.clock.advance(server.settings.enrollment_code_lifetime - timedelta(seconds=1))
    token = server.login_token(customer_id)
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    assert apply(server, token, code, csr).status_code == 201


def test_five_wrong_codes_kill_the_slip(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, token = customer
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    wrong = "ACDEFGHJKL" if code != "ACDEFGHJKL" else "MNPQRTUVWX"
    for left in (4, 3, 2, 1):
        body = refused(apply(server, token, wrong, csr), "enrollment_code_invalid")
        assert body["details"]["tries_left"] == left
    refused(apply(server, token, wrong, csr), "enrollment_code_locked")
    # Even the right code is refused now, and nothing was issued.
    refused(apply(server, token, code, csr), "enrollment_code_locked")
    assert server.rows(Certificate) == []
    outcomes = [e.outcome for e in server.audit(action="apply")]
    assert outcomes == ["enrollment_code_invalid"] * 4 + ["enrollment_code_locked"] * 2
    # A new slip from the branch works.
    assert apply(server, token, server.enrollment_code(customer_id), csr).status_code == 201


def test_a_new_slip_replaces_the_old_one(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, old_code, token = customer
    new_code = server.enrollment_code(customer_id)
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    # Told apart from a mistyped code, and not counted: the customer holds an old slip.
    refused(apply(server, token, old_code, csr), "enrollment_code_superseded")
    assert the_slip(server, customer_id).failed_attempts == 0
    assert apply(server, token, new_code, csr).status_code == 201
    assert len(server.rows(EnrollmentCode, customer_id=customer_id)) == 2


def test_without_a_slip_every_code_is_invalid(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    token = server.login_token(customer_id)
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    refused(apply(server, token, "ACDEFGHJKL", csr), "enrollment_code_invalid")
    (event,) = server.audit(action="apply")
    assert event.outcome == "enrollment_code_invalid"


def test_one_customers_code_does_not_work_for_another(server: ServerHarness) -> None:
    alice, bob = server.add_customer(), server.add_customer()
    alice_code = server.enrollment_code(alice)
    server.enrollment_code(bob)
    token = server.login_token(bob)
    csr = build_csr_pem(generate_private_key("ec"), bob)
    refused(apply(server, token, alice_code, csr), "enrollment_code_invalid")
    assert the_slip(server, alice).used_at is None


# -- apply's refusals, none of which spends the slip -------------------------------------


def assert_slip_untouched(server: ServerHarness, customer_id: str) -> None:
    slip = the_slip(server, customer_id)
    assert (slip.used_at, slip.failed_attempts) == (None, 0)
    assert server.rows(Certificate) == []


@pytest.mark.parametrize("terms", [False, None, "true", 1])
def test_terms_must_be_accepted(
    server: ServerHarness, customer: tuple[str, str, str], terms: object
) -> None:
    customer_id, code, token = customer
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    refused(apply(server, token, code, csr, terms=terms), "terms_not_accepted")
    assert_slip_untouched(server, customer_id)


@pytest.mark.parametrize("code", [None, 12345, "", "x" * 65])
def test_the_code_must_be_a_short_string(
    server: ServerHarness, customer: tuple[str, str, str], code: object
) -> None:
    customer_id, _, token = customer
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    refused(apply(server, token, code, csr), "bad_request")
    assert_slip_untouched(server, customer_id)


def not_a_csr(customer_id: str) -> list[object]:
    key = generate_private_key("ec")
    name = x509.Name([cn(customer_id)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    csr = build_csr_pem(key, customer_id)
    return [
        None,
        42,
        "",
        "not a request",
        cert.public_bytes(serialization.Encoding.PEM).decode(),  # a certificate, not a CSR
        "\n".join(line for i, line in enumerate(csr.splitlines()) if i != 2),  # truncated DER
        csr + "\n" * 17000,  # over the size limit
    ]


@pytest.mark.parametrize("case", range(7))
def test_a_csr_must_be_a_pem_request(
    server: ServerHarness, customer: tuple[str, str, str], case: int
) -> None:
    customer_id, code, token = customer
    refused(apply(server, token, code, not_a_csr(customer_id)[case]), "csr_invalid")
    assert_slip_untouched(server, customer_id)


def test_a_csr_with_a_tampered_signature_is_refused(
    server: ServerHarness, customer: tuple[str, str, str], rsa_keys: list[PrivateKey]
) -> None:
    customer_id, code, token = customer
    der = bytearray(csr_der(build_csr_pem(rsa_keys[0], customer_id)))
    der[-1] ^= 0x01  # the last byte of the RSA signature
    refused(apply(server, token, code, der_to_csr_pem(bytes(der))), "csr_signature_invalid")
    assert_slip_untouched(server, customer_id)


def test_a_csr_with_a_tampered_body_is_refused(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, token = customer
    # Sign a request for another ID, then swap our ID into its body: the CN now matches,
    # only the signature can tell.
    other = national_id(9999)
    der = csr_der(build_csr_pem(generate_private_key("ec"), other))
    tampered = der.replace(other.encode(), customer_id.encode())
    assert tampered != der
    refused(apply(server, token, code, der_to_csr_pem(tampered)), "csr_signature_invalid")
    assert_slip_untouched(server, customer_id)


def subject_cases(customer_id: str) -> list[list[x509.NameAttribute]]:
    return [
        [cn(national_id(9999))],
        [cn(customer_id.lower())],
        [cn(customer_id), cn(customer_id)],
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, customer_id)],
    ]


@pytest.mark.parametrize("case", range(4))
def test_the_csr_subject_must_be_the_customer(
    server: ServerHarness, customer: tuple[str, str, str], case: int
) -> None:
    customer_id, code, token = customer
    csr = csr_of(generate_private_key("ec"), *subject_cases(customer_id)[case])
    refused(apply(server, token, code, csr), "csr_subject_mismatch")
    assert_slip_untouched(server, customer_id)


@pytest.mark.parametrize("kind", ["rsa1024", "p521", "secp256k1", "ed25519"])
def test_weak_or_unsupported_keys_are_refused(
    server: ServerHarness, customer: tuple[str, str, str], kind: str
) -> None:
    customer_id, code, token = customer
    key = {
        "rsa1024": lambda: rsa.generate_private_key(65537, 1024),  # noqa: S505 (the point)
        "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
        "secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
    }[kind]()
    refused(apply(server, token, code, csr_of(key, cn(customer_id))), "csr_key_unsupported")
    assert_slip_untouched(server, customer_id)


def test_a_p384_key_is_accepted(server: ServerHarness, customer: tuple[str, str, str]) -> None:
    customer_id, code, token = customer
    csr = csr_of(ec.generate_private_key(ec.SECP384R1()), cn(customer_id))
    assert apply(server, token, code, csr).status_code == 201


@pytest.mark.parametrize("advance_days", [0, 340])
def test_apply_is_refused_while_a_certificate_is_valid(
    server: ServerHarness, customer: tuple[str, str, str], advance_days: int
) -> None:
    customer_id, code, token = customer
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    assert apply(server, token, code, csr).status_code == 201
    new_code = server.enrollment_code(customer_id)
    server.clock.advance(days=advance_days)  # 340 days: inside the renewal window (31)
    token = server.login_token(customer_id)
    assert server.sdk(token).status().code == (0 if advance_days == 0 else 31)
    refused(apply(server, token, new_code, csr), "certificate_already_valid")
    assert len(server.rows(Certificate)) == 1
    slip = the_slip(server, customer_id)
    assert (slip.used_at, slip.failed_attempts) == (None, 0)
    assert server.audit(action="apply")[-1].outcome == "certificate_already_valid"
