"""Customers and their login sessions (the trading login the original system assumed).

Rules: the ID is a valid national ID; passwords are Argon2id hashes; ``login_max_failures``
wrong passwords in a row lock the account for ``login_lockout``; a session token is 256 random
bits, stored hashed, bound to a device kind, and ends at ``expires_at`` or at logout. A live
session hands its unlock secret (security setting 2) to its own token only; logout wipes the
seed it is derived from, so the secret cannot come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col

from sync_client.errors import InvalidNationalId
from sync_client.national_id import normalize_national_id
from sync_client.protocol import format_time
from sync_server import audit
from sync_server.credentials import (
    hash_password,
    hash_token,
    new_token,
    new_unlock_seed,
    session_unlock_secret,
    verify_password,
)
from sync_server.errors import BadRequest, Conflict, Locked, NotFound, Unauthenticated
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


def parse_customer_id(raw: object) -> str:
    """A national ID from the wire or the command line, or ``invalid_national_id``."""
    if not isinstance(raw, str):
        raise BadRequest("invalid_national_id", "The customer ID must be a string.")
    try:
        return normalize_national_id(raw)
    except InvalidNationalId as exc:
        raise BadRequest("invalid_national_id", exc.message) from None


def _hash_login_password(host: Host, password: str) -> str:
    if not 8 <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadRequest("bad_request", "A login password has 8 to 256 characters.")
    return hash_password(
        password,
        memory_kib=host.settings.password_kdf_memory_kib,
        iterations=host.settings.password_kdf_iterations,
    )


def create_customer(host: Host, *, customer_id: str, name: str, password: str, actor: str) -> None:
    customer_id = parse_customer_id(customer_id)
    if not name.strip():
        raise BadRequest("bad_request", "The customer's name must not be empty.")
    password_hash = _hash_login_password(host, password)
    now = host.now()
    with host.db.write() as session:
        if session.get(Customer, customer_id) is not None:
            raise Conflict("customer_exists", f"The customer {customer_id} already exists.")
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
        if session.get(Customer, customer_id) is None:
            raise NotFound("customer_not_found", f"There is no customer {customer_id}.")
        session.exec(
            update(Customer)
            .where(col(Customer.id) == customer_id)
            .values(password_hash=password_hash, failed_logins=0, locked_until=None)
        )
        session.exec(
            update(LoginSession)
            .where(col(LoginSession.customer_id) == customer_id)
            .where(col(LoginSession.ended_at).is_(None))
            .values(ended_at=now, unlock_seed=None)
        )
        audit.record(session, now=now, action="password_set", actor=actor, customer_id=customer_id)


def login(host: Host, *, customer_id: str, password: str, device_kind: str) -> NewSession:
    customer_id = parse_customer_id(customer_id)
    if device_kind not in DEVICE_KINDS:
        raise BadRequest("bad_request", "device_kind must be 'pc' or 'mobile'.")
    now = host.now()
    with host.db.read() as session:
        customer = session.get(Customer, customer_id)
    if customer is not None and customer.locked_until is not None and customer.locked_until > now:
        _refuse_locked(host, customer_id, device_kind, customer.locked_until, now)
    # The slow hash runs outside any transaction; an unknown ID costs the same time.
    ok = verify_password(
        password[:MAX_PASSWORD_LENGTH], customer.password_hash if customer else _DUMMY
    )
    if customer is None or not ok:
        _record_failure(host, customer_id if customer else None, device_kind, now)
        raise Unauthenticated("login_failed", "The customer ID or the password is wrong.")
    token = new_token()
    expires_at = now + host.settings.session_lifetime
    with host.db.write() as session:
        session.exec(
            update(Customer)
            .where(col(Customer.id) == customer_id)
            .values(failed_logins=0, locked_until=None, last_login_at=now)
        )
        session.add(
            LoginSession(
                token_hash=hash_token(token),
                customer_id=customer_id,
                device_kind=device_kind,
                created_at=now,
                expires_at=expires_at,
                unlock_seed=new_unlock_seed(),
            )
        )
        audit.record(
            session, now=now, action="login", customer_id=customer_id, device_kind=device_kind
        )
    return NewSession(token, customer_id, device_kind, expires_at)


_DUMMY = hash_password("certsync-timing-equalizer", memory_kib=19456, iterations=2)


def _refuse_locked(
    host: Host, customer_id: str, device_kind: str, locked_until: datetime, now: datetime
) -> None:
    with host.db.write() as session:
        audit.record(
            session,
            now=now,
            action="login",
            outcome="account_locked",
            customer_id=customer_id,
            device_kind=device_kind,
        )
    raise Locked(
        "account_locked",
        f"Too many failed logins: the account is locked until {format_time(locked_until)}.",
        locked_until=format_time(locked_until),
    )


def _record_failure(host: Host, customer_id: str | None, device_kind: str, now: datetime) -> None:
    with host.db.write() as session:
        if customer_id is not None:
            # One atomic statement, so racing wrong passwords on two instances all count.
            session.exec(
                update(Customer)
                .where(col(Customer.id) == customer_id)
                .values(failed_logins=Customer.failed_logins + 1)
            )
            session.exec(
                update(Customer)
                .where(col(Customer.id) == customer_id)
                .where(col(Customer.failed_logins) >= host.settings.login_max_failures)
                .values(failed_logins=0, locked_until=now + host.settings.login_lockout)
            )
        audit.record(
            session,
            now=now,
            action="login",
            outcome="login_failed",
            customer_id=customer_id,
            device_kind=device_kind,
        )


def require_live(row: LoginSession | None, now: datetime) -> LoginSession:
    """``row`` if it is a session that has not ended or expired, else ``unauthenticated``."""
    if row is None or row.ended_at is not None or row.expires_at <= now:
        raise Unauthenticated(
            "unauthenticated", "The session has ended or is unknown; log in again."
        )
    return row


def _live_session(host: Host, token: str) -> LoginSession:
    with host.db.read() as session:
        row = session.get(LoginSession, hash_token(token))
    return require_live(row, host.now())


def authenticate(host: Host, token: str) -> Principal:
    """The caller behind a bearer token, or ``unauthenticated``."""
    row = _live_session(host, token)
    return Principal(row.customer_id, row.device_kind)


def unlock_secret(host: Host, token: str) -> bytes:
    """The live session's 32-byte unlock secret, or ``unauthenticated``.

    Read-only and not audited: a client asks for it on every order under setting 2, and it
    changes nothing. It is never logged; only the caller holding the token gets it.
    """
    row = _live_session(host, token)
    if row.unlock_seed is None:
        # Logout wipes the seed as it ends the session, so a live session always has one;
        # refusing here keeps a row changed by hand from yielding a secret.
        raise Unauthenticated(
            "unauthenticated", "The session has ended or is unknown; log in again."
        )
    return session_unlock_secret(row.unlock_seed, token)


def logout(host: Host, token: str) -> None:
    principal = authenticate(host, token)
    now = host.now()
    with host.db.write() as session:
        session.exec(
            update(LoginSession)
            .where(col(LoginSession.token_hash) == hash_token(token))
            .values(ended_at=now, unlock_seed=None)
        )
        audit.record(
            session,
            now=now,
            action="logout",
            customer_id=principal.customer_id,
            device_kind=principal.device_kind,
        )
