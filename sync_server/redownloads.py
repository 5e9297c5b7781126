"""Re-download: customer service opens a one-time grant, and the customer's PC fetches the
current certificate again (say, after moving to a new PC without a backup).

A customer has at most one current grant; opening another supersedes it. ``grant_refusal`` is
the rule (pure, ``now`` passed in): a grant is usable once, until it expires. The grant is used
up by a conditional UPDATE, so two racing requests cannot both win it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from sync_server import audit
from sync_server.certificate_views import latest_certificate
from sync_server.customers import Principal, require_customer
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.models import Certificate, RedownloadGrant


def grant_refusal(
    grant: RedownloadGrant | None, cert: Certificate | None, *, now: datetime
) -> ServiceError | None:
    """Why the customer's current ``grant`` cannot fetch ``cert`` (their latest certificate)
    at ``now``, or ``None`` if it can."""
    if grant is None or cert is None:
        return ServiceError(
            ErrorCode.REDOWNLOAD_NOT_OPEN,
            "Re-download is not open for you: ask customer service to open it.",
        )
    if grant.used_at is not None:
        return ServiceError(
            ErrorCode.REDOWNLOAD_USED,
            "The re-download was already used: ask customer service again.",
        )
    if grant.expires_at <= now:
        return ServiceError(
            ErrorCode.REDOWNLOAD_EXPIRED,
            "The re-download has expired: ask customer service again.",
        )
    return None


def open_redownload(host: Host, customer_id: str, *, actor: str) -> datetime:
    """Open a re-download for the customer (any earlier grant stops working); its expiry."""
    now = host.now()
    expires_at = now + host.settings.redownload_lifetime
    with host.db.write() as session:
        require_customer(session, customer_id)
        if latest_certificate(session, customer_id) is None:
            raise ServiceError(
                ErrorCode.NO_CERTIFICATE, f"The customer {customer_id} has no certificate."
            )
        session.exec(
            update(RedownloadGrant)
            .where(col(RedownloadGrant.customer_id) == customer_id)
            .where(col(RedownloadGrant.superseded_at).is_(None))
            .values(superseded_at=now)
        )
        session.add(
            RedownloadGrant(
                customer_id=customer_id, opened_by=actor, created_at=now, expires_at=expires_at
            )
        )
        audit.record(
            session, now=now, action="redownload_open", actor=actor, customer_id=customer_id
        )
    return expires_at


def redownload(host: Host, principal: Principal) -> Certificate:
    """The customer's latest certificate, against their open grant (used up here)."""
    customer_id = principal.customer_id
    now = host.now()
    cert: Certificate | None = None
    with audit.attempt(
        host.db,
        now=now,
        action="redownload",
        customer_id=customer_id,
        device_kind=principal.device_kind,
    ) as current:
        session = current.session
        grant = session.exec(
            select(RedownloadGrant)
            .where(RedownloadGrant.customer_id == customer_id)
            .where(col(RedownloadGrant.superseded_at).is_(None))
            .order_by(col(RedownloadGrant.id).desc())
            .limit(1)
        ).first()
        cert = latest_certificate(session, customer_id)
        current.refusal = grant_refusal(grant, cert, now=now)
        if current.refusal is None:
            assert grant is not None and cert is not None
            taken = session.exec(
                update(RedownloadGrant)
                .where(col(RedownloadGrant.id) == grant.id)
                .where(col(RedownloadGrant.used_at).is_(None))
                .values(used_at=now)
            )
            if taken.rowcount != 1:
                current.refusal = ServiceError(
                    ErrorCode.REDOWNLOAD_USED, "The re-download was already used."
                )
            else:
                current.detail = f"serial {cert.serial}"
    assert cert is not None
    return cert
