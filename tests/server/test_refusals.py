"""``audit.attempt`` and ``audit.refuse``: a refusal is recorded and committed, then raised, so the
trace (and a counted try) survives; an unexpected error still rolls everything back."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import col

from sync_client.codes import ErrorCode
from sync_server import audit
from sync_server.errors import ServiceError
from sync_server.models import Customer

from .harness import ServerHarness


def test_a_refused_attempt_keeps_its_writes_and_its_trace(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    now = server.clock.now
    attempt = audit.attempt(
        server.host.db, now=now, action="login", customer_id=customer_id, device_kind="pc"
    )
    with pytest.raises(ServiceError) as caught, attempt as current:
        current.session.exec(
            update(Customer)
            .where(col(Customer.id) == customer_id)
            .values(failed_logins=Customer.failed_logins + 1)
        )
        current.detail = "one wrong password"
        current.refusal = ServiceError(ErrorCode.LOGIN_FAILED, "Wrong.")
    assert caught.value.code is ErrorCode.LOGIN_FAILED
    (row,) = server.rows(Customer, id=customer_id)
    assert row.failed_logins == 1
    (event,) = server.audit(action="login")
    assert (event.outcome, event.customer_id, event.device_kind, event.detail) == (
        "login_failed",
        customer_id,
        "pc",
        "one wrong password",
    )


def test_a_successful_attempt_records_its_outcome_and_raises_nothing(
    server: ServerHarness,
) -> None:
    with audit.attempt(server.host.db, now=server.clock.now, action="renew") as current:
        current.outcome = "ok_retry"
    (event,) = server.audit(action="renew")
    assert event.outcome == "ok_retry"


def test_an_unexpected_error_in_the_attempt_rolls_back_unrecorded(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    attempt = audit.attempt(server.host.db, now=server.clock.now, action="login")
    with pytest.raises(RuntimeError), attempt as current:
        current.session.exec(
            update(Customer).where(col(Customer.id) == customer_id).values(failed_logins=3)
        )
        raise RuntimeError("the database went away")
    (row,) = server.rows(Customer, id=customer_id)
    assert row.failed_logins == 0
    assert server.audit(action="login") == []


def test_refuse_records_the_code_then_raises(server: ServerHarness) -> None:
    refusal = ServiceError(ErrorCode.ACCOUNT_LOCKED, "Locked.", locked_until="2026-01-01")
    with pytest.raises(ServiceError) as caught:
        audit.refuse(server.host.db, refusal, now=server.clock.now, action="login")
    assert caught.value is refusal
    assert [e.outcome for e in server.audit(action="login")] == ["account_locked"]
