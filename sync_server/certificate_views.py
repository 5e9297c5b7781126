"""Certificate status: the status code a customer's latest certificate has at ``now``, the
status every route that needs one reads, and the JSON view of a certificate the admin CLI prints
(the HTTP answers are the wire models', built in ``answers``).

``status_of`` is the rule (pure, ``now`` and the renewal window passed in); everything else
reads the latest certificate and applies it. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from sync_client.protocol import StatusCode
from sync_server.credentials import hash_token
from sync_server.customers import require_live
from sync_server.host import Host
from sync_server.models import Certificate, LoginSession
from sync_server.prepared import execute

# -- the rule ---------------------------------------------------------------------------


def status_of(cert: Certificate | None, *, now: datetime, window: timedelta) -> StatusCode:
    """The status code of a customer whose latest certificate is ``cert``, at ``now``.

    ``window`` is the renewal window: a certificate that ends within it is ``expiring``.
    """
    if cert is None:
        return StatusCode.NONE
    if cert.revoked_at is not None:
        return StatusCode.REVOKED
    if cert.not_after <= now:
        return StatusCode.EXPIRED
    if cert.not_after - window <= now:
        return StatusCode.EXPIRING
    return StatusCode.VALID


def certificate_state(cert: Certificate, *, now: datetime, window: timedelta) -> str:
    """What a certificate object's ``status`` says: its status label, or ``superseded`` once
    an apply or a renewal replaced it."""
    if cert.superseded_at:
        return "superseded"
    return status_of(cert, now=now, window=window).label


# -- reading ----------------------------------------------------------------------------

# Built once: status, apply, renewal and re-download all run it, and building a SELECT costs
# more Python time than SQLite takes to answer it.
_LATEST_CERTIFICATE = (
    select(Certificate)
    .where(Certificate.customer_id == bindparam("customer_id"))
    .order_by(col(Certificate.issued_at).desc(), col(Certificate.not_after).desc())
    .limit(1)
)


def latest_certificate(session: Session, customer_id: str) -> Certificate | None:
    """The customer's most recently issued certificate, whatever its state."""
    return session.exec(_LATEST_CERTIFICATE, params={"customer_id": customer_id}).first()


def latest_certificate_value(session: Session, customer_id: str) -> Certificate | None:
    """``latest_certificate`` as a plain value read with Core (apply's transaction): cheaper,
    and not tracked, so a change to it is written only by an explicit ``UPDATE``."""
    row = execute(session, _LATEST_CERTIFICATE_ROW, {"customer_id": customer_id}).first()
    return None if row is None else certificate_value(row)


def certificate_value(columns: Sequence[Any]) -> Certificate:
    """A certificate from the values of its table's columns, in the table's order (a row of
    ``_LATEST_CERTIFICATE_ROW``, or its tail in ``_CALLER_STATUS``): a plain value that
    nothing tracks and nothing will write back."""
    return Certificate.model_construct(**dict(zip(CERTIFICATE_COLUMN_NAMES, columns, strict=True)))


@dataclass(frozen=True)
class Status:
    customer_id: str
    code: StatusCode
    certificate: Certificate | None
    renewal_opens_at: datetime | None


def status_at(
    customer_id: str, cert: Certificate | None, *, now: datetime, window: timedelta
) -> Status:
    """The customer's status with ``cert`` their latest certificate (pure)."""
    code = status_of(cert, now=now, window=window)
    opens = cert.not_after - window if cert is not None and code.is_valid else None
    return Status(customer_id, code, cert, opens)


def get_status(host: Host, customer_id: str) -> Status:
    """The customer's status, read with one Core ``SELECT`` (the certificate a plain value)."""
    row = host.db.read_row(_LATEST_CERTIFICATE_ROW, {"customer_id": customer_id})
    cert = None if row is None else certificate_value(row)
    return status_at(customer_id, cert, now=host.now(), window=host.settings.renewal_window)


# The busiest call: the session and the latest certificate in one Core query, not two, and
# no ORM objects loaded (each ORM round trip, and loading its objects, cost more Python time
# than SQLite takes to answer).
_CERTIFICATE_COLUMNS = tuple(Certificate.__table__.columns)  # type: ignore[attr-defined]
CERTIFICATE_COLUMN_NAMES = tuple(column.name for column in _CERTIFICATE_COLUMNS)
_LATEST_CERTIFICATE_ROW: Select[Any] = (
    sql_select(*_CERTIFICATE_COLUMNS)
    .where(col(Certificate.customer_id) == bindparam("customer_id"))
    .order_by(col(Certificate.issued_at).desc(), col(Certificate.not_after).desc())
    .limit(1)
)
_CALLER_STATUS: Select[Any] = (
    sql_select(
        col(LoginSession.customer_id).label("session_customer_id"),
        col(LoginSession.device_kind),
        col(LoginSession.expires_at).label("session_expires_at"),
        col(LoginSession.ended_at),
        *_CERTIFICATE_COLUMNS,
    )
    .select_from(LoginSession)
    .outerjoin(Certificate, col(Certificate.customer_id) == col(LoginSession.customer_id))
    .where(col(LoginSession.token_hash) == bindparam("token_hash"))
    .order_by(col(Certificate.issued_at).desc(), col(Certificate.not_after).desc())
    .limit(1)
)
_CALLER_COLUMNS = 4  # the session's columns come first, then the certificate's


@dataclass(frozen=True)
class _CallerSession:
    customer_id: str
    device_kind: str
    expires_at: datetime
    ended_at: datetime | None


def status_for_token(host: Host, token: str) -> Status:
    """The status of the customer behind a bearer token, or ``unauthenticated``."""
    row = host.db.read_row(_CALLER_STATUS, {"token_hash": hash_token(token)})
    now = host.now()
    caller = None
    if row is not None:
        caller = _CallerSession(
            row.session_customer_id, row.device_kind, row.session_expires_at, row.ended_at
        )
    login = require_live(caller, now)
    cert = None
    if row is not None and row.serial is not None:
        cert = certificate_value(row[_CALLER_COLUMNS:])
    return status_at(login.customer_id, cert, now=now, window=host.settings.renewal_window)


def list_certificates(host: Host, customer_id: str | None = None) -> list[Certificate]:
    """Every certificate (of one customer, or all), oldest first."""
    with host.db.read() as session:
        query = select(Certificate).order_by(col(Certificate.issued_at))
        if customer_id is not None:
            query = query.where(Certificate.customer_id == customer_id)
        return list(session.exec(query).all())
