"""Database tables. Every time is an aware UTC datetime (SQLModel stores and returns UTC).

One-time things (enrollment codes, renewal challenges, re-download grants, relay slots) carry
a ``used_at``/``state`` column that is flipped by one conditional ``UPDATE … WHERE used_at IS
NULL``: the database, not the Python process, decides who wins, so several server instances on
one PostgreSQL database still use each of them at most once.

The tables here are what the code uses; the database gets them only through the migrations in
``sync_server/migrations`` (``sync-server db upgrade``). A change here needs a new revision
there, and a test compares the two on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint, event, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, aware, in UTC, to the microsecond."""
    return datetime.now(UTC)


class Customer(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=10)  # the national ID number
    name: str = Field(max_length=200)
    password_hash: str = Field(repr=False)
    # Revision 0001's hard lock, no longer read or written: since revision 0003 failures are
    # counted in ``login_throttle`` (the migration carried a running lock over). Kept so that
    # older databases, their rows and their backups keep their shape.
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime
    last_login_at: datetime | None = None  # revision 0002; filled from login_session then


class LoginThrottle(SQLModel, table=True):
    """Failed-login counters (revision 0003), one row per scope that ``login_throttle`` keeps:

    - ``(customer_id, source)``: one account tried from one source (a client address, IPv6 by
      its /64) — the delay a stranger earns for himself;
    - ``("", source)``: one source against any account, known or not;
    - ``(customer_id, "")``: one account from everywhere, the much higher global ceiling.

    ``customer_id`` is the ID as typed (normalized), whether or not a customer has it, so that
    an unknown ID is counted exactly like a known one; hence no foreign key.
    """

    __tablename__ = "login_throttle"

    customer_id: str = Field(primary_key=True, max_length=10)
    source: str = Field(primary_key=True, max_length=64)
    failures: int = 0  # in the window that began at ``window_started_at``
    window_started_at: datetime | None = None
    blocked_until: datetime | None = Field(default=None, index=True)


class LoginSession(SQLModel, table=True):
    __tablename__ = "login_session"

    token_hash: str = Field(primary_key=True, max_length=64, repr=False)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    device_kind: str = Field(max_length=10)
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    # Retired: the seed of the session's "unlock secret" (``GET /sessions/current/unlock-secret``,
    # removed; docs/PROTOCOL.md says why). Nothing writes or reads it any more: new sessions
    # leave it NULL, and a seed left by an older server opens nothing without that route. The
    # column stays only so that no migration is needed; a later schema revision may drop it.
    unlock_seed: bytes | None = Field(default=None, sa_column=Column(LargeBinary), repr=False)


class EnrollmentCode(SQLModel, table=True):
    __tablename__ = "enrollment_code"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    code_hash: str = Field(max_length=64, repr=False)
    created_at: datetime
    expires_at: datetime
    failed_attempts: int = 0
    used_at: datetime | None = None
    superseded_at: datetime | None = None  # a new slip replaces the old one
    issued_by: str = Field(max_length=100)


def serial_tail(serial: int) -> str:
    """The short form customers read out: the last 6 hex digits of ``101919 (0x018E1F)``."""
    return f"{serial & 0xFFFFFF:06X}"


# Only the revoked rows, with what the CRL needs, so building it reads the revoked entries and
# never the whole table (the same partial index on SQLite and PostgreSQL).
_REVOKED = "revoked_at IS NOT NULL"


class Certificate(SQLModel, table=True):
    __table_args__ = (
        Index(
            "ix_certificate_revoked",
            "revoked_at",
            "serial",
            "revocation_reason",
            sqlite_where=text(_REVOKED),
            postgresql_where=text(_REVOKED),
        ),
    )

    serial: str = Field(primary_key=True, max_length=50)  # decimal; serials exceed 64 bits
    # Derived from ``serial`` on insert (see ``_fill_serial_tail``): customer service looks a
    # certificate up by what the customer reads out, and a decimal text column cannot be
    # searched by its hex ending.
    serial_tail: str = Field(
        default="", max_length=6, index=True, sa_column_kwargs={"server_default": ""}
    )
    customer_id: str = Field(foreign_key="customer.id", index=True)
    fingerprint_sha256: str = Field(max_length=64, unique=True)
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    issued_via: str = Field(max_length=10)  # "apply" or "renew"
    cert_pem: str = Field(sa_column=Column(Text, nullable=False))
    superseded_at: datetime | None = None
    superseded_by: str | None = Field(default=None, max_length=50)
    revoked_at: datetime | None = None
    revocation_reason: str | None = Field(default=None, max_length=40)


@event.listens_for(Certificate, "before_insert")
def _fill_serial_tail(_mapper: Any, _connection: Any, target: Certificate) -> None:
    target.serial_tail = serial_tail(int(target.serial))


class RenewalChallenge(SQLModel, table=True):
    __tablename__ = "renewal_challenge"

    id: str = Field(primary_key=True, max_length=43)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    certificate_serial: str = Field(max_length=50)  # the certificate being renewed
    nonce_b64: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    csr_sha256: str | None = Field(default=None, max_length=64)
    issued_serial: str | None = Field(default=None, max_length=50)


class RedownloadGrant(SQLModel, table=True):
    __tablename__ = "redownload_grant"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    opened_by: str = Field(max_length=100)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    superseded_at: datetime | None = None


class RelaySlot(SQLModel, table=True):
    __tablename__ = "relay_slot"

    id: str = Field(primary_key=True, max_length=22)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    certificate_serial: str = Field(max_length=50)
    state: str = Field(default="open", max_length=10, index=True)
    created_at: datetime
    expires_at: datetime = Field(index=True)
    uploaded_at: datetime | None = None
    ended_at: datetime | None = None  # claimed, cancelled or found expired
    # Ciphertext only: the key never reaches the server. Wiped when the slot ends.
    ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary), repr=False)


class Order(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("customer_id", "client_order_id"),)

    id: str = Field(primary_key=True, max_length=32)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    client_order_id: str = Field(max_length=32)
    symbol: str = Field(max_length=12)
    side: str = Field(max_length=4)
    quantity: int
    price: str = Field(max_length=20)
    signed_at: datetime
    accepted_at: datetime
    certificate_serial: str = Field(max_length=50)
    device_kind: str = Field(max_length=10)
    signature_b64: str = Field(sa_column=Column(Text, nullable=False))


class AuditEvent(SQLModel, table=True):
    """Append-only: the code only ever inserts. Never holds a secret."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(max_length=100)  # "customer", "staff:<name>", "system"
    customer_id: str | None = Field(default=None, max_length=10, index=True)
    device_kind: str | None = Field(default=None, max_length=10)
    action: str = Field(max_length=40)
    outcome: str = Field(max_length=40)  # "ok" or the error code
    detail: str = Field(default="", max_length=500)


class CaRecord(SQLModel, table=True):
    """The CA this database belongs to: an instance started with another CA refuses to run."""

    __tablename__ = "ca_record"

    id: int = Field(default=1, primary_key=True)
    fingerprint_sha256: str = Field(max_length=64)
    subject: str = Field(max_length=500)
    registered_at: datetime


class CrlState(SQLModel, table=True):
    """One row: how many revocations there have been, and the last CRL number signed.

    A revocation adds one to ``revocations`` in its own transaction, so every instance (and the
    ``admin`` process that revoked) can tell in one primary-key read that its cached CRL is
    stale. ``crl_number`` grows by one for every CRL any instance signs (RFC 5280 wants it to
    increase); the migration seeded it above the time-based numbers earlier releases used.
    """

    __tablename__ = "crl_state"

    id: int = Field(default=1, primary_key=True)
    revocations: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    crl_number: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
