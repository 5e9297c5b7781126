"""The server's rules as pure functions over values, with ``now`` passed in: no database, no
clock, no app. Each says when a thing may be used and which code refuses it otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync_client.codes import ErrorCode
from sync_client.protocol import StatusCode, format_time
from sync_server.certificate_views import certificate_state, status_at, status_of
from sync_server.enrollment import already_valid_refusal, slip_refusal, wrong_code_refusal
from sync_server.errors import ServiceError
from sync_server.models import Certificate, EnrollmentCode, RedownloadGrant, RenewalChallenge
from sync_server.redownloads import grant_refusal
from sync_server.renewal import challenge_refusal, is_retry, renewal_refusal
from sync_server.revocation import parse_serial, short_serial

T0 = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
WINDOW = timedelta(days=30)
CUSTOMER = "A123456789"
DIGEST = "ab" * 32


def cert(**fields: Any) -> Certificate:
    values: dict[str, Any] = {
        "serial": "101919",
        "customer_id": CUSTOMER,
        "fingerprint_sha256": "0" * 64,
        "not_before": T0,
        "not_after": T0 + YEAR,
        "issued_at": T0,
        "issued_via": "apply",
        "cert_pem": "-----BEGIN CERTIFICATE-----",
    }
    return Certificate(**{**values, **fields})


def slip(**fields: Any) -> EnrollmentCode:
    values: dict[str, Any] = {
        "customer_id": CUSTOMER,
        "code_hash": "0" * 64,
        "created_at": T0,
        "expires_at": T0 + timedelta(days=7),
        "issued_by": "staff:test",
    }
    return EnrollmentCode(**{**values, **fields})


def challenge(**fields: Any) -> RenewalChallenge:
    values: dict[str, Any] = {
        "id": "c" * 22,
        "customer_id": CUSTOMER,
        "certificate_serial": "101919",
        "nonce_b64": "bm9uY2U=",
        "created_at": T0 + YEAR - WINDOW,
        "expires_at": T0 + YEAR - WINDOW + timedelta(minutes=5),
    }
    return RenewalChallenge(**{**values, **fields})


def grant(**fields: Any) -> RedownloadGrant:
    values: dict[str, Any] = {
        "customer_id": CUSTOMER,
        "opened_by": "staff:test",
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=24),
    }
    return RedownloadGrant(**{**values, **fields})


def code_of(refusal: ServiceError | None) -> ErrorCode | None:
    return refusal.code if refusal is not None else None


# -- certificate status ---------------------------------------------------------------------


def test_the_status_follows_the_clock_through_a_certificates_life() -> None:
    end = T0 + YEAR
    assert status_of(None, now=T0, window=WINDOW) == StatusCode.NONE
    assert status_of(cert(), now=end - WINDOW - timedelta(seconds=1), window=WINDOW) == (
        StatusCode.VALID
    )
    assert status_of(cert(), now=end - WINDOW, window=WINDOW) == StatusCode.EXPIRING
    assert status_of(cert(), now=end, window=WINDOW) == StatusCode.EXPIRED
    revoked = cert(revoked_at=T0 + timedelta(days=1))
    assert status_of(revoked, now=T0 + timedelta(days=2), window=WINDOW) == StatusCode.REVOKED


def test_a_replaced_certificate_says_superseded_whatever_its_dates() -> None:
    replaced = cert(superseded_at=T0 + timedelta(days=10), superseded_by="2")
    assert certificate_state(replaced, now=T0 + timedelta(days=11), window=WINDOW) == "superseded"
    assert certificate_state(cert(), now=T0 + YEAR - WINDOW, window=WINDOW) == "expiring"


def test_renewal_opens_is_only_told_while_the_certificate_is_valid() -> None:
    current = cert()
    valid = status_at(CUSTOMER, current, now=T0, window=WINDOW)
    assert valid.renewal_opens_at == T0 + YEAR - WINDOW
    expired = status_at(CUSTOMER, current, now=T0 + YEAR, window=WINDOW)
    assert (expired.code, expired.renewal_opens_at) == (StatusCode.EXPIRED, None)


# -- enrollment slips -----------------------------------------------------------------------


def test_a_slip_is_usable_until_used_locked_or_expired() -> None:
    expiry = T0 + timedelta(days=7)
    assert slip_refusal(slip(), now=expiry - timedelta(seconds=1), max_attempts=5) is None
    assert code_of(slip_refusal(slip(), now=expiry, max_attempts=5)) == (
        ErrorCode.ENROLLMENT_CODE_EXPIRED
    )
    four = slip(failed_attempts=4)
    assert slip_refusal(four, now=T0, max_attempts=5) is None
    five = slip(failed_attempts=5)
    assert code_of(slip_refusal(five, now=T0, max_attempts=5)) == ErrorCode.ENROLLMENT_CODE_LOCKED
    used = slip(used_at=T0 + timedelta(days=1), failed_attempts=5)
    # Used wins over locked and expired: the customer is told the slip did its job.
    assert code_of(slip_refusal(used, now=expiry, max_attempts=5)) == ErrorCode.ENROLLMENT_CODE_USED


def test_a_wrong_code_counts_down_then_locks() -> None:
    refusal = wrong_code_refusal(2)
    assert (refusal.code, refusal.details) == (ErrorCode.ENROLLMENT_CODE_INVALID, {"tries_left": 2})
    assert refusal.status == 403
    assert wrong_code_refusal(0).code == ErrorCode.ENROLLMENT_CODE_LOCKED


def test_a_slip_is_only_for_a_customer_without_a_valid_certificate() -> None:
    assert already_valid_refusal(None, now=T0, window=WINDOW) is None
    assert code_of(already_valid_refusal(cert(), now=T0, window=WINDOW)) == (
        ErrorCode.CERTIFICATE_ALREADY_VALID
    )
    # Expiring still counts as valid: renew it instead.
    expiring = already_valid_refusal(cert(), now=T0 + YEAR - WINDOW, window=WINDOW)
    assert code_of(expiring) == ErrorCode.CERTIFICATE_ALREADY_VALID
    assert already_valid_refusal(cert(), now=T0 + YEAR, window=WINDOW) is None
    revoked = cert(revoked_at=T0 + timedelta(days=1))
    assert already_valid_refusal(revoked, now=T0 + timedelta(days=2), window=WINDOW) is None


# -- renewal --------------------------------------------------------------------------------


def test_renewal_is_open_only_inside_the_window() -> None:
    opens = T0 + YEAR - WINDOW
    early = renewal_refusal(cert(), now=opens - timedelta(seconds=1), window=WINDOW)
    assert early is not None and early.code == ErrorCode.RENEWAL_NOT_OPEN
    assert early.details == {"opens_at": format_time(opens)}
    assert renewal_refusal(cert(), now=opens, window=WINDOW) is None
    late = renewal_refusal(cert(), now=T0 + YEAR, window=WINDOW)
    assert late is not None and late.code == ErrorCode.RENEWAL_NOT_OPEN and not late.details
    assert code_of(renewal_refusal(None, now=opens, window=WINDOW)) == ErrorCode.NO_CERTIFICATE


def test_a_revoked_or_replaced_certificate_is_not_renewed() -> None:
    opens = T0 + YEAR - WINDOW
    revoked = cert(revoked_at=opens)
    assert code_of(renewal_refusal(revoked, now=opens, window=WINDOW)) == (
        ErrorCode.RENEWAL_NOT_OPEN
    )
    replaced = cert(superseded_at=opens, superseded_by="2")
    assert code_of(renewal_refusal(replaced, now=opens, window=WINDOW)) == (
        ErrorCode.RENEWAL_NOT_OPEN
    )


def test_a_challenge_is_answered_once_before_it_expires() -> None:
    fresh = challenge()
    old = cert()
    asked = fresh.created_at
    ok = challenge_refusal(fresh, old, customer_id=CUSTOMER, csr_digest=DIGEST, now=asked)
    assert ok is None and not is_retry(fresh, DIGEST)
    late = challenge_refusal(
        fresh, old, customer_id=CUSTOMER, csr_digest=DIGEST, now=fresh.expires_at
    )
    assert code_of(late) == ErrorCode.CHALLENGE_EXPIRED


@pytest.mark.parametrize(
    ("found", "customer_id"), [(False, CUSTOMER), (True, "B123456780"), (True, None)]
)
def test_an_unknown_or_foreign_challenge_is_invalid(found: bool, customer_id: str | None) -> None:
    old = cert() if customer_id is not None else None
    refusal = challenge_refusal(
        challenge() if found else None,
        old,
        customer_id=customer_id or CUSTOMER,
        csr_digest=DIGEST,
        now=T0,
    )
    assert code_of(refusal) == ErrorCode.CHALLENGE_INVALID


def test_a_used_challenge_takes_only_a_retry_of_the_same_csr() -> None:
    done = challenge(used_at=T0 + YEAR - WINDOW, csr_sha256=DIGEST, issued_serial="2")
    later = done.expires_at + timedelta(hours=1)  # a retry is honoured even after expiry
    assert challenge_refusal(done, cert(), customer_id=CUSTOMER, csr_digest=DIGEST, now=later) is (
        None
    )
    assert is_retry(done, DIGEST)
    other = challenge_refusal(done, cert(), customer_id=CUSTOMER, csr_digest="cd" * 32, now=later)
    assert code_of(other) == ErrorCode.CHALLENGE_USED
    # Used but nothing issued (the race was lost): not a retry.
    lost = challenge(used_at=T0 + YEAR - WINDOW, csr_sha256=DIGEST)
    assert not is_retry(lost, DIGEST)
    refusal = challenge_refusal(lost, cert(), customer_id=CUSTOMER, csr_digest=DIGEST, now=later)
    assert code_of(refusal) == ErrorCode.CHALLENGE_USED


# -- re-download ----------------------------------------------------------------------------


def test_a_redownload_grant_is_usable_once_until_it_expires() -> None:
    open_grant = grant()
    current = cert()
    assert grant_refusal(open_grant, current, now=open_grant.expires_at - timedelta(seconds=1)) is (
        None
    )
    assert code_of(grant_refusal(open_grant, current, now=open_grant.expires_at)) == (
        ErrorCode.REDOWNLOAD_EXPIRED
    )
    used = grant(used_at=T0 + timedelta(hours=1))
    assert code_of(grant_refusal(used, current, now=T0 + timedelta(hours=2))) == (
        ErrorCode.REDOWNLOAD_USED
    )
    assert code_of(grant_refusal(None, current, now=T0)) == ErrorCode.REDOWNLOAD_NOT_OPEN
    assert code_of(grant_refusal(open_grant, None, now=T0)) == ErrorCode.REDOWNLOAD_NOT_OPEN


# -- serials as staff type them -------------------------------------------------------------


def test_serials_are_read_in_every_form_staff_type() -> None:
    assert parse_serial("101919") == "101919"
    assert parse_serial("0x018E1F") == "101919"
    assert parse_serial("101919 (0x018E1F)") == "101919"
    assert short_serial("018e1f") == "018E1F"
    assert short_serial("…018E1F") == "018E1F"
    assert short_serial("12345") is None
    with pytest.raises(ServiceError) as caught:
        parse_serial("not a serial")
    assert caught.value.code == ErrorCode.BAD_REQUEST
