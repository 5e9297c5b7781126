"""The audit trail: one append-only row per host-side change or refused attempt at a secret.

Callers pass what happened, never a secret: no password, code, token, key or ciphertext.
Each record is also tallied for the metrics, which count it once its transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from sync_server.db import EVENTS_KEY, Event
from sync_server.models import AuditEvent


def record(
    session: Session,
    *,
    now: datetime,
    action: str,
    outcome: str = "ok",
    actor: str = "customer",
    customer_id: str | None = None,
    device_kind: str | None = None,
    detail: str = "",
) -> None:
    session.add(
        AuditEvent(
            at=now,
            actor=actor,
            customer_id=customer_id,
            device_kind=device_kind,
            action=action,
            outcome=outcome,
            detail=detail[:500],
        )
    )
    tally(session, action, outcome)


def tally(session: Session, action: str, outcome: str = "ok", count: int = 1) -> None:
    """Count ``count`` events for the metrics when this transaction commits, without a row
    (for what one audit row stands for many of, such as slots expired by a prune)."""
    events: list[Event] = session.info.setdefault(EVENTS_KEY, [])
    events.append((action, outcome, count))


def list_events(
    session: Session, *, customer_id: str | None = None, limit: int = 200
) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if customer_id is not None:
        query = query.where(AuditEvent.customer_id == customer_id)
    return list(reversed(session.exec(query).all()))
