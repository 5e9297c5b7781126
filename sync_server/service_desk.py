"""Customer service's look-ups: find customers, see one customer's whole state, unlock one.

Read-only except ``unlock``, which is audited like every change staff make. The states shown
are the ones the rules decide (``status_of``, ``slip_refusal``), computed at ``now`` by the
same pure functions, so the counter sees what the customer is about to be told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from sync_client.protocol import StatusCode, format_time
from sync_server import audit, login_throttle
from sync_server.certificate_views import latest_certificate, status_of
from sync_server.customers import require_customer
from sync_server.enrollment import slip_refusal
from sync_server.errors import ErrorCode
from sync_server.host import Host
from sync_server.models import Certificate, Customer, EnrollmentCode, LoginSession

MAX_LISTED = 200


@dataclass(frozen=True)
class CustomerSummary:
    id: str
    name: str
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None  # the latest login delay some source has, while it lasts
    failed_logins: int  # from all sources, in their current windows (login_throttle)
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
        ErrorCode.ENROLLMENT_CODE_USED: "used",
        ErrorCode.ENROLLMENT_CODE_LOCKED: "locked",
        ErrorCode.ENROLLMENT_CODE_EXPIRED: "expired",
    }[refusal.code if refusal else None]
    return SlipState(
        state,
        issued_at=slip.created_at,
        expires_at=slip.expires_at,
        used_at=slip.used_at,
        tries_left=max(0, max_attempts - slip.failed_attempts) if state == "valid" else None,
    )


def _summary(session: Session, customer: Customer, host: Host, now: datetime) -> CustomerSummary:
    return CustomerSummary(
        id=customer.id,
        name=customer.name,
        created_at=customer.created_at,
        last_login_at=customer.last_login_at,
        locked_until=login_throttle.account_blocked_until(session, customer.id, now),
        failed_logins=login_throttle.account_failures(session, host.settings, customer.id, now),
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
        query = query.where(col(Customer.id).in_(login_throttle.blocked_accounts(now)))
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
        customer = require_customer(session, customer_id)
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
    """End the login delays of this account, from every source and the global ceiling, and
    forget its failures, without touching the password or the sessions; ``True`` if some
    source had to wait. A source's own limit (many accounts tried from one address) stays.
    """
    now = host.now()
    with host.db.write() as session:
        require_customer(session, customer_id)
        until = login_throttle.account_blocked_until(session, customer_id, now)
        cleared = login_throttle.clear_account(session, customer_id)
        audit.record(
            session,
            now=now,
            action="unlock",
            outcome="ok" if until is not None else "not_locked",
            actor=actor,
            customer_id=customer_id,
            detail=(
                f"counters_cleared={cleared}"
                + (f" was_locked_until={format_time(until)}" if until is not None else "")
            ),
        )
    return until is not None
