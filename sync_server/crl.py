"""The CRL: built from the revoked rows alone, signed once, served from memory until stale.

A signed CRL is good until its ``nextUpdate``, so 0.1's way (scan the certificate table and sign
on every ``GET /api/v1/crl``) spent a table scan and a signature per request, for a public URL
anyone can call. Now each instance keeps the CRL it signed and re-signs only when

- a revocation happened anywhere: ``crl_state.revocations`` (one primary-key read per request,
  a Core ``Database.read_row``)
  differs from the count the cached CRL reflects. Revocations come from ``admin`` processes and
  from other instances, so no in-process signal could tell; the database row does; or
- ``nextUpdate`` nears: less than a quarter of the CRL's lifetime is left.

Building reads only the partial index ``ix_certificate_revoked`` (the revoked rows), so its cost
follows the number of revocations, not of certificates. Each signature takes the next
``crl_state.crl_number`` in a write transaction, so CRL numbers increase across instances.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import update
from sqlmodel import Session, col, select

from sync_server.ca import RevokedEntry
from sync_server.host import Host
from sync_server.models import Certificate, CrlState

REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
}


@dataclass(frozen=True)
class SignedCrl:
    der: bytes
    number: int
    revocations: int  # the ``crl_state.revocations`` it lists
    this_update: datetime
    next_update: datetime

    def __repr__(self) -> str:
        return f"SignedCrl(number={self.number}, revocations={self.revocations})"


def refresh_margin(lifetime: timedelta) -> timedelta:
    """How long before ``nextUpdate`` a CRL is re-signed: a quarter of its lifetime."""
    return lifetime / 4


def is_fresh(
    crl: SignedCrl | None, *, revocations: int, now: datetime, lifetime: timedelta
) -> bool:
    """May ``crl`` still be served at ``now``, with ``revocations`` revocations so far? (pure)"""
    return (
        crl is not None
        and crl.revocations == revocations
        and crl.this_update <= now < crl.next_update - refresh_margin(lifetime)
    )


def note_revocation(session: Session) -> None:
    """Count a revocation in the caller's transaction: every cached CRL is stale from its commit."""
    session.exec(update(CrlState).where(col(CrlState.id) == 1).values(
        revocations=CrlState.revocations + 1
    ))  # fmt: skip


def revocation_count(session: Session) -> int:
    state = session.get(CrlState, 1)
    return state.revocations if state is not None else 0


_REVOCATIONS = select(col(CrlState.revocations)).where(col(CrlState.id) == 1)


# What the partial index ``ix_certificate_revoked`` holds, so it alone answers (a test reads
# the query plan).
REVOKED_ENTRIES = select(
    Certificate.serial, Certificate.revoked_at, Certificate.revocation_reason
).where(col(Certificate.revoked_at).is_not(None))


def revoked_entries(session: Session) -> list[RevokedEntry]:
    """Every revoked certificate, read through the partial index alone."""
    rows = session.exec(REVOKED_ENTRIES).all()
    return [
        RevokedEntry(int(serial), revoked_at, REASONS[reason or "unspecified"])
        for serial, revoked_at, reason in rows
        if revoked_at is not None
    ]


def sign_crl(host: Host, *, now: datetime) -> SignedCrl:
    """Read the revoked entries and take the next CRL number in one transaction, then sign."""
    with host.db.write() as session:
        state = session.get(CrlState, 1)
        if state is None:  # a database whose row was removed by hand: start it again
            state = CrlState(id=1, revocations=0, crl_number=int(now.timestamp()))
            session.add(state)
            session.flush()
        session.exec(update(CrlState).where(col(CrlState.id) == 1).values(
            crl_number=CrlState.crl_number + 1
        ))  # fmt: skip
        session.refresh(state)
        number, revocations = state.crl_number, state.revocations
        entries = revoked_entries(session)
    lifetime = host.settings.crl_lifetime
    crl = host.ca.build_crl(entries, now=now, next_update=lifetime, number=number)
    return SignedCrl(
        der=crl.public_bytes(serialization.Encoding.DER),
        number=number,
        revocations=revocations,
        this_update=now,
        next_update=now + lifetime,
    )


class CrlCache:
    """One instance's signed CRL. ``current`` costs one primary-key read while it is fresh."""

    def __init__(self, *, on_sign: Callable[[], None] | None = None) -> None:
        self._crl: SignedCrl | None = None
        self._lock = threading.Lock()  # one signature at a time; waiters take its result
        self._on_sign = on_sign

    def current(self, host: Host) -> SignedCrl:
        now = host.now()
        lifetime = host.settings.crl_lifetime
        row = host.db.read_row(_REVOCATIONS, {})  # the one read of a served CRL: Core, no ORM
        revocations = int(row[0]) if row is not None else 0
        crl = self._crl
        if is_fresh(crl, revocations=revocations, now=now, lifetime=lifetime):
            assert crl is not None
            return crl
        with self._lock:
            crl = self._crl
            if not is_fresh(crl, revocations=revocations, now=now, lifetime=lifetime):
                crl = self._crl = sign_crl(host, now=now)
                if self._on_sign is not None:
                    self._on_sign()
        assert crl is not None
        return crl
