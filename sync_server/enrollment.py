"""Enrollment slips: the one-time code customer service hands a customer for their first (or a
fresh) certificate — issued, checked before the other prompts, and taken by apply.

A customer has at most one current slip; issuing a new one supersedes the old. The rules are pure
functions over the slip with ``now`` passed in: ``slip_refusal`` (is the slip still usable),
``wrong_code_refusal`` (what a wrong code costs) and ``already_valid_refusal`` (a slip is only for
a customer without a valid certificate). ``take_enrollment_code`` applies them in the caller's
write transaction; a refusal is recorded and committed before it is raised (``audit.attempt``),
so a wrong code stays counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from sync_server import audit
from sync_server.certificate_views import latest_certificate_value, status_of
from sync_server.credentials import (
    hash_enrollment_code,
    new_enrollment_code,
    normalize_enrollment_code,
    same_hash,
)
from sync_server.customers import Principal, require_customer
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.models import Certificate, EnrollmentCode
from sync_server.prepared import execute

# -- pure rules -------------------------------------------------------------------------


def slip_refusal(slip: EnrollmentCode, *, now: datetime, max_attempts: int) -> ServiceError | None:
    """Why the customer's current slip cannot be used at ``now``, or ``None`` if it can.

    Used, locked (``max_attempts`` wrong codes) or expired: whatever code is typed, the slip
    is dead, so the code is not even compared (and a try is not counted).
    """
    if slip.used_at is not None:
        return _code_used()
    if slip.failed_attempts >= max_attempts:
        return _code_locked()
    if slip.expires_at <= now:
        return ServiceError(
            ErrorCode.ENROLLMENT_CODE_EXPIRED,
            "The enrollment code has expired: ask the branch for a new slip.",
        )
    return None


def wrong_code_refusal(tries_left: int) -> ServiceError:
    """The answer to a wrong code on a usable slip, with ``tries_left`` after this one."""
    if tries_left <= 0:
        return _code_locked()
    return ServiceError(
        ErrorCode.ENROLLMENT_CODE_INVALID,
        f"The enrollment code is wrong (codes are case-sensitive); {tries_left} tries left.",
        tries_left=tries_left,
    )


def already_valid_refusal(
    latest: Certificate | None, *, now: datetime, window: timedelta
) -> ServiceError | None:
    """Apply (and the slip check before it) is only for a customer without a valid certificate."""
    if status_of(latest, now=now, window=window).is_valid:
        return ServiceError(
            ErrorCode.CERTIFICATE_ALREADY_VALID,
            "You already hold a valid certificate; renew it or re-download it instead.",
        )
    return None


def _code_locked() -> ServiceError:
    return ServiceError(
        ErrorCode.ENROLLMENT_CODE_LOCKED,
        "Too many wrong enrollment codes: ask the branch for a new slip.",
    )


def _code_used() -> ServiceError:
    return ServiceError(ErrorCode.ENROLLMENT_CODE_USED, "This enrollment code was already used.")


# -- issuing a slip ---------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollmentSlip:
    customer_id: str
    code: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"EnrollmentSlip(customer_id={self.customer_id!r}, code='*****')"


def issue_enrollment_code(host: Host, customer_id: str, *, actor: str) -> EnrollmentSlip:
    """A new slip for the customer; any earlier slip stops working."""
    now = host.now()
    code = new_enrollment_code()
    expires_at = now + host.settings.enrollment_code_lifetime
    with host.db.write() as session:
        require_customer(session, customer_id)
        session.exec(
            update(EnrollmentCode)
            .where(col(EnrollmentCode.customer_id) == customer_id)
            .where(col(EnrollmentCode.superseded_at).is_(None))
            .values(superseded_at=now)
        )
        session.add(
            EnrollmentCode(
                customer_id=customer_id,
                code_hash=hash_enrollment_code(customer_id, code),
                created_at=now,
                expires_at=expires_at,
                issued_by=actor,
            )
        )
        audit.record(
            session, now=now, action="enrollment_code_issue", actor=actor, customer_id=customer_id
        )
    return EnrollmentSlip(customer_id, code, expires_at)


# -- taking a slip ----------------------------------------------------------------------

# Built once, like ``certificate_views._LATEST_CERTIFICATE``: every apply reads the current slip,
# as a Core row made a plain value (no ORM object to load, track or refresh).
_SLIP_COLUMNS = tuple(EnrollmentCode.__table__.columns)  # type: ignore[attr-defined]
_CURRENT_SLIP: Select[Any] = (
    sql_select(*_SLIP_COLUMNS)
    .where(col(EnrollmentCode.customer_id) == bindparam("customer_id"))
    .where(col(EnrollmentCode.superseded_at).is_(None))
    .order_by(col(EnrollmentCode.id).desc())
    .limit(1)
)
_SLIP_BY_ID: Select[Any] = sql_select(*_SLIP_COLUMNS).where(
    col(EnrollmentCode.id) == bindparam("slip_id")
)
# The writes of every apply, built once too (building an UPDATE cost more Python time than
# running it): count a try while the slip has tries left, take it back, use the slip up.
_COUNT_TRY = (
    update(EnrollmentCode)
    .where(col(EnrollmentCode.id) == bindparam("slip_id"))
    .where(col(EnrollmentCode.used_at).is_(None))
    .where(col(EnrollmentCode.superseded_at).is_(None))
    .where(col(EnrollmentCode.failed_attempts) < bindparam("max_attempts"))
    .values(failed_attempts=EnrollmentCode.failed_attempts + 1)
    .returning(col(EnrollmentCode.failed_attempts))
)
_TAKE_BACK_TRY = (
    update(EnrollmentCode)
    .where(col(EnrollmentCode.id) == bindparam("slip_id"))
    .values(failed_attempts=EnrollmentCode.failed_attempts - 1)
)
_USE_UP = (
    update(EnrollmentCode)
    .where(col(EnrollmentCode.id) == bindparam("slip_id"))
    .where(col(EnrollmentCode.used_at).is_(None))
    .where(col(EnrollmentCode.superseded_at).is_(None))
    .values(used_at=bindparam("now"))
    .returning(col(EnrollmentCode.used_at))
)
_SUPERSEDED_SLIP_HASHES = (
    select(EnrollmentCode.code_hash)
    .where(EnrollmentCode.customer_id == bindparam("customer_id"))
    .where(col(EnrollmentCode.superseded_at).is_not(None))
)


def take_enrollment_code(
    host: Host, session: Session, customer_id: str, typed: str, now: datetime, *, consume: bool
) -> EnrollmentCode | ServiceError:
    """The customer's current slip if ``typed`` is its code and the slip is usable (used up
    when ``consume``), or the refusal to record and raise.

    The try is counted *before* the code is compared, by one conditional ``UPDATE`` that only
    succeeds while the slip has tries left; a right code (or the code of a slip that a newer
    one replaced: no guess, the customer holds an old slip, and is told so) takes it back. So
    however many tries arrive at once, on however many instances, at most
    ``enrollment_max_attempts`` codes are ever compared for a slip. On PostgreSQL the UPDATE's
    row lock holds the slip until this transaction ends; SQLite serializes writers anyway.
    """
    max_attempts = host.settings.enrollment_max_attempts
    # Core statements on the transaction's connection, taken once (every statement here is Core).
    slip = _slip(session, _CURRENT_SLIP, {"customer_id": customer_id})
    typed_hash = hash_enrollment_code(customer_id, normalize_enrollment_code(typed))
    if slip is None:
        return _superseded(session, customer_id, typed_hash) or _no_slip_code_invalid()
    refusal = slip_refusal(slip, now=now, max_attempts=max_attempts)
    if refusal is not None:
        return refusal
    counted = execute(
        session, _COUNT_TRY, {"slip_id": slip.id, "max_attempts": max_attempts}
    ).first()
    if counted is None:  # a racing try (maybe on another instance) took the last one, or the slip
        slip = _slip(session, _SLIP_BY_ID, {"slip_id": slip.id})
        assert slip is not None  # slips are never deleted
        refusal = slip_refusal(slip, now=now, max_attempts=max_attempts)
        return refusal or (_superseded_refusal() if slip.superseded_at else _code_used())
    (failed_attempts,) = counted
    if same_hash(typed_hash, slip.code_hash):
        _take_back_try(session, slip)
        if consume:
            used = execute(session, _USE_UP, {"slip_id": slip.id, "now": now}).first()
            if used is None:  # cannot happen while the count's row lock is held
                return _code_used()
            # What RETURNING says, instead of re-reading the row.
            values = {c.name: getattr(slip, c.name) for c in _SLIP_COLUMNS}
            slip = EnrollmentCode.model_construct(**{**values, "used_at": used[0]})
        return slip
    superseded = _superseded(session, customer_id, typed_hash)
    if superseded is not None:
        _take_back_try(session, slip)
        return superseded
    return wrong_code_refusal(max_attempts - failed_attempts)


def _slip(session: Session, query: Select[Any], params: dict[str, Any]) -> EnrollmentCode | None:
    """The slip ``query`` finds, as a plain value (not tracked: only the UPDATEs write)."""
    row = execute(session, query, params).first()
    return None if row is None else EnrollmentCode.model_construct(**row._asdict())


def _take_back_try(session: Session, slip: EnrollmentCode) -> None:
    execute(session, _TAKE_BACK_TRY, {"slip_id": slip.id})


def _superseded(session: Session, customer_id: str, typed_hash: str) -> ServiceError | None:
    """``enrollment_code_superseded`` if ``typed_hash`` is the code of a replaced slip."""
    superseded = execute(session, _SUPERSEDED_SLIP_HASHES, {"customer_id": customer_id})
    if any(same_hash(typed_hash, old) for (old,) in superseded):
        return _superseded_refusal()
    return None


def _superseded_refusal() -> ServiceError:
    return ServiceError(
        ErrorCode.ENROLLMENT_CODE_SUPERSEDED,
        "A newer enrollment slip was issued to you: use the code on the newest slip.",
    )


def _no_slip_code_invalid() -> ServiceError:
    return ServiceError(
        ErrorCode.ENROLLMENT_CODE_INVALID,
        "The enrollment code is wrong; check the slip (codes are case-sensitive).",
    )


def take_slip(
    host: Host,
    current: audit.Attempt,
    customer_id: str,
    typed: str,
    now: datetime,
    *,
    consume: bool,
) -> tuple[Certificate | None, EnrollmentCode | None]:
    """Inside an apply or a check: the customer's latest certificate and their slip for
    ``typed`` (``take_enrollment_code``), or no slip with ``current.refusal`` set — a valid
    certificate already held, or what is wrong with the code."""
    latest = latest_certificate_value(current.session, customer_id)
    current.refusal = already_valid_refusal(latest, now=now, window=host.settings.renewal_window)
    if current.refusal is not None:
        return latest, None
    taken = take_enrollment_code(host, current.session, customer_id, typed, now, consume=consume)
    if isinstance(taken, ServiceError):
        current.refusal = taken
        return latest, None
    return latest, taken


def check_enrollment_code(host: Host, principal: Principal, *, enrollment_code: str) -> datetime:
    """Check the code on the customer's slip before the other prompts; returns its expiry.

    The slip is not used up. Everything else is as at apply: a wrong code counts as a try (the
    same counter), a superseded slip is told apart, and every check is in the audit trail.
    """
    customer_id = principal.customer_id
    now = host.now()
    expires_at: datetime | None = None
    with audit.attempt(
        host.db,
        now=now,
        action="enrollment_check",
        customer_id=customer_id,
        device_kind=principal.device_kind,
    ) as current:
        _, slip = take_slip(host, current, customer_id, enrollment_code, now, consume=False)
        if slip is not None:
            expires_at = slip.expires_at
    assert expires_at is not None
    return expires_at
