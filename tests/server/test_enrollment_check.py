"""Checking the enrollment slip before the other prompts: the same rule and counter as apply,
nothing used up, and a superseded slip told apart from a mistyped code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync_client.errors import ServerRefused
from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.protocol import format_time
from sync_server import enrollment, revocation
from sync_server.credentials import format_enrollment_code
from sync_server.models import AuditEvent, Certificate, EnrollmentCode

from .harness import ServerHarness, refused

WRONG = "ACDEFHJKLMNP"


def the_slip(server: ServerHarness, customer_id: str) -> EnrollmentCode:
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id, superseded_at=None)
    return slip


def check(server: ServerHarness, token: str | None, code: object):
    return server.post("/enrollment/check", token, {"enrollment_code": code})


def apply(server: ServerHarness, token: str | None, customer_id: str, code: str):
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    body = {"enrollment_code": code, "terms_accepted": True, "csr_pem": csr}
    return server.post("/certificate/apply", token, body)


def wrong_for(code: str) -> str:
    return WRONG if code != WRONG else "MNPQRUVWXYad"


@pytest.fixture
def customer(server: ServerHarness) -> tuple[str, str, str]:
    """A customer with a fresh slip and a PC session: (customer_id, code, token)."""
    customer_id = server.add_customer()
    code = server.enrollment_code(customer_id)
    return customer_id, code, server.login_token(customer_id) or ""


def checks(server: ServerHarness, customer_id: str) -> list[AuditEvent]:
    return server.audit(action="enrollment_check", customer_id=customer_id)


# -- the pure rule --------------------------------------------------------------------------


def slip(**fields: Any) -> EnrollmentCode:
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    values: dict[str, Any] = {
        "customer_id": "A123456789",
        "code_hash": "0" * 64,
        "created_at": now,
        "expires_at": now + timedelta(days=7),
        "issued_by": "staff:test",
    }
    return EnrollmentCode(**{**values, **fields})


def test_the_slip_rule_is_a_pure_function_of_the_slip_and_now() -> None:
    fresh = slip()
    expiry = fresh.expires_at
    rule = enrollment.slip_refusal
    assert rule(fresh, now=expiry - timedelta(seconds=1), max_attempts=5) is None
    expired = rule(fresh, now=expiry, max_attempts=5)
    assert expired is not None and expired.code == "enrollment_code_expired"
    assert rule(slip(failed_attempts=4), now=expiry - timedelta(days=1), max_attempts=5) is None
    locked = rule(slip(failed_attempts=5), now=expiry - timedelta(days=1), max_attempts=5)
    assert locked is not None and locked.code == "enrollment_code_locked"
    used = rule(slip(used_at=expiry - timedelta(days=6)), now=expiry, max_attempts=5)
    assert used is not None and used.code == "enrollment_code_used"  # used wins over expired


# -- the right code -------------------------------------------------------------------------


def test_the_right_code_is_valid_and_the_slip_still_works_for_apply(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, token = customer
    response = check(server, token, code)
    assert response.status_code == 200
    expiry = server.clock.now + server.settings.enrollment_code_lifetime
    assert response.json() == {"valid": True, "expires_at": format_time(expiry)}
    slip = the_slip(server, customer_id)
    assert (slip.used_at, slip.failed_attempts) == (None, 0)
    # Checked twice, then used: the check never spends the slip.
    assert check(server, token, format_enrollment_code(code)).status_code == 200
    assert apply(server, token, customer_id, code).status_code == 201
    assert the_slip(server, customer_id).used_at == server.clock.now
    assert [(e.outcome, e.device_kind) for e in checks(server, customer_id)] == [("ok", "pc")] * 2


def test_the_sdk_returns_the_slips_expiry(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    _, code, token = customer
    expires_at = server.sdk(token).check_enrollment_code(f" {code[:4]}-{code[4:8]} {code[8:]}")
    assert expires_at == server.clock.now + server.settings.enrollment_code_lifetime
    assert expires_at.tzinfo is not None
    with pytest.raises(ServerRefused) as caught:
        server.sdk(token).check_enrollment_code(wrong_for(code))
    assert caught.value.code == "enrollment_code_invalid"
    assert caught.value.details == {"tries_left": 4}


# -- wrong codes: one counter for check and apply -----------------------------------------------


def test_wrong_codes_at_check_and_apply_share_one_counter(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, token = customer
    wrong = wrong_for(code)
    attempts = [
        lambda: check(server, token, wrong),
        lambda: apply(server, token, customer_id, wrong),
    ] * 2
    for left, attempt in zip((4, 3, 2, 1), attempts, strict=True):
        body = refused(attempt(), "enrollment_code_invalid")
        assert body["details"] == {"tries_left": left}
        assert the_slip(server, customer_id).failed_attempts == 5 - left
    refused(check(server, token, wrong), "enrollment_code_locked")
    # Dead now, for the right code too, at either door.
    refused(check(server, token, code), "enrollment_code_locked")
    refused(apply(server, token, customer_id, code), "enrollment_code_locked")
    assert server.rows(Certificate) == []
    assert [e.outcome for e in checks(server, customer_id)] == [
        "enrollment_code_invalid",
        "enrollment_code_invalid",
        "enrollment_code_locked",
        "enrollment_code_locked",
    ]
    assert [e.outcome for e in server.audit(action="apply")] == [
        "enrollment_code_invalid",
        "enrollment_code_invalid",
        "enrollment_code_locked",
    ]
    assert the_slip(server, customer_id).failed_attempts == 5  # a dead slip counts no further
    # A new slip from the branch is checked and used as usual.
    fresh = server.enrollment_code(customer_id)
    assert check(server, token, fresh).status_code == 200
    assert apply(server, token, customer_id, fresh).status_code == 201


def test_case_counts_at_check_as_at_apply(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, token = customer
    body = refused(check(server, token, code.swapcase()), "enrollment_code_invalid")
    assert body["details"] == {"tries_left": 4}
    assert the_slip(server, customer_id).failed_attempts == 1


@pytest.mark.parametrize("settings_overrides", [{"enrollment_max_attempts": 2}])
def test_the_limit_follows_the_settings(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    _, code, token = customer
    assert refused(check(server, token, wrong_for(code)), "enrollment_code_invalid")["details"] == {
        "tries_left": 1
    }
    refused(check(server, token, wrong_for(code)), "enrollment_code_locked")


# -- superseded slips -------------------------------------------------------------------------


def test_a_superseded_slip_is_told_apart_and_not_counted(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, old_code, token = customer
    older = old_code
    old_code = server.enrollment_code(customer_id)  # a second slip...
    new_code = server.enrollment_code(customer_id)  # ...and a third: both earlier ones are dead
    for stale in (older, old_code, format_enrollment_code(old_code)):
        refused(check(server, token, stale), "enrollment_code_superseded")
        refused(apply(server, token, customer_id, stale), "enrollment_code_superseded")
    assert the_slip(server, customer_id).failed_attempts == 0
    assert {e.outcome for e in checks(server, customer_id)} == {"enrollment_code_superseded"}
    assert {e.outcome for e in server.audit(action="apply")} == {"enrollment_code_superseded"}
    # The first mistyped code is still the first try.
    wrong = wrong_for(new_code)
    assert refused(check(server, token, wrong), "enrollment_code_invalid")["details"] == {
        "tries_left": 4
    }
    assert check(server, token, new_code).status_code == 200
    assert apply(server, token, customer_id, new_code).status_code == 201


def test_a_mistyped_old_code_is_still_a_wrong_code(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, old_code, token = customer
    server.enrollment_code(customer_id)
    refused(check(server, token, old_code.swapcase()), "enrollment_code_invalid")
    assert the_slip(server, customer_id).failed_attempts == 1


def test_another_customers_superseded_slip_is_just_wrong(server: ServerHarness) -> None:
    alice, bob = server.add_customer(), server.add_customer()
    alice_old = server.enrollment_code(alice)
    server.enrollment_code(alice)
    server.enrollment_code(bob)
    token = server.login_token(bob)
    refused(check(server, token, alice_old), "enrollment_code_invalid")
    assert the_slip(server, bob).failed_attempts == 1


def test_an_old_code_hears_that_the_current_slip_is_dead(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, old_code, _ = customer
    server.enrollment_code(customer_id)
    server.clock.advance(server.settings.enrollment_code_lifetime)
    token = server.login_token(customer_id)
    # The current slip is dead whatever is typed; that is what the customer must hear.
    refused(check(server, token, old_code), "enrollment_code_expired")


# -- the other refusals ---------------------------------------------------------------------


def test_the_check_is_refused_while_a_certificate_is_valid(server: ServerHarness) -> None:
    enrolled = server.enroll()
    code = server.enrollment_code(enrolled.customer_id)
    refused(check(server, enrolled.sdk.token, code), "certificate_already_valid")
    refused(check(server, enrolled.sdk.token, wrong_for(code)), "certificate_already_valid")
    slip = the_slip(server, enrolled.customer_id)
    assert (slip.used_at, slip.failed_attempts) == (None, 0)
    assert [e.outcome for e in checks(server, enrolled.customer_id)] == [
        "certificate_already_valid"
    ] * 2


def test_a_used_and_an_expired_slip_are_refused(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, token = customer
    first = apply(server, token, customer_id, code)
    revocation.revoke(
        server.host, first.json()["certificate"]["serial"], reason="unspecified", actor="s:t"
    )
    refused(check(server, token, code), "enrollment_code_used")
    fresh = server.enrollment_code(customer_id)
    server.clock.advance(server.settings.enrollment_code_lifetime)
    token = server.login_token(customer_id)
    refused(check(server, token, fresh), "enrollment_code_expired")
    assert the_slip(server, customer_id).failed_attempts == 0


def test_without_a_slip_every_code_is_invalid(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    token = server.login_token(customer_id)
    body = refused(check(server, token, WRONG), "enrollment_code_invalid")
    assert "details" not in body  # no slip, so no tries to count down


@pytest.mark.parametrize("code", [None, 12345, "", "x" * 65, ["ACDE"]])
def test_the_code_must_be_a_short_string(
    server: ServerHarness, customer: tuple[str, str, str], code: object
) -> None:
    customer_id, _, token = customer
    refused(check(server, token, code), "bad_request")
    assert the_slip(server, customer_id).failed_attempts == 0
    assert checks(server, customer_id) == []


def test_the_check_needs_a_pc_session(
    server: ServerHarness, customer: tuple[str, str, str]
) -> None:
    customer_id, code, _ = customer
    phone = server.login(customer_id, kind="mobile")
    refused(check(server, phone.token, code), "wrong_device_kind")
    refused(check(server, None, code), "unauthenticated")
    assert the_slip(server, customer_id).failed_attempts == 0
