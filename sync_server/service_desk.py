"""Customer service's look-ups: find customers, see one customer's whole state, unlock one.

Read-only except ``unlock``, which is audited like every change staff make. The states shown
are the ones the rules decide (``status_of``, ``slip_refusal``), computed at ``now`` by the
same pure functions, so the counter sees what the customer is about to be told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from sync_client.protocol import StatusCode
from sync_server import audit
from sync_server.certificates import latest_certificate, slip_refusal, status_of
from sync_server.errors import NotFound
from sync_server.host import Host
from sync_server.models import Certificate, Customer, EnrollmentCode, LoginSession

MAX_LISTED = 200


@dataclass(frozen=True)
class CustomerSummary:
    id: str
    name: str
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None  # only while the lock lasts
    failed_logins: int
    status: StatusCode


@dataclass(frozen=True)
class SlipState:
    """The customer's current enrollment slip: ``none``, ``valid``, ``used``, ``expired`` or
    ``locked`` (too many wrong codes)."""

    state: str
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    used_at: datetime | None = None
    tries_left: int | None = None


@dataclass(frozen=True)
class SessionInfo:
    device_kind: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class CustomerCard:
    summary: CustomerSummary
    slip: SlipState
    certificates: Sequence[Certificate]  # oldest first
    live_sessions: Sequence[SessionInfo]
    ended_sessions: int


def slip_state(slip: EnrollmentCode | None, *, now: datetime, max_attempts: int) -> SlipState:
    """What the customer's current slip is worth at ``now`` (pure)."""
    if slip is None:
        return SlipState("none")
    refusal = slip_refusal(slip, now=now, max_attempts=max_attempts)
    state = {
        None: "valid",
        "enrollment_code_used": "used",
        "enrollment_code_locked": "locked",
        "enrollment_code_expired": "expired",
    }[refusal.code if refusal else None]
    return SlipState(
        state,
        issued_at=slip.created_at,
        expires_at=slip.expires_at,
        used_at=slip.used_at,
        tries_left=max(0, max_attempts - slip.failed_attempts) if state == "valid" else None,
    )


def _summary(session: Session, customer: Customer, host: Host, now: datetime) -> CustomerSummary:
    locked = customer.locked_until
    return CustomerSummary(
        id=customer.id,
        name=customer.name,
        created_at=customer.created_at,
        last_login_at=customer.last_login_at,
        locked_until=locked if locked is not None and locked > now else None,
        failed_logins=customer.failed_logins,
        status=status_of(
            latest_certificate(session, customer.id),
            now=now,
            window=host.settings.renewal_window,
        ),
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_customers(
    host: Host, *, locked: bool = False, name: str | None = None, limit: int = MAX_LISTED
) -> tuple[list[CustomerSummary], int]:
    """Customers in ID order (at most ``limit``) and how many matched in all.

    ``locked``: only those whose login is locked now. ``name``: a part of the name, any case.
    """
    now = host.now()
    query = select(Customer)
    if locked:
        query = query.where(col(Customer.locked_until) > now)
    if name:
        query = query.where(col(Customer.name).ilike(_like(name.strip()), escape="\\"))
    with host.db.read() as session:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(col(Customer.id)).limit(limit)).all()
        return [_summary(session, c, host, now) for c in rows], int(total)


def customer_card(host: Host, customer_id: str) -> CustomerCard:
    """Everything customer service asks about one customer, or ``customer_not_found``."""
    now = host.now()
    with host.db.read() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer_not_found", f"There is no customer {customer_id}.")
        slip = session.exec(
            select(EnrollmentCode)
            .where(EnrollmentCode.customer_id == customer_id)
            .where(col(EnrollmentCode.superseded_at).is_(None))
            .order_by(col(EnrollmentCode.id).desc())
            .limit(1)
        ).first()
        certs = session.exec(
            select(Certificate)
            .where(Certificate.customer_id == customer_id)
            .order_by(col(Certificate.issued_at))
        ).all()
        sessions = session.exec(
            select(LoginSession).where(LoginSession.customer_id == customer_id)
        ).all()
        summary = _summary(session, customer, host, now)
    live = [s for s in sessions if s.ended_at is None and s.expires_at > now]
    return CustomerCard(
        summary=summary,
        slip=slip_state(slip, now=now, max_attempts=host.settings.enrollment_max_attempts),
        certificates=list(certs),
        live_sessions=[
            SessionInfo(s.device_kind, s.created_at, s.expires_at)
            for s in sorted(live, key=lambda s: s.created_at)
        ],
        ended_sessions=len(sessions) - len(live),
    )


def unlock(host: Host, customer_id: str, *, actor: str) -> bool:
    """End a login lock and clear the failure count; ``True`` if the account was locked."""
    now = host.now()
    with host.db.write() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer_not_found", f"There is no customer {customer_id}.")
        was_locked = customer.locked_until is not None and customer.locked_until > now
        session.exec(
            update(Customer)
            .where(col(Customer.id) == customer_id)
            .values(failed_logins=0, locked_until=None)
        )
        audit.record(
            session,
            now=now,
            action="unlock",
            outcome="ok" if was_locked else "not_locked",
            actor=actor,
            customer_id=customer_id,
        )
    return was_locked
