"""Customers and their login sessions (the trading login the original system assumed).

Rules: the ID is a valid national ID; passwords are Argon2id hashes; a session token is 256
random bits, stored hashed, bound to a device kind, and ends at ``expires_at`` or at logout.

Wrong passwords are throttled, not punished with a lock (``login_throttle`` has the counters).
The choices, against OWASP's Authentication Cheat Sheet ("Login Throttling"/"Account Lockout":
a threshold, an observation window and a lockout duration, preferably one that grows; beware
that lockout lets an attacker deny service to a user whose ID is known; answer alike whether
the ID or the password was wrong):

- *Growing delays instead of a fixed lock.* After ``login_max_failures`` (5) failures in the
  window (``login_failure_window``, 1 hour) the next try waits ``login_delay`` (1 minute),
  doubling per failure up to ``login_lockout`` (15 minutes). Guessing stays bounded (about a
  dozen tries an hour per source and account) while nobody is shut out for long.
- *Per account and source, so a stranger locks only himself out.* The national ID is public
  knowledge, so a counter per account alone would hand anybody a switch that locks a customer
  out (issue 10). The delay above is kept per (account, source): a stranger's failures delay the
  stranger's tries, and the customer on another network, with no failures of their own, logs
  in. A source is the client's address (IPv6 by its /64, since one subscriber holds all of it).
  The customer's own source earns its own delay only from its own failures.
- *A per-source limit* (``login_source_max_failures``, 100 an hour): one source trying many
  accounts — a password spray — is throttled as a source, for every ID, not the accounts.
- *A global ceiling per account, much higher* (``login_account_max_failures``, 50 an hour):
  OWASP wants the counter tied to the account so that many addresses cannot guess without
  bound. Each (account, source) window feeds it at most its first 5 failures, so one source
  can never reach it; only ten or more sources together can, and then every source waits
  (the documented price of bounding a distributed guess; customer service's
  ``service_desk.unlock`` and the customer's own correct login clear it).
- *Counted before the hash.* The attempt is reserved as a failure in one locked write before
  Argon2 runs and forgiven on success, so ten simultaneous tries can never be hashed where the
  counters allow five, on SQLite or on several PostgreSQL instances.
- *Unknown and known IDs answer alike*: the same counters (kept for any valid ID, no customer
  needed), the same codes and details (``login_failed`` with ``tries_left``, ``account_locked``
  with ``locked_until``), and the same cost: an unknown ID is verified against a dummy hash
  made with the host's own KDF parameters. Only the audit trail, which staff read, tells them
  apart. No CAPTCHA: the clients are a CLI and a phone app, and the delays already bound it.
- The customer is told how many tries are left before a delay starts (``tries_left``); the
  audit shows every failure, every throttled try (with the scope and until when) and every
  unlock, with the source, never the password.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, Protocol, TypeVar

from sqlalchemy import bindparam, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from sync_client.errors import InvalidNationalId
from sync_client.national_id import normalize_national_id
from sync_client.protocol import format_time
from sync_server import audit, login_throttle
from sync_server.credentials import (
    hash_password,
    hash_token,
    new_token,
    verify_password,
)
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.models import Customer, LoginSession

DEVICE_KINDS = ("pc", "mobile")
MAX_PASSWORD_LENGTH = 256


@dataclass(frozen=True)
class Principal:
    """Who is calling: the customer and the kind of device their session was opened on."""

    customer_id: str
    device_kind: str


@dataclass(frozen=True)
class NewSession:
    token: str
    customer_id: str
    device_kind: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"NewSession(customer_id={self.customer_id!r}, device_kind={self.device_kind!r})"


def parse_customer_id(raw: str) -> str:
    """A national ID from the wire or the command line, or ``invalid_national_id``."""
    try:
        return normalize_national_id(raw)
    except InvalidNationalId as exc:
        raise ServiceError(ErrorCode.INVALID_NATIONAL_ID, exc.message) from None


def require_customer(session: Session, customer_id: str) -> Customer:
    """The customer with this ID, or ``customer_not_found``."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise ServiceError(ErrorCode.CUSTOMER_NOT_FOUND, f"There is no customer {customer_id}.")
    return customer


def _hash_login_password(host: Host, password: str) -> str:
    if not 8 <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ServiceError(ErrorCode.BAD_REQUEST, "A login password has 8 to 256 characters.")
    return hash_password(
        password,
        memory_kib=host.settings.password_kdf_memory_kib,
        iterations=host.settings.password_kdf_iterations,
    )


def create_customer(host: Host, *, customer_id: str, name: str, password: str, actor: str) -> None:
    customer_id = parse_customer_id(customer_id)
    if not name.strip():
        raise ServiceError(ErrorCode.BAD_REQUEST, "The customer's name must not be empty.")
    password_hash = _hash_login_password(host, password)
    now = host.now()
    with host.db.write() as session:
        if session.get(Customer, customer_id) is not None:
            raise ServiceError(
                ErrorCode.CUSTOMER_EXISTS, f"The customer {customer_id} already exists."
            )
        session.add(
            Customer(id=customer_id, name=name.strip(), password_hash=password_hash, created_at=now)
        )
        audit.record(session, now=now, action="customer_add", actor=actor, customer_id=customer_id)


def set_password(host: Host, *, customer_id: str, password: str, actor: str) -> None:
    """Customer service sets a new login password: it unlocks the account and ends its sessions."""
    customer_id = parse_customer_id(customer_id)
    password_hash = _hash_login_password(host, password)
    now = host.now()
    with host.db.write() as session:
        require_customer(session, customer_id)
        session.exec(
            update(Customer)
            .where(col(Customer.id) == customer_id)
            .values(password_hash=password_hash)
        )
        login_throttle.clear_account(session, customer_id)
        session.exec(
            update(LoginSession)
            .where(col(LoginSession.customer_id) == customer_id)
            .where(col(LoginSession.ended_at).is_(None))
            .values(ended_at=now)
        )
        audit.record(session, now=now, action="password_set", actor=actor, customer_id=customer_id)


def login(
    host: Host,
    *,
    customer_id: str,
    password: str,
    device_kind: str,
    source: str | None = None,
) -> NewSession:
    """Open a session for the right password, or refuse with ``login_failed`` (with
    ``tries_left``) or ``account_locked`` (with ``locked_until``); ``source`` is the client's
    address (``None``: unknown), which the throttle counts by (see ``login_throttle``).

    The attempt is counted before the password is hashed, and an unknown ID goes through the
    same counters, the same hash and the same answers as a known one.
    """
    customer_id = parse_customer_id(customer_id)
    if device_kind not in DEVICE_KINDS:
        raise ServiceError(ErrorCode.BAD_REQUEST, "device_kind must be 'pc' or 'mobile'.")
    settings = host.settings
    source_key = login_throttle.source_key(source)
    now = host.now()
    with host.db.write() as session:
        customer = session.get(Customer, customer_id)
        known = customer is not None
        password_hash = customer.password_hash if customer is not None else None
        reserved = login_throttle.reserve(
            session, settings, customer_id=customer_id, source=source_key, now=now
        )
        if isinstance(reserved, login_throttle.Throttled):
            _record_throttled(session, reserved, known, customer_id, device_kind, source_key, now)
    if isinstance(reserved, login_throttle.Throttled):
        raise _locked(reserved.until)
    # The slow hash runs outside any transaction, already counted; an unknown ID costs one
    # verify against a hash made with the same parameters.
    candidate = password_hash or _dummy_hash(
        settings.password_kdf_memory_kib, settings.password_kdf_iterations
    )
    ok = verify_password(password[:MAX_PASSWORD_LENGTH], candidate)
    if password_hash is None or not ok:
        _refuse_failed(host, reserved, known, device_kind, now)
    token = new_token()
    expires_at = now + settings.session_lifetime
    with host.db.write() as session:
        login_throttle.forgive(session, settings, reserved, now)
        session.exec(
            update(Customer).where(col(Customer.id) == customer_id).values(last_login_at=now)
        )
        session.add(
            LoginSession(
                token_hash=hash_token(token),
                customer_id=customer_id,
                device_kind=device_kind,
                created_at=now,
                expires_at=expires_at,
            )
        )
        audit.record(
            session,
            now=now,
            action="login",
            customer_id=customer_id,
            device_kind=device_kind,
            detail=f"source={source_key}",
        )
    return NewSession(token, customer_id, device_kind, expires_at)


@functools.cache
def _dummy_hash(memory_kib: int, iterations: int) -> str:
    """A hash nobody's password matches, made once per KDF profile, for unknown IDs."""
    return hash_password(new_token(), memory_kib=memory_kib, iterations=iterations)


def _locked(until: datetime) -> ServiceError:
    return ServiceError(
        ErrorCode.ACCOUNT_LOCKED,
        f"Too many failed logins: try again after {format_time(until)}.",
        locked_until=format_time(until),
    )


def _record_throttled(
    session: Session,
    throttled: login_throttle.Throttled,
    known: bool,
    customer_id: str,
    device_kind: str,
    source: str,
    now: datetime,
) -> None:
    """The audit row of an attempt refused unhashed (committed with the reservation's
    transaction, which changed nothing else)."""
    audit.record(
        session,
        now=now,
        action="login",
        outcome=ErrorCode.ACCOUNT_LOCKED.value,
        customer_id=customer_id if known else None,
        device_kind=device_kind,
        detail=(
            f"source={source} throttled={throttled.scope} until={format_time(throttled.until)}"
        ),
    )


def _refuse_failed(
    host: Host,
    reserved: login_throttle.Reservation,
    known: bool,
    device_kind: str,
    now: datetime,
) -> NoReturn:
    """Record the wrong password (already counted by the reservation), then refuse with
    ``login_failed`` and how many tries are left before a delay starts."""
    detail = f"source={reserved.source} tries_left={reserved.tries_left}"
    if reserved.started:
        detail += " delay_started=" + ",".join(reserved.started)
    refusal = ServiceError(
        ErrorCode.LOGIN_FAILED,
        f"The customer ID or the password is wrong; {reserved.tries_left} tries left.",
        tries_left=reserved.tries_left,
    )
    with host.db.write() as session:
        audit.record(
            session,
            now=now,
            action="login",
            outcome=refusal.code.value,
            customer_id=reserved.customer_id if known else None,
            device_kind=device_kind,
            detail=detail,
        )
    raise refusal


class SessionRow(Protocol):
    """What the session check reads of a ``login_session`` row (a Core row has it by name)."""

    @property
    def customer_id(self) -> str: ...
    @property
    def device_kind(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...


S = TypeVar("S", bound=SessionRow)


def require_live(row: S | None, now: datetime) -> S:
    """``row`` if it is a session that has not ended or expired, else ``unauthenticated``."""
    if row is None or row.ended_at is not None or row.expires_at <= now:
        raise _session_ended()
    return row


def _session_ended() -> ServiceError:
    return ServiceError(
        ErrorCode.UNAUTHENTICATED, "The session has ended or is unknown; log in again."
    )


# Every authenticated call runs it: a Core lookup by primary key, no ORM object (loading one
# cost more Python time than the rest of the check).
_SESSION_LOOKUP = sql_select(
    col(LoginSession.customer_id),
    col(LoginSession.device_kind),
    col(LoginSession.expires_at),
    col(LoginSession.ended_at),
).where(col(LoginSession.token_hash) == bindparam("token_hash"))


def _live_session(host: Host, token: str) -> Any:
    """The live session's row (a ``SessionRow``), or ``unauthenticated``."""
    row = host.db.read_row(_SESSION_LOOKUP, {"token_hash": hash_token(token)})
    return require_live(row, host.now())


def authenticate(host: Host, token: str) -> Principal:
    """The caller behind a bearer token, or ``unauthenticated``."""
    row = _live_session(host, token)
    return Principal(row.customer_id, row.device_kind)


def logout(host: Host, token: str) -> None:
    principal = authenticate(host, token)
    now = host.now()
    with host.db.write() as session:
        session.exec(
            update(LoginSession)
            .where(col(LoginSession.token_hash) == hash_token(token))
            .values(ended_at=now)
        )
        audit.record(
            session,
            now=now,
            action="logout",
            customer_id=principal.customer_id,
            device_kind=principal.device_kind,
        )
