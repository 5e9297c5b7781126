"""The audit trail: one append-only row per host-side change or refused attempt at a secret.

Callers pass what happened, never a secret: no password, code, token, key or ciphertext.
Each record is also tallied for the metrics, which count it once its transaction commits.

A refusal that must leave a trace (a wrong enrollment code, a spent challenge, a failed login)
is recorded and committed first, then raised — so the trace, and a counted try, survive while
the caller still gets the error. ``attempt`` (the refusal decided inside the transaction) and
``refuse`` (a refusal already known) are the one way to do that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, select

from sync_server.db import EVENTS_KEY, Database, Event
from sync_server.errors import ServiceError
from sync_server.models import AuditEvent
from sync_server.prepared import execute


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
    # One prebuilt Core INSERT on the session's connection, run at once: no ORM object to build,
    # track and flush at commit (that was some 18 % of an apply's Python time).
    execute(
        session,
        _INSERT_EVENT,
        {
            "at": now,
            "actor": actor,
            "customer_id": customer_id,
            "device_kind": device_kind,
            "action": action,
            "outcome": outcome,
            "detail": detail[:500],
        },
    )
    tally(session, action, outcome)


_INSERT_EVENT = insert(SQLModel.metadata.tables["audit_event"])


def tally(session: Session, action: str, outcome: str = "ok", count: int = 1) -> None:
    """Count ``count`` events for the metrics when this transaction commits, without a row
    (for what one audit row stands for many of, such as slots expired by a prune)."""
    events: list[Event] = session.info.setdefault(EVENTS_KEY, [])
    events.append((action, outcome, count))


@dataclass
class Attempt:
    """One audited attempt in progress: the block sets ``refusal`` to refuse, ``outcome`` for
    a success other than ``ok``, and ``detail`` for the audit row; ``attempt`` records them."""

    session: Session
    refusal: ServiceError | None = None
    outcome: str = "ok"
    detail: str = ""


@contextmanager
def attempt(
    db: Database,
    *,
    now: datetime,
    action: str,
    actor: str = "customer",
    customer_id: str | None = None,
    device_kind: str | None = None,
) -> Iterator[Attempt]:
    """A write transaction for one audited attempt, refused or not.

    The block does the work in ``attempt.session`` and, to refuse, sets ``attempt.refusal``
    instead of raising. At the end one audit row records the outcome (the refusal's code, or
    ``attempt.outcome``), the transaction commits with whatever the block wrote (a counted
    wrong guess stays counted), and only then is the refusal raised. An exception raised in the
    block rolls everything back, unrecorded, as in any write.
    """
    with db.write() as session:
        current = Attempt(session)
        yield current
        refusal = current.refusal
        record(
            session,
            now=now,
            action=action,
            outcome=refusal.code.value if refusal is not None else current.outcome,
            actor=actor,
            customer_id=customer_id,
            device_kind=device_kind,
            detail=current.detail,
        )
    if current.refusal is not None:
        raise current.refusal


def refuse(
    db: Database,
    refusal: ServiceError,
    *,
    now: datetime,
    action: str,
    actor: str = "customer",
    customer_id: str | None = None,
    device_kind: str | None = None,
) -> NoReturn:
    """Record ``refusal`` in a transaction of its own, commit, then raise it."""
    with db.write() as session:
        record(
            session,
            now=now,
            action=action,
            outcome=refusal.code.value,
            actor=actor,
            customer_id=customer_id,
            device_kind=device_kind,
        )
    raise refusal


def list_events(
    session: Session, *, customer_id: str | None = None, limit: int = 200
) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if customer_id is not None:
        query = query.where(AuditEvent.customer_id == customer_id)
    return list(reversed(session.exec(query).all()))
